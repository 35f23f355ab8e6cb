package campaign

import (
	"cmp"
	"maps"
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
	specs, err := c.matrixSpecs(c.Matrix())
	if err != nil {
		return 0
	}
	return len(specs) + len(c.DatasetCases())
}

// Targets are the campaign's targets, in file order.
func (c *Campaign) Targets() []TargetSpec {
	out := make([]TargetSpec, 0, len(c.TargetList))
	for _, t := range c.TargetList {
		ts := t.spec()
		c.withDataset(&ts)
		out = append(out, ts)
	}
	return out
}

// spec is the target ready for the other packages: its configuration as
// the file gives it (endpoint.NewTarget fills in its defaults), and for a
// sim target the simulator's configuration.
func (t Target) spec() TargetSpec {
	ts := TargetSpec{Config: t.TargetConfig, Price: t.Prices, Currency: cmp.Or(t.Currency, DefaultCurrency), ContextWindow: t.ContextWindow}
	ts.Config.Headers, ts.Config.ExtraBody = maps.Clone(t.Headers), maps.Clone(t.ExtraBody)
	if t.Kind != KindSim {
		return ts
	}
	ts.Config.Kind = endpoint.KindOpenAI
	ts.SimProfile = cmp.Or(t.SimProfile, DefaultSimProfile)
	if cfg, err := t.simConfig(); err == nil {
		ts.Sim = &cfg
		ts.TimeScale = cfg.TimeScale
		if ts.ContextWindow == 0 {
			ts.ContextWindow = cfg.ContextWindow
		}
	}
	return ts
}

// simConfig is a sim target's simulator: its profile with the file's
// overrides and time scale. The error names the override that does not
// apply (an *Error at its place) or the profile that does not exist.
func (t Target) simConfig() (sim.Config, error) {
	cfg, err := sim.Profile(cmp.Or(t.SimProfile, DefaultSimProfile))
	if err != nil {
		return cfg, err
	}
	if err := t.Sim.apply(&cfg); err != nil {
		return cfg, err
	}
	if t.TimeScale != nil {
		cfg.TimeScale = *t.TimeScale
	}
	return cfg, nil
}

// Schedule is the explicit schedule, loadgen's stage defaults applied,
// with the warm-up stage first when load.warmup is set. It is nil in search
// mode (see Search).
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
		sched = append(sched, c.stage(s, cases))
	}
	return sched.WithWarmup(c.Load.Warmup.D())
}

// stage is one stage of the file as it runs: the engine's defaults, and a
// request count of cases × Repeats where the campaign sets one.
func (c *Campaign) stage(s loadgen.Stage, cases int) loadgen.Stage {
	st := s.WithDefaults()
	if st.Requests == 0 && (st.Duration == 0 || c.RepeatsGiven()) {
		st.Requests = cases * c.Repeats()
	}
	return st
}

// Search is the envelope search asked for, loadgen's defaults applied, with
// load.warmup as its warm-up (run before every length) unless
// load.search.warmup is given, and the campaign's ttft objective, when it
// has one, as the early stop's ttft limit. It is nil when the campaign gives
// explicit stages.
func (c *Campaign) Search() *loadgen.SearchSpec {
	if c.Load.Search == nil {
		return nil
	}
	s := *c.Load.Search
	if s.Warmup == 0 {
		s.Warmup = run.Seconds(c.Load.Warmup.D())
	}
	for _, l := range c.Objectives().Latency {
		if l.Metric == reports.MetricTTFT {
			limit := run.Seconds(l.Max * float64(time.Second))
			s.EarlyStop.TTFTLimit = max(s.EarlyStop.TTFTLimit, limit)
		}
	}
	if s.MinStepRequests == 0 {
		// No step's percentile may rest on too few requests (see
		// reports.MinSamples): steps are lengthened to send enough.
		s.MinStepRequests = c.Objectives().MinStepRequests()
	}
	s = s.WithDefaults()
	return &s
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
	o.Ungated = slices.Clone(c.SLO.Ungated)
	o.SendLag = c.SLO.SendLag
	if c.Accuracy.Gate != nil && !*c.Accuracy.Gate {
		o.Ungated = append(o.Ungated, "accuracy")
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
		if !t.Prices.Given() {
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
