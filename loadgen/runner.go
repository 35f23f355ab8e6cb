package loadgen

import (
	"context"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/run"
)

// Runner runs one schedule against one target and writes a run directory:
// manifest.json (what was asked, tool version, start, end, status) and
// records.jsonl (one record per completed request, appended as each request
// completes).
type Runner struct {
	target Target
	cases  []corpus.Case
	sched  Schedule
	opts   []Option
	seed   int64
}

// NewRunner returns a Runner sending cases (cycled in order) to target on
// sched, with the Dispatcher's options but NonceSalt (a run directory's
// salt is run.NonceSalt, given to Run), which it refuses.
func NewRunner(target Target, cases []corpus.Case, sched Schedule, opts ...Option) (*Runner, error) {
	cfg := defaultRunConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.nonceSaltSet {
		return nil, errSessionSalt
	}
	if err := sched.Validate(); err != nil {
		return nil, err
	}
	if _, err := newDispatcher(target, cases, discardSink{}, cfg); err != nil {
		return nil, err
	}
	return &Runner{target: target, cases: cases, sched: sched.WithSeeds(cfg.seed), opts: opts}, nil
}

// Schedule returns the schedule the runner runs, Poisson seeds filled in.
func (r *Runner) Schedule() Schedule { return r.sched }

type discardSink struct{}

func (discardSink) Write(*run.Record) error { return nil }

// Run creates dir with run.Open (runOpts describe the run: Tool, Asked,
// Objectives, Overwrite, NonceSalt), runs the schedule while appending
// records, and closes the run: status "complete", "interrupted" (ctx was
// canceled: sending stopped, requests in flight had the grace period, every
// completed request was written) or "failed". It returns the result
// together with an error for any status but complete.
func (r *Runner) Run(ctx context.Context, dir string, runOpts ...run.Option) (*run.Result, error) {
	s, err := run.Open(dir, append([]run.Option{run.Schedule(r.sched)}, runOpts...)...)
	if err != nil {
		return nil, err
	}
	runErr := NewSession(s, r.opts...).Dispatch(ctx, r.target, r.cases, r.sched)
	return s.Close(ctx, runErr)
}
