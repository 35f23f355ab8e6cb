package loadgen

import (
	"github.com/needlestorm/needlestorm/run"

	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
)

// Defaults of a SearchSpec, applied to its zero fields by WithDefaults.
const (
	// DefaultSearchStartRate is the first rate tried, in requests per second.
	DefaultSearchStartRate = 1.0
	// DefaultSearchResolution is the relative precision of the rate found:
	// the search stops once the first failing rate is within 10% of the
	// highest passing one.
	DefaultSearchResolution = 0.1
	// DefaultSearchGrowth is the factor of the exponential ramp.
	DefaultSearchGrowth = 2.0
	// DefaultSearchStepDuration bounds a step when neither StepDuration nor
	// StepRequests is given.
	DefaultSearchStepDuration = 20 * time.Second
	// DefaultSearchDownSteps is how many times the rate is divided by Growth
	// below StartRate when StartRate already fails (it sets the default
	// MinRate).
	DefaultSearchDownSteps = 3
)

// Search phases, as run.SearchStepResult.Phase names them.
const (
	// SearchWarmup is the warm-up stage before a length's first step.
	SearchWarmup = "warmup"
	// SearchRamp steps multiply the rate by Growth while it passes.
	SearchRamp = "ramp"
	// SearchDown steps divide the rate by Growth while it fails, when
	// StartRate already failed.
	SearchDown = "down"
	// SearchBisect steps probe between the highest pass and the lowest fail.
	SearchBisect = "bisect"
)

// SearchSpec is what an envelope search is asked for: per prompt length, the
// highest request rate that passes the caller's StepJudge. Each step is a
// constant-rate open-loop stage at the rate the search chooses. The search
// ramps up from StartRate, multiplying by Growth while steps pass (MaxRate is
// always the last rate of the ramp); on the first failing step it bisects
// between the highest passing and the lowest failing rate at their geometric
// mean sqrt(pass*fail), which halves the ratio fail/pass in log scale, until
// (fail-pass)/pass <= Resolution. When StartRate already fails, the rate is
// divided by Growth until a step passes (then bisection as above) or the rate
// would drop below MinRate (then nothing was found). No search takes more
// than MaxSteps steps per length. Rates are rounded to three significant
// digits so labels stay readable; the search is deterministic given the
// judge's answers.
//
// Zero fields take the defaults documented on each field (see WithDefaults).
type SearchSpec struct {
	// StartRate is the first rate tried, in requests per second (default 1).
	StartRate float64 `json:"start_rate"`
	// MaxRate is the highest rate tried, in requests per second (required).
	MaxRate float64 `json:"max_rate"`
	// MinRate is the lowest rate tried when StartRate fails (default
	// StartRate/Growth^3).
	MinRate float64 `json:"min_rate,omitempty"`
	// Resolution is the relative precision of the rate found, in (0, 1)
	// (default 0.1: the search ends when the first failing rate is within
	// 10% above the rate found).
	Resolution float64 `json:"resolution"`
	// Growth is the ramp's factor, above 1 (default 2).
	Growth float64 `json:"growth"`
	// StepDuration and StepRequests bound each step: it ends after
	// StepDuration, after StepRequests requests, or whichever comes first
	// when both are set (default: 20 s when neither is).
	StepDuration run.Seconds `json:"step_duration,omitzero"`
	StepRequests int         `json:"step_requests,omitempty"`
	// MinStepRequests lengthens every step so that it sends at least this
	// many requests: StepRequests is raised to it, and StepDuration to the
	// time it takes at the step's rate. Campaigns set it from the latency
	// objectives, so that no step's percentile rests on too few requests
	// (0: steps are as bounded above).
	MinStepRequests int `json:"min_step_requests,omitempty"`
	// MaxSteps caps the steps per length, warm-up not counted (default: the
	// most the ramp, the way down and the bisection can take together).
	MaxSteps int `json:"max_steps"`
	// Warmup, when set, runs a warm-up stage at StartRate for this long
	// before each length's first step; its records are marked warm-up and
	// it is not judged.
	Warmup run.Seconds `json:"warmup,omitzero"`
	// EarlyStop ends a clearly failing step before its bounds.
	EarlyStop EarlyStop `json:"early_stop"`
}

// WithDefaults returns the spec with every zero field set to its default.
// The default MaxSteps is the worst case of the search (WorstCase), so that
// it never cuts a search short and the cap recorded in a manifest is the
// most steps a length can take.
func (s SearchSpec) WithDefaults() SearchSpec { return s.withDefaultsBut(true) }

// withDefaultsBut is WithDefaults; without maxSteps, a zero MaxSteps stays
// 0 (a spec that is not valid has no worst case to walk).
func (s SearchSpec) withDefaultsBut(maxSteps bool) SearchSpec {
	if s.StartRate == 0 {
		s.StartRate = DefaultSearchStartRate
	}
	if s.Resolution == 0 {
		s.Resolution = DefaultSearchResolution
	}
	if s.Growth == 0 {
		s.Growth = DefaultSearchGrowth
	}
	if s.MinRate == 0 && s.Growth > 1 {
		s.MinRate = s.StartRate / math.Pow(s.Growth, DefaultSearchDownSteps)
	}
	if s.StepDuration == 0 && s.StepRequests == 0 {
		s.StepDuration = run.Seconds(DefaultSearchStepDuration)
	}
	if s.MaxSteps == 0 && maxSteps {
		s.MaxSteps = s.worstCaseSteps()
	}
	s.EarlyStop = s.EarlyStop.WithDefaults()
	return s
}

// maxStepsCap is a cap no search reaches: the whole ramp, the whole way
// down, and a bisection of one Growth factor to Resolution, plus one for
// rounding. WorstCase walks the search under it to find the real worst
// case. It assumes valid fields.
func (s SearchSpec) maxStepsCap() int {
	if !(s.Growth > 1) || !(s.StartRate > 0) || !(s.MaxRate >= s.StartRate) || !(s.Resolution > 0) {
		return 1
	}
	up := int(math.Ceil(math.Log(s.MaxRate/s.StartRate)/math.Log(s.Growth)-1e-9)) + 1
	down := 0
	if s.MinRate > 0 && s.MinRate < s.StartRate {
		down = int(math.Floor(math.Log(s.StartRate/s.MinRate)/math.Log(s.Growth) + 1e-9))
	}
	bisect := max(0, int(math.Ceil(math.Log2(math.Log(s.Growth)/math.Log1p(s.Resolution))-1e-9)))
	return min(up+down+bisect+1, 1000)
}

// Validate reports the first problem with the spec (defaults applied),
// phrased for the user, as a *FieldError naming the field.
func (s SearchSpec) Validate() error {
	s = s.withDefaultsBut(false)
	bad := func(field, format string, args ...any) error {
		return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	switch {
	case !finite(s.StartRate) || s.StartRate <= 0:
		return bad("start_rate", "must be above 0 requests per second, got %g", s.StartRate)
	case !finite(s.MaxRate) || s.MaxRate <= 0:
		return bad("max_rate", "give the highest rate to try, above 0 requests per second (got %g)", s.MaxRate)
	case s.MaxRate < s.StartRate:
		return bad("max_rate", "%g is below start_rate %g", s.MaxRate, s.StartRate)
	case !finite(s.Growth) || s.Growth <= 1 || s.Growth > 100:
		return bad("growth", "the ramp's factor must be above 1 and at most 100, got %g", s.Growth)
	case !finite(s.MinRate) || s.MinRate <= 0 || s.MinRate > s.StartRate:
		return bad("min_rate", "must be above 0 and at most start_rate %g, got %g", s.StartRate, s.MinRate)
	case !finite(s.Resolution) || s.Resolution < 0.01 || s.Resolution >= 1:
		return bad("resolution", "must be in [0.01, 1), such as 0.1 for 10%%, got %g", s.Resolution)
	case s.StepDuration < 0:
		return bad("step_duration", "must not be negative, got %s", s.StepDuration.Duration())
	case s.StepRequests < 0:
		return bad("step_requests", "must not be negative, got %d", s.StepRequests)
	case s.MaxSteps < 0:
		return bad("max_steps", "must not be negative, got %d", s.MaxSteps)
	case s.Warmup < 0:
		return bad("warmup", "must not be negative, got %s", s.Warmup.Duration())
	}
	return s.EarlyStop.Validate()
}

// Defaults of EarlyStop.
const (
	DefaultEarlyStopMinCompletions = 12
	DefaultEarlyStopMaxErrorShare  = 0.5
	DefaultEarlyStopTTFTGrowth     = 3.0
)

// EarlyStop says when a step is clearly failing and ends before its
// bounds. It is checked as requests complete, once at least MinCompletions
// requests of the step have completed:
//
//   - errors: more than MaxErrorShare of the completed requests failed (any
//     error class but "canceled", which the search causes itself);
//   - rising ttft: among the completed requests with a ttft, in completion
//     order, the median ttft of the last third is more than TTFTGrowth times
//     the median of the first third, and also above TTFTLimit when one is
//     given (the latency objective: a queue that grows but still meets the
//     objective does not end the step). Each third must hold at least 3
//     requests.
//
// The step then stops sending; its requests in flight still finish (within
// the dispatcher's grace period) and are recorded, and the step counts as a
// fail with the rule that fired as its reason. Zero fields take the
// defaults; Disabled turns early stopping off, a negative TTFTGrowth turns
// the ttft rule off, and a MaxErrorShare of 1 the error rule.
type EarlyStop struct {
	Disabled bool `json:"disabled,omitempty"`
	// MinCompletions is the number of completed requests before either rule
	// is checked (default 12).
	MinCompletions int `json:"min_completions,omitempty"`
	// MaxErrorShare is the share of failed requests, in (0, 1], above which
	// a step ends (default 0.5).
	MaxErrorShare float64 `json:"max_error_share,omitempty"`
	// TTFTGrowth is the factor by which the ttft of the last third of
	// completions must exceed the first third's (default 3; negative: off).
	TTFTGrowth float64 `json:"ttft_growth,omitempty"`
	// TTFTLimit is the ttft objective; the ttft rule fires only above it
	// (0: no objective).
	TTFTLimit run.Seconds `json:"ttft_limit,omitzero"`
}

// WithDefaults returns e with every zero field set to its default.
func (e EarlyStop) WithDefaults() EarlyStop {
	if e.MinCompletions == 0 {
		e.MinCompletions = DefaultEarlyStopMinCompletions
	}
	if e.MaxErrorShare == 0 {
		e.MaxErrorShare = DefaultEarlyStopMaxErrorShare
	}
	if e.TTFTGrowth == 0 {
		e.TTFTGrowth = DefaultEarlyStopTTFTGrowth
	}
	return e
}

// Validate reports the first problem with e (defaults applied), as a
// *FieldError naming the field below early_stop.
func (e EarlyStop) Validate() error {
	e = e.WithDefaults()
	bad := func(field, format string, args ...any) error {
		return &FieldError{Field: "early_stop." + field, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case e.MinCompletions < 1:
		return bad("min_completions", "must be at least 1, got %d", e.MinCompletions)
	case !(e.MaxErrorShare > 0 && e.MaxErrorShare <= 1):
		return bad("max_error_share", "must be in (0, 1], got %g", e.MaxErrorShare)
	case math.IsNaN(e.TTFTGrowth) || math.IsInf(e.TTFTGrowth, 0) || (e.TTFTGrowth > 0 && e.TTFTGrowth <= 1):
		return bad("ttft_growth", "must be above 1 (or negative to turn the rule off), got %g", e.TTFTGrowth)
	case e.TTFTLimit < 0:
		return bad("ttft_limit", "must not be negative, got %s", e.TTFTLimit.Duration())
	}
	return nil
}

// SearchStep is the step a StepJudge judges.
type SearchStep struct {
	// Length is the prompt length searched.
	Length int
	// Index is the step's number within the length's search, from 0.
	Index int
	// Stage and StageLabel are the stage index and label of its records.
	Stage      int
	StageLabel string
	// Phase is SearchRamp, SearchDown or SearchBisect.
	Phase string
	// Rate is the rate probed, in requests per second.
	Rate float64
	// Started and Ended are when the step began sending and when its last
	// request completed.
	Started, Ended time.Time
}

// StepVerdict is a StepJudge's answer: whether the step held every objective
// and, when it did not, why (such as "ttft p95 2.3s > 2s").
//
// Unresolved says the step's records cannot tell (too few requests for a
// percentile, a client that fell behind its schedule): the step is not
// held, so the search goes on below it, but it is no measured limit
// either: when it stays the first failure, the length's result is
// unresolved with Reason saying why. Pass is then ignored.
type StepVerdict struct {
	Pass       bool
	Reason     string
	Unresolved bool
}

// StepJudge judges one completed step from its records (every request of the
// step, failed ones included, in completion order). Campaigns judge with
// reports: latency percentiles, error rate and accuracy against the
// objectives. It is not called for a step that ended early, which fails.
type StepJudge func(step SearchStep, records []run.Record) StepVerdict

// Searcher runs envelope searches against one target, writing every step's
// records to one sink. Stage indices and record sequence numbers continue
// across its searches, so each step is its own stage in reports and every
// record is unique. A Searcher runs one search at a time.
type Searcher struct {
	target Target
	spec   SearchSpec
	judge  StepJudge
	cfg    runConfig
	sink   *searchSink
	stage  int
	seq    int64
}

// NewSearcher returns a Searcher. opts are those of NewDispatcher (Model,
// Observe, Score, ScoreCalibration, NonceSalt, MaxInFlight, Grace,
// SpinWindow); observers are told about each step as a stage with its own
// index.
func NewSearcher(target Target, spec SearchSpec, judge StepJudge, sink run.Sink, opts ...Option) (*Searcher, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	if judge == nil {
		return nil, errors.New("search: no judge to say whether a step passes")
	}
	cfg := defaultRunConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.shard.sharded() {
		return nil, errShardedSearch
	}
	cfg.drawNonceSalt() // one salt for every search of the Searcher
	if _, err := newDispatcher(target, []corpus.Case{{}}, sink, cfg); err != nil {
		return nil, err
	}
	return &Searcher{
		target: target,
		spec:   spec.WithDefaults(),
		judge:  judge,
		cfg:    cfg,
		sink:   &searchSink{inner: sink},
	}, nil
}

// NumberFrom makes the next step's stage index stage and the next record's
// sequence number seq+1, for a search that follows other stages in the same
// records file.
func (s *Searcher) NumberFrom(stage int, seq int64) { s.stage, s.seq = stage, seq }

// NextStage is the stage index the next step will have.
func (s *Searcher) NextStage() int { return s.stage }

// LastSeq is the sequence number of the last request sent.
func (s *Searcher) LastSeq() int64 { return s.seq }

// Spec is the search's spec with defaults applied.
func (s *Searcher) Spec() SearchSpec { return s.spec }

// Search runs one search per distinct prompt length among cases, shortest
// first; each length's steps cycle through that length's cases in their
// order. It returns the results of the lengths searched so far together with
// an error when ctx ends (the interrupted step is among the steps, failed
// with reason "interrupted") or a record cannot be written.
func Search(ctx context.Context, target Target, cases []corpus.Case, spec SearchSpec, judge StepJudge, sink run.Sink, opts ...Option) ([]run.SearchResult, error) {
	s, err := NewSearcher(target, spec, judge, sink, opts...)
	if err != nil {
		return nil, err
	}
	return s.SearchAll(ctx, cases)
}

// SearchAll searches each distinct length among cases, shortest first (see
// Search).
func (s *Searcher) SearchAll(ctx context.Context, cases []corpus.Case) ([]run.SearchResult, error) {
	groups := searchByLength(cases)
	if len(groups) == 0 {
		return nil, errors.New("search: no cases to send: the corpus matrix is empty")
	}
	out := make([]run.SearchResult, 0, len(groups))
	for _, g := range groups {
		res, err := s.SearchLength(ctx, g)
		if res != nil {
			out = append(out, *res)
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// searchByLength groups cases by Length, shortest first, keeping their order.
func searchByLength(cases []corpus.Case) [][]corpus.Case {
	idx := map[int]int{}
	var groups [][]corpus.Case
	for _, c := range cases {
		i, ok := idx[c.Length]
		if !ok {
			i = len(groups)
			idx[c.Length] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], c)
	}
	slices.SortStableFunc(groups, func(a, b []corpus.Case) int { return a[0].Length - b[0].Length })
	return groups
}

// SearchLength searches one length: every case must have the same Length.
// See Search for what it returns on interruption.
func (s *Searcher) SearchLength(ctx context.Context, cases []corpus.Case) (*run.SearchResult, error) {
	if len(cases) == 0 {
		return nil, errors.New("search: no cases to send: the corpus matrix is empty")
	}
	length := cases[0].Length
	for _, c := range cases[1:] {
		if c.Length != length {
			return nil, fmt.Errorf("search: one search covers one prompt length, but the cases hold %d and %d tokens; use SearchAll", length, c.Length)
		}
	}
	d, err := newDispatcher(s.target, cases, s.sink, s.cfg)
	if err != nil {
		return nil, err
	}
	res := &run.SearchResult{Length: length}
	if s.spec.Warmup > 0 {
		st, _, err := s.runStep(ctx, d, length, s.spec.StartRate, SearchWarmup, -1)
		res.Steps = append(res.Steps, st)
		res.Requests += st.Requests
		if err != nil {
			res.Reason = "interrupted during the warm-up"
			return res, err
		}
	}
	var stepErr error
	b := newSearchBracket(s.spec)
	probe := func(index int, rate float64, phase string) (bool, error) {
		st, recs, err := s.runStep(ctx, d, length, rate, phase, index)
		if err == nil && !st.EndedEarly {
			step := SearchStep{
				Length: length, Index: index, Stage: st.Stage, StageLabel: st.StageLabel,
				Phase: phase, Rate: rate,
			}
			if len(recs) > 0 {
				step.Started, step.Ended = recs[0].ScheduledAt, recs[0].ScheduledAt
				for _, r := range recs {
					step.Started = minTime(step.Started, r.ScheduledAt)
					step.Ended = maxTime(step.Ended, r.SentAt.Add(r.E2E.Duration()))
				}
			}
			v := s.judge(step, recs)
			st.Pass, st.Reason = v.Pass, v.Reason
			if !v.Pass && st.Reason == "" {
				st.Reason = "failed the objectives"
			}
			if v.Unresolved {
				// Not held, so the search looks below it; but not a
				// measured limit either: if it stays the first failure,
				// the search is unresolved (see below).
				st.Pass, st.Unresolved = false, true
				if st.Reason == "" {
					st.Reason = "the step's records cannot tell"
				}
			}
		}
		if err != nil {
			st.Pass, st.Reason = false, "interrupted"
			if ctx.Err() == nil {
				st.Reason = "stopped: " + err.Error()
			}
			stepErr = err
		}
		res.Steps = append(res.Steps, st)
		res.Requests += st.Requests
		return st.Pass, err
	}
	if err := b.run(probe); err != nil {
		b.finish(res)
		res.Resolved, res.Reason = false, res.Steps[len(res.Steps)-1].Reason
		return res, stepErr
	}
	b.finish(res)
	for _, st := range res.Steps {
		if st.Unresolved && st.Rate == res.FirstFail {
			res.Resolved = false
			res.Reason = fmt.Sprintf("unresolved at %s/s (counted as not held; the limit may be higher): %s", stageFmtRate(st.Rate), st.Reason)
		}
	}
	return res, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// searchLabel is a step's stage label, such as "search len=4k rate=12.5/s".
func searchLabel(length int, rate float64, warmup bool) string {
	l := "search len=" + corpus.FormatLength(length) + " rate=" + stageFmtRate(rate) + "/s"
	if warmup {
		l = "warmup " + l
	}
	return l
}

// stepStage is the stage of one step at rate (or of the warm-up before a
// length's first step): what the search sends and what its worst case
// counts.
func (s SearchSpec) stepStage(length int, rate float64, warmup bool) Stage {
	st := Stage{
		Kind:     StageConstant,
		Rate:     rate,
		Duration: s.StepDuration,
		Requests: s.StepRequests,
		Label:    searchLabel(length, rate, warmup),
		Warmup:   warmup,
	}
	if warmup {
		st.Duration, st.Requests = s.Warmup, 0
		return st
	}
	if n := s.MinStepRequests; n > 0 {
		if st.Requests > 0 {
			st.Requests = max(st.Requests, n)
		}
		// n requests at rate take (n-1)/rate from the first send; the
		// stage ends once its duration has passed, so one interval more.
		if need := run.Seconds(math.Ceil(float64(n)/rate*1e3) * float64(time.Millisecond)); st.Duration > 0 && st.Duration < need {
			st.Duration = need
		}
	}
	return st
}

// errSearchEarlyStop is the cause of a step's context when EarlyStop ended it.
var errSearchEarlyStop = errors.New("the step is clearly failing")

// runStep runs one step at rate as its own stage through d, and returns its
// result (Pass not yet judged) and records. A step EarlyStop ended is not an
// error. index is -1 for the warm-up.
func (s *Searcher) runStep(ctx context.Context, d *Dispatcher, length int, rate float64, phase string, index int) (run.SearchStepResult, []run.Record, error) {
	warmup := phase == SearchWarmup
	st := s.spec.stepStage(length, rate, warmup)
	res := run.SearchStepResult{Index: index, Stage: s.stage, StageLabel: st.Label, Phase: phase, Rate: rate}

	stepCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	rules := s.spec.EarlyStop
	if warmup {
		rules.Disabled = true
	}
	w := &searchWatch{rules: rules, stop: stop, nextCheck: rules.MinCompletions}
	s.sink.watch = w
	stage := s.stage
	s.stage++
	d.seq.Store(s.seq)
	start := time.Now()
	err := d.RunFrom(stepCtx, stage, Schedule{st})
	res.Duration = run.Seconds(time.Since(start))
	s.seq = d.seq.Load()
	s.sink.watch = nil

	recs, errs, early := w.result()
	res.Requests, res.Errors = len(recs), errs
	if early != "" && ctx.Err() == nil && errors.Is(context.Cause(stepCtx), errSearchEarlyStop) {
		res.EndedEarly, res.Reason = true, early
		err = nil
	}
	if err != nil {
		return res, recs, fmt.Errorf("search at %s tokens, %s requests/s: %w", corpus.FormatLength(length), stageFmtRate(rate), err)
	}
	return res, recs, nil
}
