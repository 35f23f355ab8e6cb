package campaign

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
)

// Environment variables of a sharded run, as a Kubernetes Indexed Job
// gives them to its pods (deploy/kubernetes): the command reads them when
// the flags are not given.
const (
	// EnvShardIndex is the shard's index: Kubernetes sets it in every pod
	// of an Indexed Job (completionMode: Indexed).
	EnvShardIndex = "JOB_COMPLETION_INDEX"
	// EnvShards is the shard count (the Job's completions), which
	// Kubernetes does not pass on by itself.
	EnvShards = "NEEDLESTORM_SHARDS"
	// EnvStartAt is the common start time, RFC 3339 (--start-at).
	EnvStartAt = "NEEDLESTORM_START_AT"
	// EnvBarrier is the barrier folder on a volume every shard shares
	// (--barrier).
	EnvBarrier = "NEEDLESTORM_BARRIER"
	// EnvRunID is what every shard of one run shares and no other run
	// does (--run-id): in Kubernetes, the Job's uid.
	EnvRunID = "NEEDLESTORM_RUN_ID"
)

// DefaultBarrierTimeout bounds the wait at a barrier for the other shards.
const DefaultBarrierTimeout = 10 * time.Minute

// Shard makes Execute send one shard's share of the campaign's load
// (ExecOptions.Shard): every shard builds the same cases and schedule and
// sends request k of every stage when k mod Count == Index (loadgen.Shard),
// into a run directory of its own that `needlestorm merge` (run.Merge)
// merges with the others'. The envelope search cannot be sharded.
type Shard struct {
	Index, Count int
	// StartAt is the time every shard begins its first stage. When zero
	// and Barrier is set, the shards agree on one through the barrier;
	// when both are empty each shard begins when it is ready.
	StartAt time.Time
	// Barrier is a folder on a volume every shard shares (run.Barrier);
	// BarrierTimeout bounds the wait there (0: DefaultBarrierTimeout) and
	// BarrierMargin is how long after the last shard is ready they begin
	// (0: run.DefaultBarrierMargin).
	Barrier        string
	BarrierTimeout time.Duration
	BarrierMargin  time.Duration
	// RunID is shared by every shard of one run and by no other run (a
	// Kubernetes Job's uid). Without a nonce salt given, the shards derive
	// theirs from the campaign and RunID, so that they send the prompts
	// one process would, and a rerun (another RunID) sends others that no
	// prefix cache has seen. It is part of the campaign hash.
	RunID string
}

// CheckShard refuses a shard that does not exist, a campaign that cannot
// be sharded (an envelope search), and a start time given together with a
// barrier. Execute checks it first; a command checks it to report a usage
// error. A nil s is no shard, and passes.
func (c *Campaign) CheckShard(s *Shard) error {
	switch {
	case s == nil:
		return nil
	case s.Count < 1 || s.Index < 0 || s.Index >= s.Count:
		return fmt.Errorf("shard %d of %d does not exist: give an index from 0 to %d", s.Index, s.Count, max(s.Count-1, 0))
	case c.Search() != nil:
		return errors.New("a sharded run cannot run the envelope search: each search step's rate is chosen from the whole previous step's results, which no shard has alone. Run the search on one machine (without --shard), or give explicit load.stages (such as the rates the search found) and shard those")
	case !s.StartAt.IsZero() && s.Barrier != "":
		return errors.New("give the shards a start time or a barrier to agree on one, not both")
	}
	return nil
}

// shardRun is the state of this process's shard during Execute; nil when
// the run is not sharded.
type shardRun struct {
	spec  Shard
	hash  string
	salt  uint64
	watch *startWatch
}

// newShardRun computes the campaign hash and nonce salt of a sharded run,
// from the campaign as every shard reads it (before simulators start and
// preflight learns anything). given is the nonce salt given, if any.
func (c *Campaign) newShardRun(s *Shard, given *uint64) *shardRun {
	if s == nil {
		return nil
	}
	id := c.identity(s)
	if given != nil {
		id.NonceSalt = *given
	} else {
		id.NonceSalt = deriveSalt(hashJSON(id), s.RunID)
	}
	return &shardRun{spec: *s, hash: hashJSON(id), salt: id.NonceSalt, watch: &startWatch{}}
}

// campaignIdentity is what the campaign hash covers: what every shard must
// have been asked alike for their records to be one run.
type campaignIdentity struct {
	Schema      string             `json:"schema"`
	Targets     []TargetSpec       `json:"targets"`
	Corpus      manifestCorpus     `json:"corpus"`
	LengthBasis string             `json:"length_basis"`
	Schedule    loadgen.Schedule   `json:"schedule"`
	Objectives  reports.Objectives `json:"objectives"`
	Seed        int64              `json:"seed"`
	Shards      int                `json:"shards"`
	RunID       string             `json:"run_id"`
	NonceSalt   uint64             `json:"nonce_salt"`
}

func (c *Campaign) identity(s *Shard) campaignIdentity {
	return campaignIdentity{
		Schema:      "needlestorm.campaign-identity/v1",
		Targets:     c.Targets(), // configurations name the key's variable, never the key
		Corpus:      manifestCorpus{Matrix: c.Matrix(), Repeats: c.Corpus.Repeats},
		LengthBasis: c.LengthBasis(),
		Schedule:    c.Schedule().WithSeeds(c.Seed()),
		Objectives:  c.Objectives(),
		Seed:        c.Seed(),
		Shards:      s.Count,
		RunID:       s.RunID,
	}
}

// hashJSON is the hex SHA-256 of v's JSON encoding.
func hashJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte("could not encode: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// deriveSalt draws the nonce salt of a sharded run from the campaign's
// hash (without a salt) and the run id: the same in every shard, another
// for every run id.
func deriveSalt(hash, runID string) uint64 {
	sum := sha256.Sum256([]byte("needlestorm/nonce-salt\x00" + hash + "\x00" + runID))
	return binary.LittleEndian.Uint64(sum[:8])
}

// meet waits at the barrier for the other shards, when one is set, and so
// learns the common start time.
func (r *shardRun) meet(ctx context.Context, log func(format string, args ...any)) error {
	if r == nil || r.spec.Barrier == "" || !r.spec.StartAt.IsZero() {
		return nil
	}
	timeout := r.spec.BarrierTimeout
	if timeout <= 0 {
		timeout = DefaultBarrierTimeout
	}
	margin := r.spec.BarrierMargin
	if margin <= 0 {
		margin = run.DefaultBarrierMargin
	}
	log("%s: waiting at the barrier in %s for the other shards (at most %s)", r.id(), r.spec.Barrier, timeout)
	bctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("no common start after %s", timeout))
	defer cancel()
	at, err := run.Barrier(bctx, r.spec.Barrier, r.hash, run.Shard{Index: r.spec.Index, Count: r.spec.Count}, margin)
	if err != nil {
		return fmt.Errorf("%s: %w", r.id(), err)
	}
	r.spec.StartAt = at
	return nil
}

func (r *shardRun) id() string { return run.Shard{Index: r.spec.Index, Count: r.spec.Count}.String() }

// runOptions describe the shard in the run's manifest, with its salt.
func (r *shardRun) runOptions() []run.Option {
	if r == nil {
		return nil
	}
	s := run.Shard{Index: r.spec.Index, Count: r.spec.Count, StartAt: r.spec.StartAt}
	return []run.Option{run.AsShard(s, r.hash), run.NonceSalt(r.salt)}
}

// loadOptions make the dispatches send this shard's share, from the common
// start time.
func (r *shardRun) loadOptions(log func(format string, args ...any)) []loadgen.Option {
	if r == nil {
		return nil
	}
	opts := []loadgen.Option{loadgen.Shard(r.spec.Index, r.spec.Count)}
	log("%s: sends request k of every stage when k mod %d = %d (campaign hash %s, nonce salt %d)", r.id(), r.spec.Count, r.spec.Index, r.hash[:12], r.salt)
	if at := r.spec.StartAt; !at.IsZero() {
		r.watch.log = func(late time.Duration) {
			if late > run.LateStart {
				log("%s: began %s after the common start time %s (the merged run's report will say so)", r.id(), late.Round(time.Millisecond), at.Format(time.RFC3339Nano))
			}
		}
		if wait := time.Until(at); wait > 0 {
			log("%s: beginning at %s (in %s)", r.id(), at.Format(time.RFC3339Nano), wait.Round(time.Millisecond))
		}
		opts = append(opts, loadgen.StartAt(at), loadgen.Observe(r.watch))
	}
	return opts
}

// record writes how late the shard began into the manifest.
func (r *shardRun) record(m *run.Manifest) {
	if r == nil || m.Shard == nil {
		return
	}
	if late, ok := r.watch.lateness(); ok {
		m.Shard.Began(late)
	}
}

// startWatch notes when the first dispatch began (a loadgen.StartObserver).
type startWatch struct {
	mu    sync.Mutex
	began bool
	late  time.Duration
	log   func(late time.Duration)
}

func (*startWatch) StageStarted(int, loadgen.Stage) {}
func (*startWatch) Sent(*run.Record)                {}
func (*startWatch) Completed(*run.Record)           {}

// Began notes the first dispatch's start; later dispatches (the campaign's
// other targets) begin after the start time by design.
func (w *startWatch) Began(_ time.Time, late time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.began {
		return
	}
	w.began, w.late = true, late
	if w.log != nil {
		w.log(late)
	}
}

func (w *startWatch) lateness() (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.late, w.began
}

// logf writes one line to the execution's log.
func (e *execution) logf(format string, args ...any) {
	fmt.Fprintf(e.o.Log, format+"\n", args...)
}
