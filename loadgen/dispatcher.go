package loadgen

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/probes"
	"github.com/needlestorm/needlestorm/run"
)

// Defaults of a Dispatcher.
const (
	// DefaultMaxInFlight caps the requests in flight, to protect the client.
	DefaultMaxInFlight = 4096
	// DefaultGrace is how long requests in flight may still finish after a
	// run is interrupted before they are canceled.
	DefaultGrace = 10 * time.Second
)

// Observer is told about stages and requests as they happen; live progress
// and metrics are Observers. Its methods are called concurrently, from the
// request goroutines, and must be quick and must not keep rec.
type Observer interface {
	// StageStarted is called when stage index begins.
	StageStarted(index int, s Stage)
	// Sent is called just before a request is handed to the target; rec
	// holds the Case identity, the stage and ScheduledAt.
	Sent(rec *run.Record)
	// Completed is called once the request's record is final and written.
	Completed(rec *run.Record)
}

// ScoreFunc scores an answer: rec holds the whole response (answer, finish
// reason, token counts, error class).
type ScoreFunc func(c *corpus.Case, rec *run.Record) probes.Verdict

// Option configures a Dispatcher, and so the Searcher, Session and Runner
// that send through one. Every Option applies to all four, but NonceSalt:
// a Session's or a Runner's requests carry the run directory's salt, and
// they refuse it. Seed seeds Poisson stages, which a search (constant-rate
// steps only) has none of.
type Option func(*runConfig)

type runConfig struct {
	maxInFlight int
	grace       time.Duration
	model       string
	seed        int64
	observers   []Observer
	// score is the scorer given with Score; nil means probes.Judge with
	// calibration (see ScoreCalibration).
	score ScoreFunc
	// scoreReadsPrompt says score may read the prompt sent (a scorer
	// given with Score); the default scorer does not.
	scoreReadsPrompt bool
	calibration      probes.Calibration
	spin             time.Duration
	// nonceSalt is mixed into every request's nonce (see Dispatcher.prompt); set
	// says it was chosen, by NonceSalt or by drawing it for the run.
	nonceSalt    uint64
	nonceSaltSet bool
	// shard and startAt are set by Shard and StartAt (shard.go).
	shard   shardSpec
	startAt time.Time
	// abort is set by Abort.
	abort context.Context
}

func defaultRunConfig() runConfig {
	return runConfig{
		maxInFlight: DefaultMaxInFlight,
		grace:       DefaultGrace,
		spin:        defaultSpinWindow,
	}
}

// MaxInFlight caps the number of requests in flight (default 4096). A request
// the cap holds back is sent as soon as a slot frees up, and its record shows
// the delay in send_lag.
func MaxInFlight(n int) Option { return func(c *runConfig) { c.maxInFlight = n } }

// Grace sets how long requests in flight may finish after the run's context
// is canceled before they are canceled too (default 10 s).
func Grace(d time.Duration) Option { return func(c *runConfig) { c.grace = d } }

// Model names the model in every record.
func Model(name string) Option { return func(c *runConfig) { c.model = name } }

// Seed is the run's seed: a Poisson stage without its own seed uses it plus
// the stage's index.
func Seed(n int64) Option { return func(c *runConfig) { c.seed = n } }

// Observe adds observers (progress, metrics).
func Observe(obs ...Observer) Option {
	return func(c *runConfig) { c.observers = append(c.observers, obs...) }
}

// Score replaces the scorer of answers (by default probes.Judge: a strict
// match, and the attribution of a wrong answer).
func Score(fn ScoreFunc) Option {
	return func(c *runConfig) { c.score, c.scoreReadsPrompt = fn, fn != nil }
}

// ScoreCalibration gives the default scorer what is known of the target's
// token accounting, such as the template overhead preflight measured, so
// that live verdicts (records.jsonl, live metrics, the running accuracy)
// attribute failures as the report will: without it a lost canary counts as
// a truncation even when the server's token count shows that the whole
// prompt arrived. It has no effect on a scorer given with Score.
func ScoreCalibration(cal probes.Calibration) Option {
	return func(c *runConfig) { c.calibration = cal }
}

// NonceSalt sets the salt mixed into every request's cache-busting nonce
// (see NewDispatcher). By default each run draws a random one, so that
// rerunning a campaign against a long-lived server never sends a prompt its
// prefix cache has already seen; the manifest records it as nonce_salt, and
// giving it again reproduces a run's prompts exactly. With salt 0 the nonce
// is the record's Seq alone, as in runs written before salts existed.
func NonceSalt(salt uint64) Option {
	return func(c *runConfig) { c.nonceSalt, c.nonceSaltSet = salt, true }
}

// drawNonceSalt gives cfg a random nonce salt unless one was chosen.
func (c *runConfig) drawNonceSalt() {
	if c.nonceSaltSet {
		return
	}
	c.nonceSalt, c.nonceSaltSet = run.DrawNonceSalt(), true
}

// Abort gives a context whose end ends the run at once (a second
// interrupt): sending stops, the requests in flight are canceled without
// the grace period, and a request not yet sent is recorded as canceled
// without reaching the target. Run then returns the context's cause.
func Abort(ctx context.Context) Option { return func(c *runConfig) { c.abort = ctx } }

// SpinWindow sets how long before a scheduled send the dispatcher stops
// waiting on the runtime's timers and waits precisely instead (on Linux a
// nanosleep, elsewhere a yield loop, which costs CPU). 0 uses the runtime's
// timers only, which can be a millisecond or two late.
func SpinWindow(d time.Duration) Option { return func(c *runConfig) { c.spin = d } }

// Dispatcher sends requests to one Target on a Schedule and writes one Record
// per completed request. Open-loop stages send on schedule whatever is still
// in flight; closed-loop stages keep exactly N requests in flight.
type Dispatcher struct {
	target Target
	cases  []corpus.Case
	sink   run.Sink
	cfg    runConfig

	slots chan struct{}
	// noncers[i] is cases[i]'s Noncer, made when the case is first sent.
	noncers  []atomic.Pointer[caseNoncer]
	seq      atomic.Int64
	sent     atomic.Int64
	heldBack atomic.Int64
}

// NewDispatcher returns a Dispatcher that cycles through cases (cases ×
// repeats) in every stage, in the order of Interleave (round-robin over
// lengths, then depths, so that a stage that ends early has still sent
// every length), and writes records to sink. Every request
// of a Case with a cache-busting preamble is sent with a preamble of its own,
// drawn from its Seq and the dispatcher's nonce salt (see Dispatcher.prompt): a random
// one unless NonceSalt gives it.
func NewDispatcher(t Target, cases []corpus.Case, sink run.Sink, opts ...Option) (*Dispatcher, error) {
	cfg := defaultRunConfig()
	for _, o := range opts {
		o(&cfg)
	}
	cfg.drawNonceSalt()
	return newDispatcher(t, cases, sink, cfg)
}

func newDispatcher(t Target, cases []corpus.Case, sink run.Sink, cfg runConfig) (*Dispatcher, error) {
	switch {
	case t == nil:
		return nil, errors.New("no target to send requests to")
	case len(cases) == 0:
		return nil, errors.New("no cases to send: the corpus matrix is empty")
	case sink == nil:
		return nil, errors.New("no place to write records to")
	case cfg.maxInFlight < 1:
		return nil, fmt.Errorf("the cap on requests in flight must be at least 1, got %d", cfg.maxInFlight)
	case cfg.grace < 0:
		return nil, fmt.Errorf("the grace period must not be negative, got %s", cfg.grace)
	case cfg.shard.validate() != nil:
		return nil, cfg.shard.validate()
	}
	if cfg.score == nil {
		cal := cfg.calibration
		cfg.score = func(c *corpus.Case, rec *run.Record) probes.Verdict { return judgeRecord(c, rec, cal) }
	}
	cases = Interleave(cases)
	return &Dispatcher{
		target:  t,
		cases:   cases,
		sink:    sink,
		cfg:     cfg,
		slots:   make(chan struct{}, cfg.maxInFlight),
		noncers: make([]atomic.Pointer[caseNoncer], len(cases)),
	}, nil
}

// Sent is the number of requests handed to the target so far.
func (d *Dispatcher) Sent() int64 { return d.sent.Load() }

// HeldBack is the number of requests the in-flight cap held back past their
// scheduled time.
func (d *Dispatcher) HeldBack() int64 { return d.heldBack.Load() }

// InFlight is the number of requests in flight now.
func (d *Dispatcher) InFlight() int { return len(d.slots) }

// NonceSalt is the salt mixed into the nonce of every request (see
// NonceSalt).
func (d *Dispatcher) NonceSalt() uint64 { return d.cfg.nonceSalt }

// Run runs the schedule's stages in order. Between stages it waits for the
// requests in flight to finish, so each stage is measured alone. When ctx is
// canceled it stops sending, lets the requests in flight finish for the grace
// period, then cancels them; every one of them still gets its record (the
// canceled ones with error_class "canceled"). It returns nil when every stage
// ran, an error wrapping ctx's error when interrupted, or the first error
// writing a record (which also stops the run).
func (d *Dispatcher) Run(ctx context.Context, sched Schedule) error {
	return d.RunFrom(ctx, 0, sched)
}

// RunFrom is Run with the stages numbered from first: stage i of sched is
// stage first+i in records, observers and Poisson seeds. A caller that runs
// one schedule in several calls (the envelope search, one step at a time)
// keeps every stage's index distinct with it.
func (d *Dispatcher) RunFrom(ctx context.Context, first int, sched Schedule) error {
	if err := sched.Validate(); err != nil {
		return err
	}
	for i, st := range sched {
		if st.Kind == StageConcurrency {
			st.Concurrency = d.cfg.shard.share(st.Concurrency)
		}
		if err := st.CheckInFlight(d.cfg.maxInFlight); err != nil {
			return fmt.Errorf("stage %d: %w", i, err)
		}
	}
	// Requests outlive ctx by the grace period.
	reqCtx, cancelReqs := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelReqs(nil)
	// Sending stops on ctx, on a failure to write a record, or on an abort,
	// which ends the requests in flight too.
	sendCtx, stopSending := context.WithCancelCause(ctx)
	defer stopSending(nil)
	if a := d.cfg.abort; a != nil {
		stop := context.AfterFunc(a, func() {
			stopSending(context.Cause(a))
			cancelReqs(context.Cause(a))
		})
		defer stop()
	}

	var all sync.WaitGroup
	allDone := make(chan struct{})
	graceDone := make(chan struct{})
	go func() {
		defer close(graceDone)
		select {
		case <-sendCtx.Done():
			t := time.NewTimer(d.cfg.grace)
			defer t.Stop()
			select {
			case <-t.C:
				cancelReqs(nil)
			case <-allDone:
			}
		case <-allDone:
		}
	}()

	run := &dispatch{d: d, reqCtx: reqCtx, stop: stopSending, wg: &all}
	run.awaitStart(sendCtx, sched[0].OpenLoop())
	for j, st := range sched {
		if sendCtx.Err() != nil {
			break
		}
		i := first + j
		if st.Kind == StagePoisson && st.Seed == 0 {
			st.Seed = d.cfg.seed + int64(i)
		}
		for _, o := range d.cfg.observers {
			o.StageStarted(i, st)
		}
		var stage sync.WaitGroup
		sr := &stageRun{index: i, stage: st, label: st.Name(), wg: &stage}
		var err error
		if st.OpenLoop() {
			err = run.open(sendCtx, sr)
		} else {
			run.closed(sendCtx, sr)
		}
		if err != nil {
			stopSending(err)
			break
		}
		// Drain before the next stage (or until interrupted).
		drained := make(chan struct{})
		go func() { stage.Wait(); close(drained) }()
		select {
		case <-drained:
		case <-sendCtx.Done():
		}
	}
	all.Wait()
	close(allDone)
	<-graceDone
	if sendCtx.Err() != nil {
		cause := context.Cause(sendCtx)
		if err := ctx.Err(); err != nil {
			if cause != nil && cause != err {
				return fmt.Errorf("run interrupted (%v): %w", cause, err)
			}
			return fmt.Errorf("run interrupted: %w", err)
		}
		return cause
	}
	return nil
}

// dispatch is the state of one Run.
type dispatch struct {
	d      *Dispatcher
	reqCtx context.Context
	stop   context.CancelCauseFunc
	wg     *sync.WaitGroup
	// origin is the common start time the first stage's clock starts at
	// (see awaitStart); zero once used.
	origin time.Time
}

// stageRun is one stage being run.
type stageRun struct {
	index int
	stage Stage
	label string
	wg    *sync.WaitGroup
}

// open runs an open-loop stage: one scheduler goroutine takes each send time
// from the stage's ideal clock (so the schedule never drifts with the
// client's own delays), waits for it precisely, and hands the request to a
// new goroutine. A slow server never slows the sender; only the in-flight cap
// can hold a request back, and its send_lag then shows by how much.
func (r *dispatch) open(ctx context.Context, sr *stageRun) error {
	clock, err := newStageClock(sr.stage)
	if err != nil {
		return fmt.Errorf("stage %d: %w", sr.index, err)
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	start := r.stageStart()
	base := r.d.seq.Load()
	for n := 0; ; n++ {
		offset, ok := clock.next()
		if !ok {
			return nil
		}
		seq := base + int64(n) + 1
		if !r.d.cfg.shard.owns(n) {
			r.d.seq.Store(seq) // another shard's request
			continue
		}
		at := start.Add(offset)
		if !sleepUntil(ctx, timer, at, r.d.cfg.spin) {
			return nil
		}
		held, ok := r.acquire(ctx)
		if !ok {
			return nil
		}
		r.wg.Add(1)
		sr.wg.Add(1)
		r.d.seq.Store(seq)
		go r.do(r.reqCtx, sr, n, seq, at, held)
		// Let the new request's goroutine start before the scheduler sleeps.
		runtime.Gosched()
	}
}

// pacerMaxStep bounds how far ahead a pacer's answer is trusted before it is
// asked again; this keeps pacers that linearise (vegeta's LinearPacer and
// SinePacer) accurate when the next hit is far away.
const pacerMaxStep = 50 * time.Millisecond

// stageClock computes an open-loop stage's send times, as offsets from the
// stage's start, on an ideal clock: the pacer is asked at the ideal time of
// the previous hit, never at the real time, so the times depend only on the
// stage (and its seed). The first hit is at offset 0.
type stageClock struct {
	pacer    Pacer
	dur      time.Duration
	requests uint64
	hits     uint64
	t        time.Duration // the pacer's elapsed time
	first    time.Duration // pacer time of the first hit
}

func newStageClock(st Stage) (*stageClock, error) {
	p, err := st.Pacer()
	if err != nil {
		return nil, err
	}
	return &stageClock{pacer: p, dur: st.Duration.Duration(), requests: uint64(st.Requests)}, nil
}

// next returns the offset of the next hit, or false when the stage is over.
func (c *stageClock) next() (time.Duration, bool) {
	if c.requests > 0 && c.hits >= c.requests {
		return 0, false
	}
	for {
		wait, stop := c.pacer.Pace(c.t, c.hits)
		if stop {
			return 0, false
		}
		if wait > pacerMaxStep {
			c.t += pacerMaxStep
			if c.hits > 0 && c.dur > 0 && c.t-c.first >= c.dur {
				return 0, false
			}
			continue
		}
		c.t += wait
		if c.hits == 0 {
			c.first = c.t
		}
		offset := c.t - c.first
		if c.dur > 0 && offset >= c.dur {
			return 0, false
		}
		c.hits++
		return offset, true
	}
}

// closed runs a closed-loop stage: Concurrency workers, each sending its next
// request as soon as its last one completes.
func (r *dispatch) closed(ctx context.Context, sr *stageRun) {
	st := sr.stage
	if dur := st.Duration.Duration(); dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dur)
		defer cancel()
	}
	shard := r.d.cfg.shard
	base := r.d.seq.Load()
	var claimed, sent atomic.Int64
	var workers sync.WaitGroup
	for range shard.share(st.Concurrency) {
		workers.Add(1)
		go func() {
			defer workers.Done()
			// The worker's requests hang off a context of its own, which
			// the requests' context cancels: each request then registers
			// its timeout with the worker's context alone, not with one
			// context that every worker's requests lock and grow.
			reqCtx, cancel := context.WithCancel(r.reqCtx)
			defer cancel()
			for ctx.Err() == nil {
				n := claimed.Add(1) - 1
				if st.Requests > 0 && n >= int64(shard.share(st.Requests)) {
					return
				}
				held, ok := r.acquire(ctx)
				if !ok {
					return
				}
				r.wg.Add(1)
				sr.wg.Add(1)
				sent.Add(1)
				r.do(reqCtx, sr, shard.global(int(n)), r.closedSeq(base, n), time.Now(), held)
			}
		}()
	}
	workers.Wait()
	if shard.sharded() {
		r.d.seq.Store(base + shard.closedAdvance(st, int(sent.Load())))
	}
}

// acquire takes a slot under the in-flight cap, waiting for one when the cap
// is reached; held says it had to wait. ok is false when ctx ends first.
func (r *dispatch) acquire(ctx context.Context) (held, ok bool) {
	select {
	case r.d.slots <- struct{}{}:
		return false, true
	default:
	}
	r.d.heldBack.Add(1)
	select {
	case r.d.slots <- struct{}{}:
		return true, true
	case <-ctx.Done():
		return true, false
	}
}

// do sends request n (the seq-th of the run) of a stage under reqCtx (the
// run's requests' context, or a context it cancels), completes its record,
// writes it and tells the observers; held says the in-flight cap held it
// back. It releases its in-flight slot when done.
func (r *dispatch) do(reqCtx context.Context, sr *stageRun, n int, seq int64, scheduled time.Time, held bool) {
	d := r.d
	defer r.wg.Done()
	defer sr.wg.Done()
	defer func() { <-d.slots }()

	ci := n % len(d.cases)
	c := &d.cases[ci]
	rec := &run.Record{
		Schema:             run.RecordSchema,
		Seq:                seq,
		Target:             d.target.Name(),
		Model:              d.cfg.model,
		Stage:              sr.index,
		StageLabel:         sr.label,
		Warmup:             sr.stage.Warmup,
		CaseID:             c.ID,
		Task:               c.Task,
		Length:             c.Length,
		Depth:              c.Depth,
		ActualDepth:        c.ActualDepth,
		NeedleTokenIndex:   c.NeedleTokenIndex,
		Repeat:             n / len(d.cases),
		Expected:           c.Expected,
		ScheduledAt:        scheduled,
		PromptTokensClient: c.PromptTokens,
		AskedRate:          sr.stage.AskedRate(),
		HeldBack:           held,
		TaskType:           c.TaskType,
		Matchers:           c.Matchers,
		PadTo:              c.PadTo,
	}
	if c.Canaries != nil {
		rec.CanaryHead, rec.CanaryTail = c.Canaries.Head, c.Canaries.Tail
	}
	p, err := d.prompt(ci, seq)
	if err != nil {
		r.stop(err)
		return
	}
	d.sent.Add(1)
	for _, o := range d.cfg.observers {
		o.Sent(rec)
	}

	if reqCtx.Err() != nil {
		// Aborted (or past the grace period) before it was sent:
		// canceled without reaching the target.
		rec.SentAt = time.Now()
		rec.ErrorClass, rec.Error = run.ErrCanceled, "canceled before it was sent: "+context.Cause(reqCtx).Error()
	} else {
		p.send(reqCtx, d.target, rec)
	}

	if rec.SentAt.IsZero() {
		// The target failed before sending; count its time as lag.
		rec.SentAt = time.Now()
	}
	rec.SendLag = run.Seconds(rec.SentAt.Sub(rec.ScheduledAt))
	if rec.E2E > 0 {
		rec.E2ESched = run.Seconds(rec.SentAt.Add(rec.E2E.Duration()).Sub(rec.ScheduledAt))
	}
	if reqCtx.Err() != nil && rec.ErrorClass != "" {
		// Canceled by the end of the grace period or by an abort, whatever
		// the target saw.
		rec.ErrorClass = run.ErrCanceled
	}
	rec.Verdict = d.cfg.score(p.forScoring(d.cfg.scoreReadsPrompt), rec)
	if rec.Verdict.Attribution == probes.AttrModelMissed {
		// A miss is classified on the prompt as it was sent.
		rec.Miss = probes.MissOf(p.asSent(), rec.Verdict, rec.Answer)
	}
	if err := d.sink.Write(rec); err != nil {
		r.stop(fmt.Errorf("writing a record failed, so the run stopped: %w", err))
		return
	}
	for _, o := range d.cfg.observers {
		o.Completed(rec)
	}
}

// caseNoncer is a case's corpus.Noncer, or nil when the case is sent as it
// is (it has no preamble or a shared prefix), or the error making one gave.
type caseNoncer struct {
	nr  *corpus.Noncer
	err error
}

// prompt is what one request sends: a Case, and when renonced is set the
// new preamble that replaces the Case's own (see Dispatcher.prompt).
type prompt struct {
	c        *corpus.Case
	r        corpus.Renonce
	renonced bool
	// copied is r applied to c, once made.
	copied *corpus.Case
}

// send sends p to t: the Case and its new preamble to a RenonceSender,
// which writes them into the request, the re-nonced copy to any other
// Target.
func (p *prompt) send(ctx context.Context, t Target, rec *run.Record) {
	if !p.renonced {
		t.Send(ctx, p.c, rec)
		return
	}
	if rs, ok := t.(RenonceSender); ok {
		rs.SendRenonced(ctx, p.c, p.r, rec)
		return
	}
	t.Send(ctx, p.asSent(), rec)
}

// asSent is the Case as it was sent: the re-nonced copy, made once.
func (p *prompt) asSent() *corpus.Case {
	if !p.renonced {
		return p.c
	}
	if p.copied == nil {
		c := p.r.Apply(p.c)
		p.copied = &c
	}
	return p.copied
}

// forScoring is the Case to score the answer against: as it was sent when
// the scorer reads the prompt (or the copy exists anyway), else the Case
// itself, which has every other field of the copy.
func (p *prompt) forScoring(readsPrompt bool) *corpus.Case {
	if readsPrompt || p.copied != nil {
		return p.asSent()
	}
	return p.c
}

// prompt returns the prompt of request seq of case i: unless the case was
// built with a shared prefix, the case with a cache-busting preamble drawn
// afresh from (seed, Case id, seq XOR salt) with the same token count
// (corpus.Case.WithNonce, through the case's Noncer, made once), so that
// repeats of a Case never send the same prompt and a server's prefix cache
// cannot make them cheap. The run's random salt keeps it so across runs
// too: without it a rerun of the same campaign would send the same prompts
// as the last run, which a long-lived server still holds in its cache. XOR
// with a fixed salt is a bijection that maps the sequence numbers 1..n
// into one aligned block of fewer than 2n numbers, so distinct sequence
// numbers keep WithNonce's guarantee of distinct preambles (for up to half
// its tens of millions of choices). The prompt sent is reproducible from
// the Case, the record's Seq and the manifest's nonce_salt; sequence
// numbers continue across the dispatches of one session, so no two
// requests of a run share a preamble. A Case with no preamble (made by hand
// rather than by corpus.Builder) is sent as it is. A RenonceSender writes
// the new preamble into the request itself; for any other Target the
// prompt is copied once (about 0.3 ms for a 128k-token prompt, 3 ms for 1M).
func (d *Dispatcher) prompt(i int, seq int64) (prompt, error) {
	c := &d.cases[i]
	if c.SharedPrefix {
		return prompt{c: c}, nil
	}
	cn := d.noncers[i].Load()
	if cn == nil {
		// Two requests of a case may both make it: the same Noncer.
		nr, err := c.Noncer()
		cn = &caseNoncer{nr: nr, err: err}
		if errors.Is(err, corpus.ErrNoPreamble) {
			cn.err = nil
		}
		d.noncers[i].Store(cn)
	}
	if cn.err != nil {
		return prompt{}, fmt.Errorf("preparing request %d, so the run stopped: %w", seq, cn.err)
	}
	if cn.nr == nil {
		return prompt{c: c}, nil
	}
	r, err := cn.nr.Renonce(uint64(seq) ^ d.cfg.nonceSalt)
	if err != nil {
		return prompt{}, fmt.Errorf("preparing request %d, so the run stopped: %w", seq, err)
	}
	return prompt{c: c, r: r, renonced: true}, nil
}

// sleepUntil waits until at, or returns false when ctx ends first. The wait
// up to spin before at uses timer: the runtime's timers wake up to a couple
// of milliseconds late (they round short waits up to a millisecond), which
// the spin window absorbs. The rest uses a precise sleep (see
// preciseSleep), then spins for the final preciseSleepMin (spinUntil): a
// yield loop there put the goroutine in the scheduler's global queue,
// which on a busy machine cost milliseconds.
func sleepUntil(ctx context.Context, timer *time.Timer, at time.Time, spin time.Duration) bool {
	for {
		if ctx.Err() != nil {
			return false
		}
		rem := time.Until(at)
		switch {
		case rem <= 0:
			return true
		case rem > spin:
			timer.Reset(rem - spin)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return false
			}
		case rem > preciseSleepMin:
			preciseSleep(rem - preciseSleepMin)
		default:
			spinUntil(at)
			return ctx.Err() == nil
		}
	}
}

// judgeRecord is the default scorer: probes.Judge over the record's
// response, with cal as the target's token accounting. Without a
// calibration (ScoreCalibration) the overhead is unknown while the run is
// live; reports re-judge every record with the overhead measured over the
// whole run, which agrees with preflight's on a target whose chat template
// does not change.
func judgeRecord(c *corpus.Case, rec *run.Record, cal probes.Calibration) probes.Verdict {
	return probes.Judge(c, probes.ResponseFacts{
		Answer:             rec.Answer,
		FinishReason:       rec.FinishReason,
		ErrorClass:         rec.ErrorClass,
		Error:              rec.Error,
		Status:             rec.Status,
		PromptTokensClient: rec.PromptTokensClient,
		PromptTokensServer: rec.PromptTokensServer,
		Calibration:        cal,
	})
}
