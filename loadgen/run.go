package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
)

// Tool names the tool and its version in the manifest.
func Tool(name, version string) Option {
	return func(c *runConfig) { c.tool, c.version = name, version }
}

// Asked records what was asked of the run in its manifest: targets (target
// configurations, without keys) and corpus (the matrix), each encoded as
// JSON. A value that does not encode is an error of Runner.Run.
func Asked(targets, corpus any) Option {
	return func(c *runConfig) {
		c.targets = runJSON(targets)
		c.corpus = runJSON(corpus)
	}
}

// Objectives records the run's objectives (latency, error rate, accuracy) in
// its manifest, encoded as JSON, so that reports regenerated later judge the
// run by what it was asked to meet.
func Objectives(v any) Option { return func(c *runConfig) { c.objectives = runJSON(v) } }

// Overwrite lets Runner.Run replace a run already in its directory (its
// records.jsonl is truncated and its manifest rewritten) instead of
// refusing to.
func Overwrite(yes bool) Option { return func(c *runConfig) { c.overwrite = yes } }

// runJSON encodes v, or returns nil for nil; an encoding failure is kept as
// a JSON string describing it, so the manifest still says what happened.
func runJSON(v any) []byte {
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

// Runner runs one schedule against one target and writes a run directory:
// manifest.json (what was asked, tool version, start, end, status) and
// records.jsonl (one record per completed request, appended as each request
// completes).
type Runner struct {
	target Target
	cases  []corpus.Case
	sched  Schedule
	cfg    runConfig
}

// RunResult says how a run ended.
type RunResult struct {
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
func (r *RunResult) Accuracy() float64 {
	if r.Scored == 0 {
		return 0
	}
	return float64(r.Correct) / float64(r.Scored)
}

// ErrorClasses returns the error classes seen, sorted.
func (r *RunResult) ErrorClasses() []string {
	out := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// NewRunner returns a Runner sending cases (cycled in order) to target on
// sched. Options are those of NewDispatcher plus Tool and Asked.
func NewRunner(target Target, cases []corpus.Case, sched Schedule, opts ...Option) (*Runner, error) {
	cfg := defaultRunConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := sched.Validate(); err != nil {
		return nil, err
	}
	if _, err := newDispatcher(target, cases, runDiscardSink{}, cfg); err != nil {
		return nil, err
	}
	// Fix Poisson seeds now, so the manifest says which were used.
	sched = append(Schedule(nil), sched...)
	for i := range sched {
		if sched[i].Kind == StagePoisson && sched[i].Seed == 0 {
			sched[i].Seed = cfg.seed + int64(i)
		}
	}
	return &Runner{target: target, cases: cases, sched: sched, cfg: cfg}, nil
}

// Schedule returns the schedule the runner runs, Poisson seeds filled in.
func (r *Runner) Schedule() Schedule { return r.sched }

type runDiscardSink struct{}

func (runDiscardSink) Write(*Record) error { return nil }

// Run creates dir (which must not already hold a run unless Overwrite), writes the manifest
// with status "running", runs the schedule while appending records, and
// rewrites the manifest at the end with status "complete", "interrupted"
// (ctx was canceled: sending stopped, requests in flight had the grace
// period, every completed request was written) or "failed". It returns the
// result together with an error for any status but complete.
func (r *Runner) Run(ctx context.Context, dir string) (*RunResult, error) {
	sched, err := json.Marshal(r.sched)
	if err != nil {
		return nil, fmt.Errorf("encoding the schedule: %w", err)
	}
	s, err := openSession(dir, r.cfg, sched)
	if err != nil {
		return nil, err
	}
	runErr := s.Dispatch(ctx, r.target, r.cases, r.sched)
	return s.Close(ctx, runErr)
}

// Session is a run directory being written, by one target or by several in
// turn: one manifest.json (written with status "running" when the session
// opens, rewritten by UpdateManifest and at Close) and one records.jsonl
// that every target's requests are appended to. Runner.Run is a session with
// one Dispatch; a campaign opens one session and dispatches each target's
// schedule (or search) into it, so one report compares them. Record
// sequence numbers continue across dispatches, so every record in the file
// has its own.
//
// Dispatch, Search and UpdateManifest must not be called concurrently with
// each other or after Close.
type Session struct {
	dir     string
	recPath string
	cfg     runConfig
	w       *RecordWriter
	sink    RecordSink
	tally   *resultTally
	res     *RunResult

	mu       sync.Mutex // guards m
	m        *Manifest
	seq      int64
	sent     int64
	heldBack int64
	closed   bool
}

// OpenSession creates dir (which must not already hold a run unless
// Overwrite) and starts a run in it: records.jsonl is created and the
// manifest written with status "running". Options are those of NewRunner:
// Tool, Asked, Objectives and Overwrite describe the run; NonceSalt (by
// default a random salt, recorded in the manifest) is the run's; Model,
// Observe, Score, ScoreCalibration, Seed, MaxInFlight, Grace and SpinWindow
// apply to every Dispatch and Search (each may add its own).
func OpenSession(dir string, opts ...Option) (*Session, error) {
	cfg := defaultRunConfig()
	for _, o := range opts {
		o(&cfg)
	}
	return openSession(dir, cfg, nil)
}

// ErrRunExists is wrapped by the error of OpenSession, Runner.Run and
// CheckRunDir when the directory already holds a run and Overwrite was not
// given.
var ErrRunExists = errors.New("the directory already holds a run")

// CheckRunDir reports whether a run may be written to dir: it fails when
// dir exists but is not a directory, or already holds a run (its
// records.jsonl exists) and overwrite is false. It creates nothing. A caller
// that must do costly work before opening the session (start simulators,
// send preflight's requests) checks first, so that a directory it could not
// use stops it before anything is spent; OpenSession checks again.
func CheckRunDir(dir string, overwrite bool) error {
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
		return runExistsError(dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("checking the run directory: %w", err)
	}
	return nil
}

func runExistsError(dir string) error {
	return fmt.Errorf("%s already holds a run (%s exists): choose another output directory, or replace it with --overwrite: %w", dir, RecordsFile, ErrRunExists)
}

func openSession(dir string, cfg runConfig, sched []byte) (*Session, error) {
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
			return nil, runExistsError(dir)
		}
		return nil, fmt.Errorf("creating %s: %w", recPath, err)
	}
	// One salt for every dispatch and search of the run, so that sequence
	// numbers alone keep its prompts distinct.
	cfg.drawNonceSalt()
	res := &RunResult{Dir: dir, StartedAt: time.Now().UTC(), Errors: map[string]int64{}}
	m := &Manifest{
		Tool:       cfg.tool,
		Version:    cfg.version,
		StartedAt:  res.StartedAt,
		Status:     StatusRunning,
		NonceSalt:  cfg.nonceSalt,
		Targets:    cfg.targets,
		Corpus:     cfg.corpus,
		Objectives: cfg.objectives,
		Schedule:   sched,
	}
	if err := WriteManifest(dir, m); err != nil {
		f.Close()
		return nil, err
	}
	w := NewRecordWriter(f)
	var sink RecordSink = w
	if cfg.wrapSink != nil {
		sink = cfg.wrapSink(w)
	}
	return &Session{dir: dir, recPath: recPath, cfg: cfg, w: w, sink: sink, tally: &resultTally{res: res}, res: res, m: m}, nil
}

// Dir is the run directory.
func (s *Session) Dir() string { return s.dir }

// NonceSalt is the salt mixed into the nonce of every request of the run
// (see NonceSalt); the manifest records it as nonce_salt.
func (s *Session) NonceSalt() uint64 { return s.cfg.nonceSalt }

// Sink is the session's records file as a RecordSink: every record written
// to it is counted in the result. Dispatch and Search write to it; a caller
// driving a Dispatcher of its own may too.
func (s *Session) Sink() RecordSink { return sessionSink{s} }

type sessionSink struct{ s *Session }

func (k sessionSink) Write(rec *Record) error {
	if err := k.s.sink.Write(rec); err != nil {
		return err
	}
	k.s.tally.Completed(rec)
	return nil
}

// dispatchConfig is the session's configuration with opts added.
func (s *Session) dispatchConfig(opts []Option) runConfig {
	cfg := s.cfg
	cfg.observers = append([]Observer(nil), s.cfg.observers...)
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// Dispatch runs sched against target, cycling through cases, and appends
// every completed request to the session's records. opts add to the
// session's options for this dispatch only (typically Model and Observe).
// It returns what Dispatcher.Run returns: nil when every stage ran, an error
// wrapping ctx's when ctx ended (requests in flight had the grace period),
// or the first error writing a record.
func (s *Session) Dispatch(ctx context.Context, target Target, cases []corpus.Case, sched Schedule, opts ...Option) error {
	if s.closed {
		return errors.New("the run is already finished")
	}
	d, err := newDispatcher(target, cases, s.Sink(), s.dispatchConfig(opts))
	if err != nil {
		return err
	}
	d.seq.Store(s.seq)
	runErr := d.Run(ctx, sched)
	s.seq = d.seq.Load()
	s.sent += d.Sent()
	s.heldBack += d.HeldBack()
	return runErr
}

// Search runs an envelope search (see Search) against target, appending
// every step's records to the session, and returns each length's result.
// opts add to the session's options for this search only.
func (s *Session) Search(ctx context.Context, target Target, cases []corpus.Case, spec SearchSpec, judge StepJudge, opts ...Option) ([]SearchResult, error) {
	if s.closed {
		return nil, errors.New("the run is already finished")
	}
	cfg := s.dispatchConfig(opts)
	sr, err := NewSearcher(target, spec, judge, s.Sink(), func(c *runConfig) { *c = cfg })
	if err != nil {
		return nil, err
	}
	sr.NumberFrom(0, s.seq)
	results, runErr := sr.SearchAll(ctx, cases)
	for _, r := range results {
		s.sent += int64(r.Requests)
	}
	s.seq = sr.LastSeq()
	return results, runErr
}

// UpdateManifest changes the manifest with fn (say, to add what preflight
// learned or how a target's turn ended) and rewrites it.
func (s *Session) UpdateManifest(fn func(m *Manifest)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.m)
	return WriteManifest(s.dir, s.m)
}

// Close finishes the run: it closes records.jsonl and rewrites the manifest
// with the end time, the record count and the status: "complete" when
// runErr is nil, "interrupted" when ctx ended (the reason is ctx's cause,
// such as "received interrupt" or a budget's), "failed" otherwise. runErr is
// what the dispatches returned; ctx is the context they ran under. Close
// returns the result together with an error for any status but complete.
func (s *Session) Close(ctx context.Context, runErr error) (*RunResult, error) {
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
	})
	if err != nil {
		runErr = errors.Join(runErr, err)
	}
	return res, runErr
}

// interruptReason describes why ctx ended: its cause when one was given
// (such as "signal: interrupt"), else its error.
func interruptReason(ctx context.Context) string {
	if c := context.Cause(ctx); c != nil {
		return c.Error()
	}
	return ctx.Err().Error()
}

// resultTally counts what a RunResult reports.
type resultTally struct {
	mu  sync.Mutex
	res *RunResult
}

func (t *resultTally) Completed(rec *Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if rec.ErrorClass != "" {
		t.res.Errors[rec.ErrorClass]++
	}
	if !rec.Warmup {
		t.res.Scored++
		if rec.Correct {
			t.res.Correct++
		}
	}
}
