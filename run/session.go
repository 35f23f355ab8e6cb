package run

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Option describes a run to Open: what the manifest says was asked, and how
// the directory is treated.
type Option func(*config)

type config struct {
	tool, version   string
	commit          string
	collector       fmt.Stringer
	targets, corpus []byte
	schedule        []byte
	objectives      []byte
	overwrite       bool
	nonceSalt       uint64
	nonceSaltSet    bool
	// shard and campaignHash are set by AsShard (shard.go).
	shard        *Shard
	campaignHash string
	// wrapSink, when set, wraps the session's record writer (a test seam).
	wrapSink func(Sink) Sink
}

// Tool names the tool and its version in the manifest (default
// "needlestorm", "dev").
func Tool(name, version string) Option {
	return func(c *config) { c.tool, c.version = name, version }
}

// Collector records in the manifest how the client's garbage collector is
// set (left out when nil or empty): it weighs on how closely sends kept
// their schedule. It is asked when the run starts and again when it ends,
// so that a change during the run (a guard's putting GOGC back) shows.
func Collector(setting fmt.Stringer) Option {
	return func(c *config) { c.collector = setting }
}

// Commit records in the manifest the VCS revision the tool was built from
// (left out when empty).
func Commit(revision string) Option {
	return func(c *config) { c.commit = revision }
}

// Asked records what was asked of the run in its manifest: targets (target
// configurations, without keys) and corpus (the matrix), each encoded as
// JSON. A value that does not encode is kept as a string saying so.
func Asked(targets, corpus any) Option {
	return func(c *config) {
		c.targets = encodeJSON(targets)
		c.corpus = encodeJSON(corpus)
	}
}

// Schedule records the schedule the run was asked to run, encoded as JSON.
func Schedule(v any) Option { return func(c *config) { c.schedule = encodeJSON(v) } }

// Objectives records the run's objectives (latency, error rate, accuracy) in
// its manifest, encoded as JSON, so that reports regenerated later judge the
// run by what it was asked to meet.
func Objectives(v any) Option { return func(c *config) { c.objectives = encodeJSON(v) } }

// Overwrite lets Open replace a run already in its directory (its
// records.jsonl is truncated and its manifest rewritten) instead of
// refusing to.
func Overwrite(yes bool) Option { return func(c *config) { c.overwrite = yes } }

// NonceSalt sets the salt mixed into every request's cache-busting nonce.
// By default each run draws a random one, so that rerunning a campaign
// against a long-lived server never sends a prompt its prefix cache has
// already seen; the manifest records it as nonce_salt, and giving it again
// reproduces a run's prompts exactly. With salt 0 the nonce is the record's
// Seq alone, as in runs written before salts existed.
func NonceSalt(salt uint64) Option {
	return func(c *config) { c.nonceSalt, c.nonceSaltSet = salt, true }
}

// DrawNonceSalt returns a random nonce salt.
func DrawNonceSalt() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it crashes instead)
	return binary.LittleEndian.Uint64(b[:])
}

// encodeJSON encodes v, or returns nil for nil; an encoding failure is kept
// as a JSON string describing it, so the manifest still says what happened.
func encodeJSON(v any) []byte {
	if v == nil {
		return nil
	}
	if raw, ok := v.(json.RawMessage); ok {
		return raw
	}
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal("could not encode: " + err.Error())
	}
	return b
}

// Sink receives every completed request's Record. A *RecordWriter is one.
// Write is called concurrently and must not keep rec.
type Sink interface {
	Write(rec *Record) error
}

// Result says how a run ended.
type Result struct {
	Dir       string
	Status    string
	Reason    string
	StartedAt time.Time
	EndedAt   time.Time
	// Sent and Records count requests sent and records written; HeldBack
	// the requests the in-flight cap held back past their scheduled time.
	Sent     int64
	Records  int64
	HeldBack int64
	// Errors counts records by error class.
	Errors map[string]int64
	// Correct and Scored count strict-match verdicts outside warm-up.
	Correct int64
	Scored  int64
}

// Accuracy is Correct/Scored, or 0 when nothing was scored.
func (r *Result) Accuracy() float64 {
	if r.Scored == 0 {
		return 0
	}
	return float64(r.Correct) / float64(r.Scored)
}

// ErrorClasses returns the error classes seen, sorted.
func (r *Result) ErrorClasses() []string {
	out := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Session is a run directory being written, by one target or by several in
// turn: one manifest.json (written with status "running" when the session
// opens, rewritten by UpdateManifest and at Close) and one records.jsonl
// that every request's record is appended to. Whoever sends the requests
// numbers them from Seq and reports back with Sent, so record sequence
// numbers continue across dispatches and every record in the file has its
// own.
//
// Sent, UpdateManifest and Close must not be called after Close.
type Session struct {
	dir     string
	recPath string
	cfg     config
	w       *RecordWriter
	sink    Sink
	tally   *tally
	res     *Result

	mu       sync.Mutex // guards m
	m        *Manifest
	seq      int64
	sent     int64
	heldBack int64
	closed   bool
}

// ErrExists is wrapped by the error of Open and CheckDir when the directory
// already holds a run and Overwrite was not given.
var ErrExists = errors.New("the directory already holds a run")

// CheckDir reports whether a run may be written to dir: it fails when dir
// exists but is not a directory, or already holds a run (its records.jsonl
// exists) and overwrite is false. It creates nothing. A caller that must do
// costly work before opening the session (start simulators, send
// preflight's requests) checks first, so that a directory it could not use
// stops it before anything is spent; Open checks again.
func CheckDir(dir string, overwrite bool) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("checking the run directory: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("the run directory %s is a file, not a directory: choose another output directory", dir)
	}
	if overwrite {
		return nil
	}
	if _, err := os.Lstat(filepath.Join(dir, RecordsFile)); err == nil {
		return existsError(dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("checking the run directory: %w", err)
	}
	return nil
}

func existsError(dir string) error {
	return fmt.Errorf("%s already holds a run (%s exists): choose another output directory, or replace it with --overwrite: %w", dir, RecordsFile, ErrExists)
}

// Open creates dir (which must not already hold a run unless Overwrite) and
// starts a run in it: records.jsonl is created and the manifest written with
// status "running". Without NonceSalt a random salt is drawn, recorded in
// the manifest, and returned by NonceSalt.
func Open(dir string, opts ...Option) (*Session, error) {
	cfg := config{tool: "needlestorm", version: "dev"}
	for _, o := range opts {
		o(&cfg)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the run directory: %w", err)
	}
	recPath := filepath.Join(dir, RecordsFile)
	mode := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if cfg.overwrite {
		mode = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(recPath, mode, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, existsError(dir)
		}
		return nil, fmt.Errorf("creating %s: %w", recPath, err)
	}
	// One salt for every dispatch and search of the run, so that sequence
	// numbers alone keep its prompts distinct.
	if !cfg.nonceSaltSet {
		cfg.nonceSalt, cfg.nonceSaltSet = DrawNonceSalt(), true
	}
	res := &Result{Dir: dir, StartedAt: time.Now().UTC(), Errors: map[string]int64{}}
	m := &Manifest{
		Tool:         cfg.tool,
		Version:      cfg.version,
		Commit:       cfg.commit,
		Collector:    stringOf(cfg.collector),
		StartedAt:    res.StartedAt,
		Status:       StatusRunning,
		NonceSalt:    cfg.nonceSalt,
		Targets:      cfg.targets,
		Corpus:       cfg.corpus,
		Objectives:   cfg.objectives,
		Schedule:     cfg.schedule,
		Shard:        cfg.shard,
		CampaignHash: cfg.campaignHash,
	}
	if err := WriteManifest(dir, m); err != nil {
		f.Close()
		return nil, err
	}
	w := NewRecordWriter(f)
	var sink Sink = w
	if cfg.wrapSink != nil {
		sink = cfg.wrapSink(w)
	}
	return &Session{dir: dir, recPath: recPath, cfg: cfg, w: w, sink: sink, tally: &tally{res: res}, res: res, m: m}, nil
}

// Dir is the run directory.
func (s *Session) Dir() string { return s.dir }

// NonceSalt is the salt mixed into the nonce of every request of the run;
// the manifest records it as nonce_salt.
func (s *Session) NonceSalt() uint64 { return s.cfg.nonceSalt }

// Sink is the session's records file: every record written to it is counted
// in the result.
func (s *Session) Sink() Sink { return sessionSink{s} }

type sessionSink struct{ s *Session }

func (k sessionSink) Write(rec *Record) error {
	if err := k.s.sink.Write(rec); err != nil {
		return err
	}
	k.s.tally.add(rec)
	return nil
}

// Seq is the sequence number the last record written so far was given (0
// before any): the next dispatch numbers its requests from Seq()+1.
func (s *Session) Seq() int64 { return s.seq }

// Sent tells the session what one dispatch did: the sequence number of its
// last request, how many it sent and how many the in-flight cap held back.
func (s *Session) Sent(lastSeq, sent, heldBack int64) {
	s.seq = lastSeq
	s.sent += sent
	s.heldBack += heldBack
}

// UpdateManifest changes the manifest with fn (say, to add what preflight
// learned or how a target's turn ended) and rewrites it.
func (s *Session) UpdateManifest(fn func(m *Manifest)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.m)
	return WriteManifest(s.dir, s.m)
}

// Closed reports whether Close was called.
func (s *Session) Closed() bool { return s.closed }

// Close finishes the run: it closes records.jsonl and rewrites the manifest
// with the end time, the record count and the status: "complete" when
// runErr is nil, "interrupted" when ctx ended (the reason is ctx's cause,
// such as "received interrupt" or a budget's), "failed" otherwise. runErr is
// what the dispatches returned; ctx is the context they ran under. Close
// returns the result together with an error for any status but complete.
func (s *Session) Close(ctx context.Context, runErr error) (*Result, error) {
	if s.closed {
		return s.res, errors.New("the run is already finished")
	}
	s.closed = true
	closeErr := s.w.Close()
	res := s.res
	res.EndedAt = time.Now().UTC()
	res.Sent, res.Records, res.HeldBack = s.sent, s.w.Count(), s.heldBack
	if closeErr != nil {
		closeErr = fmt.Errorf("finishing %s: %w", s.recPath, closeErr)
	}
	switch {
	case closeErr != nil:
		res.Status = StatusFailed
		runErr = errors.Join(runErr, closeErr)
	case runErr == nil:
		res.Status = StatusComplete
	case ctx.Err() != nil:
		res.Status = StatusInterrupted
		res.Reason = interruptReason(ctx)
	default:
		res.Status = StatusFailed
	}
	if res.Status == StatusFailed {
		res.Reason = runErr.Error()
	}
	err := s.UpdateManifest(func(m *Manifest) {
		m.EndedAt, m.Status, m.Reason, m.Records = res.EndedAt, res.Status, res.Reason, res.Records
		if c := stringOf(s.cfg.collector); c != "" {
			m.Collector = c
		}
	})
	if err != nil {
		runErr = errors.Join(runErr, err)
	}
	return res, runErr
}

// stringOf is s's text, "" for nil.
func stringOf(s fmt.Stringer) string {
	if s == nil {
		return ""
	}
	return s.String()
}

// interruptReason describes why ctx ended: its cause when one was given
// (such as "signal: interrupt"), else its error.
func interruptReason(ctx context.Context) string {
	if c := context.Cause(ctx); c != nil {
		return c.Error()
	}
	return ctx.Err().Error()
}

// tally counts what a Result reports.
type tally struct {
	mu  sync.Mutex
	res *Result
}

func (t *tally) add(rec *Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if rec.ErrorClass != "" {
		t.res.Errors[rec.ErrorClass]++
	}
	if !rec.Warmup && !rec.Open() { // an open-ended case has no right answer
		t.res.Scored++
		if rec.Correct {
			t.res.Correct++
		}
	}
}
