package loadgen

import (
	"context"
	"errors"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/run"
)

// Session sends schedules and envelope searches into one run directory
// being written (a run.Session), by one target or by several in turn, so one
// report compares them. Record sequence numbers continue across its
// dispatches, and every request is sent with the run's nonce salt.
//
// Dispatch and Search must not be called concurrently with each other or
// after the run.Session is closed.
type Session struct {
	run  *run.Session
	opts []Option
}

// NewSession returns a Session sending into s; opts (Model, Observe, Score,
// ScoreCalibration, Seed, MaxInFlight, Grace, SpinWindow) apply to every
// Dispatch and Search, each of which may add its own. NonceSalt does not
// apply to a Session, whose requests carry the run's salt (run.NonceSalt
// sets it when the run is opened): Dispatch and Search refuse it rather
// than ignore it.
func NewSession(s *run.Session, opts ...Option) *Session {
	return &Session{run: s, opts: opts}
}

// Run is the run directory the session writes.
func (s *Session) Run() *run.Session { return s.run }

// errSessionSalt refuses a NonceSalt given to a Session or a Runner.
var errSessionSalt = errors.New("loadgen.NonceSalt does not apply to a run directory's requests, which carry the run's salt: give it to run.Open as run.NonceSalt")

// config is the session's configuration with opts added.
func (s *Session) config(opts []Option) (runConfig, error) {
	cfg := defaultRunConfig()
	for _, o := range s.opts {
		o(&cfg)
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.nonceSaltSet {
		return cfg, errSessionSalt
	}
	cfg.nonceSalt, cfg.nonceSaltSet = s.run.NonceSalt(), true
	return cfg, nil
}

var errRunFinished = errors.New("the run is already finished")

// Dispatch runs sched against target, cycling through cases, and appends
// every completed request to the run's records. It returns what
// Dispatcher.Run returns: nil when every stage ran, an error wrapping ctx's
// when ctx ended (requests in flight had the grace period), or the first
// error writing a record.
func (s *Session) Dispatch(ctx context.Context, target Target, cases []corpus.Case, sched Schedule, opts ...Option) error {
	if s.run.Closed() {
		return errRunFinished
	}
	cfg, err := s.config(opts)
	if err != nil {
		return err
	}
	d, err := newDispatcher(target, cases, s.run.Sink(), cfg)
	if err != nil {
		return err
	}
	d.seq.Store(s.run.Seq())
	runErr := d.Run(ctx, sched)
	s.run.Sent(d.seq.Load(), d.Sent(), d.HeldBack())
	return runErr
}

// Search runs an envelope search (see Search) against target, appending
// every step's records to the run, and returns each length's result.
func (s *Session) Search(ctx context.Context, target Target, cases []corpus.Case, spec SearchSpec, judge StepJudge, opts ...Option) ([]run.SearchResult, error) {
	if s.run.Closed() {
		return nil, errRunFinished
	}
	cfg, err := s.config(opts)
	if err != nil {
		return nil, err
	}
	sr, err := NewSearcher(target, spec, judge, s.run.Sink(), func(c *runConfig) { *c = cfg })
	if err != nil {
		return nil, err
	}
	sr.NumberFrom(0, s.run.Seq())
	results, runErr := sr.SearchAll(ctx, cases)
	var sent int64
	for _, r := range results {
		sent += int64(r.Requests)
	}
	s.run.Sent(sr.LastSeq(), sent, 0)
	return results, runErr
}
