package loadgen

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/internal/testkit"
	"github.com/needlestorm/needlestorm/run"
)

// shardTarget answers at once (after a short fixed latency), with the
// case's first expected value.
type shardTarget struct{ latency time.Duration }

func (shardTarget) Name() string { return "shard-test" }

func (s shardTarget) Send(_ context.Context, c *corpus.Case, rec *run.Record) {
	rec.SentAt = time.Now()
	time.Sleep(s.latency)
	rec.Status, rec.E2E, rec.Answer = 200, run.Seconds(time.Since(rec.SentAt)), c.Expected[0]
}

// shardSink keeps records in memory.
type shardSink struct {
	mu   sync.Mutex
	recs []run.Record
}

func (s *shardSink) Write(r *run.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, *r)
	return nil
}

func shardCases(n int) []corpus.Case {
	cs := make([]corpus.Case, n)
	for i := range cs {
		cs[i] = corpus.Case{ID: fmt.Sprintf("case-%d", i), Task: "single", Length: 1000, PromptTokens: 1000, Expected: []string{fmt.Sprint(100 + i)}}
	}
	return cs
}

// startWatch is a StartObserver.
type startWatch struct {
	mu    sync.Mutex
	began time.Time
	late  time.Duration
	calls int
}

func (*startWatch) StageStarted(int, Stage) {}
func (*startWatch) Sent(*run.Record)        {}
func (*startWatch) Completed(*run.Record)   {}
func (w *startWatch) Began(at time.Time, late time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.began, w.late, w.calls = at, late, w.calls+1
}

// runShard runs sched through one dispatcher with opts, numbering from
// seq 10 (as a session's second dispatch would), and returns its records
// sorted by seq and the sequence number it ended at.
func runShard(t *testing.T, sched Schedule, opts ...Option) ([]run.Record, int64) {
	t.Helper()
	sink := &shardSink{}
	d, err := NewDispatcher(shardTarget{latency: time.Millisecond}, shardCases(5), sink, append([]Option{NonceSalt(7), Seed(3)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	d.seq.Store(10)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Run(ctx, sched); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(sink.recs, func(a, b run.Record) int { return int(a.Seq - b.Seq) })
	return sink.recs, d.seq.Load()
}

// TestShardUnionIsSingleSchedule runs a schedule in one dispatcher and in
// three shards: the shards' records together are the single dispatcher's
// requests, each with the same sequence number, case, repeat and stage,
// every sequence number once; each shard ends at the same sequence number
// as the single dispatcher, so that a session's next dispatch numbers on
// alike; open-loop requests are scheduled at the same offsets from the
// common start time as the single dispatcher's from its own start.
func TestShardUnionIsSingleSchedule(t *testing.T) {
	sched := Schedule{
		{Kind: StageConstant, Rate: 2000, Requests: 37},
		{Kind: StagePoisson, Rate: 2000, Requests: 23},
		{Kind: StageConcurrency, Concurrency: 4, Requests: 17},
	}
	single, singleEnd := runShard(t, sched)
	if len(single) != 37+23+17 {
		t.Fatalf("single dispatcher: %d records, want %d", len(single), 37+23+17)
	}

	const n = 3
	var union []run.Record
	starts := make([]time.Time, n)
	watches := make([]*startWatch, n)
	var wg sync.WaitGroup
	recs := make([][]run.Record, n)
	ends := make([]int64, n)
	at := time.Now().Add(300 * time.Millisecond)
	for i := range n {
		starts[i], watches[i] = at, &startWatch{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs[i], ends[i] = runShard(t, sched, Shard(i, n), StartAt(at), Observe(watches[i]))
		}()
	}
	wg.Wait()
	for i := range n {
		if ends[i] != singleEnd {
			t.Errorf("shard %d ended at seq %d, the single dispatcher at %d", i, ends[i], singleEnd)
		}
		if watches[i].calls != 1 {
			t.Errorf("shard %d: Began called %d times, want once", i, watches[i].calls)
		}
		for _, r := range recs[i] {
			// The stages' first numbers: 11, then 11+37.
			if first := []int64{11, 48}; r.Stage < 2 && int(r.Seq-first[r.Stage])%n != i {
				t.Errorf("shard %d sent seq %d, another shard's", i, r.Seq)
			}
		}
		union = append(union, recs[i]...)
	}
	slices.SortFunc(union, func(a, b run.Record) int { return int(a.Seq - b.Seq) })
	if len(union) != len(single) {
		t.Fatalf("shards sent %d requests in all, the single dispatcher %d", len(union), len(single))
	}
	key := func(r run.Record) string { return fmt.Sprintf("stage %d %s repeat %d", r.Stage, r.CaseID, r.Repeat) }
	var closedSingle, closedUnion []string
	for k := range single {
		s, u := single[k], union[k]
		if s.Seq != u.Seq {
			t.Fatalf("record %d: seq %d in the shards, %d in the single dispatcher", k, u.Seq, s.Seq)
		}
		if s.Stage == 2 {
			// Closed loop: one process numbers in the order its workers
			// happen to send, so only the set of requests is the same.
			closedSingle, closedUnion = append(closedSingle, key(s)), append(closedUnion, key(u))
			continue
		}
		if key(s) != key(u) {
			t.Errorf("seq %d: %s in the shards, %s in the single dispatcher", s.Seq, key(u), key(s))
		}
	}
	slices.Sort(closedSingle)
	slices.Sort(closedUnion)
	if !slices.Equal(closedSingle, closedUnion) {
		t.Errorf("closed-loop stage: shards sent %v, the single dispatcher %v", closedUnion, closedSingle)
	}

	// Offsets in the first stage: exact when every shard was on time.
	origin := single[0].ScheduledAt
	for k := range 37 {
		s, u := single[k], union[k]
		if shardLate(watches) {
			t.Logf("a shard reached the start time late (machine busy): offsets not compared")
			break
		}
		if so, uo := s.ScheduledAt.Sub(origin), u.ScheduledAt.Sub(at); so != uo {
			t.Errorf("seq %d: scheduled %s after the start in the shards, %s in the single dispatcher", s.Seq, uo, so)
		}
	}
}

func shardLate(ws []*startWatch) bool {
	for _, w := range ws {
		if w.late > 0 {
			return true
		}
	}
	return false
}

// TestShardClosedLoopSplitsConcurrency: a closed-loop stage of concurrency
// 5 over 2 shards keeps at most 3 and 2 requests in flight, and the
// duration-bounded stage moves each shard's sequence numbers on by a
// multiple of the shard count, so that its numbers stay apart from the
// other shard's.
func TestShardClosedLoopSplitsConcurrency(t *testing.T) {
	sched := Schedule{{Kind: StageConcurrency, Concurrency: 5, Duration: run.Seconds(150 * time.Millisecond)}}
	for i, want := range []int{3, 2} {
		tgt := testkit.NewFakeTarget(10 * time.Millisecond)
		sink := &shardSink{}
		d, err := NewDispatcher(tgt, shardCases(4), sink, Shard(i, 2), NonceSalt(1))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Run(context.Background(), sched); err != nil {
			t.Fatal(err)
		}
		if got := int(tgt.MaxInFlight()); got != want {
			t.Errorf("shard %d of 2: %d requests in flight at most, want %d", i, got, want)
		}
		if len(sink.recs) == 0 {
			t.Fatalf("shard %d sent nothing", i)
		}
		for _, r := range sink.recs {
			if int(r.Seq-1)%2 != i {
				t.Errorf("shard %d numbered a request %d, in the other shard's class", i, r.Seq)
			}
			if want := fmt.Sprintf("case-%d", int(r.Seq-1)%4); r.CaseID != want {
				t.Errorf("seq %d: case %s, want %s (the stage-wide index's)", r.Seq, r.CaseID, want)
			}
		}
		if end := d.seq.Load(); end != 2*int64(len(sink.recs)) {
			t.Errorf("shard %d ended at seq %d after %d requests, want %d", i, end, len(sink.recs), 2*len(sink.recs))
		}
	}
}

// TestShardStartLate: a dispatcher that reaches its first stage after the
// start time starts from its own time, at once, and says how late it was.
func TestShardStartLate(t *testing.T) {
	at := time.Now().Add(-time.Second)
	w := &startWatch{}
	before := time.Now()
	recs, _ := runShard(t, Schedule{{Kind: StageConstant, Rate: 100, Requests: 5}}, StartAt(at), Observe(w))
	if w.calls != 1 || w.late < time.Second {
		t.Fatalf("Began: %d calls, late %s; want one call, at least 1s late", w.calls, w.late)
	}
	if first := recs[0].ScheduledAt; first.Before(before) {
		t.Errorf("first request scheduled at %s, before the dispatcher started (%s): a late start must not send what it missed", first, before)
	}
	// Requests keep their spacing rather than bursting.
	if gap := recs[4].ScheduledAt.Sub(recs[0].ScheduledAt); gap < 39*time.Millisecond {
		t.Errorf("5 requests at 100/s spanned %s, want 40ms", gap)
	}
}

// TestShardStartOnTime: the first stage's clock starts at the start time.
func TestShardStartOnTime(t *testing.T) {
	at := time.Now().Add(150 * time.Millisecond)
	w := &startWatch{}
	recs, _ := runShard(t, Schedule{{Kind: StageConstant, Rate: 100, Requests: 3}}, StartAt(at), Observe(w))
	if w.late > 0 {
		t.Skipf("the dispatcher reached the start time %s late (machine busy)", w.late)
	}
	if !recs[0].ScheduledAt.Equal(at) {
		t.Errorf("first request scheduled at %s, want the start time %s", recs[0].ScheduledAt, at)
	}
}

func TestShardRefused(t *testing.T) {
	for _, tc := range []struct {
		i, n int
		want string
	}{{3, 3, "does not exist"}, {-1, 2, "does not exist"}, {0, 0, ""}, {0, 1, ""}} {
		_, err := NewDispatcher(shardTarget{}, shardCases(1), &shardSink{}, Shard(tc.i, tc.n))
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Shard(%d, %d): error %v, want %q", tc.i, tc.n, err, tc.want)
		}
	}
	spec := SearchSpec{StartRate: 1, MaxRate: 4, StepRequests: 2}
	judge := func(SearchStep, []run.Record) StepVerdict { return StepVerdict{} }
	if _, err := NewSearcher(shardTarget{}, spec, judge, &shardSink{}, Shard(1, 2)); err == nil || !strings.Contains(err.Error(), "cannot be sharded") {
		t.Errorf("a sharded search: error %v, want a refusal", err)
	}
}

func TestShardShare(t *testing.T) {
	for _, tc := range []struct{ i, n, of, want int }{
		{0, 3, 10, 4}, {1, 3, 10, 3}, {2, 3, 10, 3}, {2, 3, 2, 0}, {0, 1, 7, 7}, {0, 0, 7, 7},
	} {
		if got := (shardSpec{tc.i, tc.n}).share(tc.of); got != tc.want {
			t.Errorf("shard %d/%d share of %d: %d, want %d", tc.i, tc.n, tc.of, got, tc.want)
		}
	}
}
