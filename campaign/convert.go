package campaign

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/endpoint"
	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
	"github.com/needlestorm/needlestorm/sim"
)

// TargetSpec is one target ready for the other packages.
type TargetSpec struct {
	// Config is the target's loadgen configuration. For a sim target,
	// Kind is openai and BaseURL is empty: the caller starts Sim and sets
	// BaseURL to its URL (and Model, when empty, to its model).
	Config endpoint.TargetConfig
	// Price is per million tokens in Currency (zero when not given).
	Price    reports.Price
	Currency string
	// ContextWindow is the declared window in tokens (0: not declared; for
	// a sim target, the simulator's own window).
	ContextWindow int
	// SimProfile and Sim are set for a sim target: the profile's name and
	// its configuration with the campaign's overrides and time scale.
	SimProfile string
	Sim        *sim.Config
	// TimeScale is the simulator's time scale (sim targets only).
	TimeScale float64
}

// IsSim reports whether the target is the built-in simulator.
func (t TargetSpec) IsSim() bool { return t.Sim != nil }

// SearchSpec is what an envelope search is asked for. Each probed step is a
// constant-rate stage (Step) at the rate the search chooses: an exponential
// ramp from StartRate (doubling) up to MaxRate, then bisection between the
// last passing and the first failing rate until they are within
// Resolution of each other.
type SearchSpec struct {
	StartRate  float64
	MaxRate    float64
	Resolution float64
	// StepDuration and StepRequests bound each step (either may be 0).
	StepDuration time.Duration
	StepRequests int
	// MaxSteps caps the steps per length (0: no cap beyond the worst case
	// of the ramp and the bisection).
	MaxSteps int
	// Warmup is the warm-up before the first step (0: none).
	Warmup time.Duration
}

// Step returns the stage that probes rate.
func (s SearchSpec) Step(rate float64) loadgen.Stage {
	return loadgen.Stage{Kind: loadgen.StageConstant, Rate: rate, Duration: run.Seconds(s.StepDuration), Requests: s.StepRequests}
}

// RampRates are the rates of the exponential ramp: StartRate doubled until
// MaxRate (which is always the last).
func (s SearchSpec) RampRates() []float64 {
	var out []float64
	for r := s.StartRate; r < s.MaxRate && len(out) < 64; r *= 2 {
		out = append(out, r)
	}
	return append(out, s.MaxRate)
}

// BisectionSteps is the most bisection steps after the ramp: halving an
// interval [r, 2r] until its width is within Resolution of r.
func (s SearchSpec) BisectionSteps() int {
	if s.Resolution <= 0 || s.Resolution >= 1 {
		return 0
	}
	return int(math.Ceil(math.Log2(1 / s.Resolution)))
}

// WorstCaseSteps is the most steps the search takes for one length: every
// ramp step, then every bisection step, capped by MaxSteps.
func (s SearchSpec) WorstCaseSteps() int {
	n := len(s.RampRates()) + s.BisectionSteps()
	if s.MaxSteps > 0 {
		n = min(n, s.MaxSteps)
	}
	return n
}

// Matrix is the campaign's corpus matrix, defaults applied; a relative
// dir: haystack is made absolute against the campaign file's folder.
func (c *Campaign) Matrix() corpus.Matrix {
	k := c.Corpus
	m := corpus.Matrix{
		Tasks:        slices.Clone(k.Tasks),
		Depths:       slices.Clone(k.Depths),
		Samples:      max(k.Samples, 1),
		Haystack:     k.Haystack,
		Encoding:     k.Encoding,
		Seed:         DefaultSeed,
		Canaries:     k.Canaries,
		SharedPrefix: k.SharedPrefix,
		ValueKind:    k.ValueKind,
		Keys:         k.Keys,
	}
	if len(m.Tasks) == 0 {
		m.Tasks = []string{corpus.TaskSingle}
	}
	if len(m.Depths) == 0 {
		m.Depths = slices.Clone(corpus.DefaultDepths)
	}
	if m.Haystack == "" {
		m.Haystack = corpus.DefaultHaystack
	}
	if m.Encoding == "" {
		m.Encoding = corpus.DefaultEncoding
	}
	if k.Seed != nil {
		m.Seed = *k.Seed
	}
	for _, l := range k.Lengths {
		m.Lengths = append(m.Lengths, int(l))
	}
	if dir, ok := strings.CutPrefix(m.Haystack, corpus.HaystackDirPrefix); ok {
		m.Haystack = corpus.HaystackDirPrefix + c.resolve(dir)
	}
	return m
}

// Repeats is how many times each case is sent in each stage (default 1).
// See Schedule for how it sets the stages' request counts.
func (c *Campaign) Repeats() int { return max(c.Corpus.Repeats, 1) }

// RepeatsGiven reports whether corpus.repeats (or --repeats) was given: every
// explicit stage then sends each case exactly Repeats times.
func (c *Campaign) RepeatsGiven() bool { return c.Corpus.Repeats > 0 }

// Cases is the number of cases the matrix holds (tasks × lengths × depths ×
// samples, repeated entries counted once); 0 when the matrix is not valid.
func (c *Campaign) Cases() int { return c.cases() }

// LengthBasis is client (lengths count client tokens; the default) or
// server (haystacks are sized so the server counts the length).
func (c *Campaign) LengthBasis() string {
	if c.Corpus.LengthBasis == "" {
		return BasisClient
	}
	return c.Corpus.LengthBasis
}

// Seed is the corpus seed (default 1), also the run's seed for Poisson
// stages.
func (c *Campaign) Seed() int64 {
	if c.Corpus.Seed != nil {
		return *c.Corpus.Seed
	}
	return DefaultSeed
}

// cases is the number of cases the matrix holds (tasks × lengths × depths ×
// samples, repeated entries counted once).
func (c *Campaign) cases() int {
	specs, err := c.Matrix().Specs()
	if err != nil {
		return 0
	}
	return len(specs)
}

// Targets are the campaign's targets, in file order.
func (c *Campaign) Targets() []TargetSpec {
	out := make([]TargetSpec, 0, len(c.TargetList))
	for _, t := range c.TargetList {
		ts := TargetSpec{
			Config: endpoint.TargetConfig{
				Name:           t.Name,
				Kind:           t.Kind,
				BaseURL:        t.BaseURL,
				Model:          t.Model,
				APIKeyEnv:      t.APIKeyEnv,
				MaxTokens:      t.MaxTokens,
				Temperature:    t.Temperature,
				Headers:        cloneMap(t.Headers),
				ExtraBody:      cloneMap(t.ExtraBody),
				Timeout:        t.Timeout.D(),
				ConnectTimeout: t.ConnectTimeout.D(),
			},
			Price:         t.Prices,
			Currency:      t.Currency,
			ContextWindow: t.ContextWindow,
		}
		if ts.Currency == "" {
			ts.Currency = DefaultCurrency
		}
		if t.Kind == KindSim {
			ts.Config.Kind = endpoint.KindOpenAI
			ts.SimProfile = t.SimProfile
			if ts.SimProfile == "" {
				ts.SimProfile = DefaultSimProfile
			}
			if cfg, err := sim.Profile(ts.SimProfile); err == nil {
				if t.Sim.apply(&cfg) == nil {
					if t.TimeScale != nil {
						cfg.TimeScale = *t.TimeScale
					}
					ts.Sim = &cfg
					ts.TimeScale = cfg.TimeScale
					if ts.ContextWindow == 0 {
						ts.ContextWindow = cfg.ContextWindow
					}
				}
			}
		}
		out = append(out, ts)
	}
	return out
}

func cloneMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// stage converts one stage of the file.
func (s Stage) stage() loadgen.Stage {
	return loadgen.Stage{
		Kind:        s.Kind,
		Rate:        s.Rate,
		ToRate:      s.ToRate,
		Period:      run.Seconds(s.Period),
		Amplitude:   s.Amplitude,
		Concurrency: s.Concurrency,
		Duration:    run.Seconds(s.Duration),
		Requests:    s.Requests,
		Label:       s.Label,
	}
}

// Schedule is the explicit schedule, with the warm-up stage first when
// load.warmup is set. It is nil in search mode (see Search).
//
// Repeats: every stage sends each case Repeats times, in order (the whole
// matrix, then again), so that consistency over repeats can be measured.
// A stage with neither a duration nor a request count sends cases ×
// Repeats requests (Repeats defaults to 1). When corpus.repeats is given,
// so does a stage with a duration only: the duration then caps the stage
// (Validate refuses one whose duration is known to end it before every
// repeat is sent). A stage with its own request count and corpus.repeats
// together are refused: the two would set the same count.
func (c *Campaign) Schedule() loadgen.Schedule { return c.scheduleFor(c.cases()) }

// scheduleFor is the schedule for a target sent cases cases (fewer than the
// matrix's when preflight left lengths out).
func (c *Campaign) scheduleFor(cases int) loadgen.Schedule {
	if len(c.Load.Stages) == 0 {
		return nil
	}
	sched := make(loadgen.Schedule, 0, len(c.Load.Stages)+1)
	for _, s := range c.Load.Stages {
		st := s.stage()
		if st.Requests == 0 && (st.Duration == 0 || c.RepeatsGiven()) {
			st.Requests = cases * c.Repeats()
		}
		sched = append(sched, st)
	}
	return sched.WithWarmup(c.Load.Warmup.D())
}

// Search is the envelope search asked for, defaults applied; nil when the
// campaign gives explicit stages. A search step with neither a duration nor
// a request count lasts DefaultStepDuration seconds.
func (c *Campaign) Search() *SearchSpec {
	s := c.Load.Search
	if s == nil {
		return nil
	}
	out := &SearchSpec{
		StartRate:    s.startRate(),
		MaxRate:      s.MaxRate,
		Resolution:   s.Resolution,
		StepDuration: s.StepDuration.D(),
		StepRequests: s.StepRequests,
		MaxSteps:     s.MaxSteps,
		Warmup:       c.Load.Warmup.D(),
	}
	if out.Resolution == 0 {
		out.Resolution = DefaultResolution
	}
	if out.StepDuration == 0 && out.StepRequests == 0 {
		out.StepDuration = DefaultStepDuration * time.Second
	}
	return out
}

func (s *Search) startRate() float64 {
	if s.StartRate == 0 {
		return DefaultStartRate
	}
	return s.StartRate
}

// Objectives are the latency, error-rate and accuracy objectives.
func (c *Campaign) Objectives() reports.Objectives {
	o := reports.Objectives{
		Latency:          slices.Clone(c.SLO.Latency),
		AccuracyRelative: c.Accuracy.Relative,
	}
	if c.SLO.ErrorRate != nil {
		r := *c.SLO.ErrorRate
		o.ErrorRate = &r
	}
	o.Accuracy = reports.DefaultAccuracy
	if c.Accuracy.Threshold != nil {
		o.Accuracy = *c.Accuracy.Threshold
	}
	if c.Require != "" {
		if req, err := reports.ParseRequirement(c.Require); err == nil {
			o.Requirement = &req
		}
	}
	return o
}

// Prices are the prices of the targets that give any, by target name.
func (c *Campaign) Prices() reports.Prices {
	p := reports.Prices{}
	for _, t := range c.TargetList {
		if !priced(&t) {
			continue
		}
		if p.Targets == nil {
			p.Targets = map[string]reports.Price{}
			p.Currency = t.Currency
			if p.Currency == "" {
				p.Currency = DefaultCurrency
			}
		}
		p.Targets[t.Name] = t.Prices
	}
	return p
}

// OutputDir is the run folder: output.dir, or runs/<name>-<timestamp> with
// the campaign's name made safe for a file name.
func (c *Campaign) OutputDir(now time.Time) string {
	if c.Output.Dir != "" {
		return c.Output.Dir
	}
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '-'
	}, c.Name)
	name = strings.Trim(name, "-.")
	if name == "" {
		name = "campaign"
	}
	return "runs/" + name + "-" + now.Format("20060102-150405")
}
