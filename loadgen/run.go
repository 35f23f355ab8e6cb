package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the run directory: %w", err)
	}
	recPath := filepath.Join(dir, RecordsFile)
	mode := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if r.cfg.overwrite {
		mode = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(recPath, mode, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%s already holds a run (%s exists): choose another output directory, or replace it with --overwrite", dir, RecordsFile)
		}
		return nil, fmt.Errorf("creating %s: %w", recPath, err)
	}
	sched, err := json.Marshal(r.sched)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("encoding the schedule: %w", err)
	}
	res := &RunResult{Dir: dir, StartedAt: time.Now().UTC(), Errors: map[string]int64{}}
	m := &Manifest{
		Tool:       r.cfg.tool,
		Version:    r.cfg.version,
		StartedAt:  res.StartedAt,
		Status:     StatusRunning,
		Targets:    r.cfg.targets,
		Corpus:     r.cfg.corpus,
		Objectives: r.cfg.objectives,
		Schedule:   sched,
	}
	if err := WriteManifest(dir, m); err != nil {
		f.Close()
		return nil, err
	}

	w := NewRecordWriter(f)
	tally := &resultTally{res: res}
	cfg := r.cfg
	cfg.observers = append(append([]Observer(nil), cfg.observers...), tally)
	var sink RecordSink = w
	if cfg.wrapSink != nil {
		sink = cfg.wrapSink(w)
	}
	d, err := newDispatcher(r.target, r.cases, sink, cfg)
	if err != nil {
		w.Close()
		return nil, err
	}
	runErr := d.Run(ctx, r.sched)
	closeErr := w.Close()

	res.EndedAt = time.Now().UTC()
	res.Sent, res.Records, res.HeldBack = d.Sent(), w.Count(), d.HeldBack()
	if closeErr != nil {
		closeErr = fmt.Errorf("finishing %s: %w", recPath, closeErr)
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
	m.EndedAt, m.Status, m.Reason, m.Records = res.EndedAt, res.Status, res.Reason, res.Records
	if err := WriteManifest(dir, m); err != nil {
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

func (t *resultTally) StageStarted(int, Stage) {}
func (t *resultTally) Sent(*Record)            {}
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
