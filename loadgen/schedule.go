package loadgen

import (
	"github.com/needlestorm/needlestorm/run"

	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Stage kinds. Constant, Poisson, Ramp and Sine are open loop: requests are
// sent on schedule whatever the server does. Concurrency is closed loop:
// exactly Concurrency requests are in flight, a new one as soon as one ends.
const (
	StageConstant    = "constant"
	StagePoisson     = "poisson"
	StageRamp        = "ramp"
	StageSine        = "sine"
	StageConcurrency = "concurrency"
)

// StageKinds lists the stage kinds.
var StageKinds = []string{StageConstant, StagePoisson, StageRamp, StageSine, StageConcurrency}

// Stage is one step of a Schedule. It ends after Duration, after Requests
// requests, or at whichever comes first when both are set.
type Stage struct {
	Kind string `json:"kind"`
	// Rate is the rate in requests per second: constant, the mean of a
	// Poisson process, the start of a ramp, the mean of a sine.
	Rate float64 `json:"rate,omitempty"`
	// ToRate is the rate a ramp reaches at the end of Duration.
	ToRate float64 `json:"to_rate,omitempty"`
	// Period and Amplitude shape a sine: the rate swings between
	// Rate-Amplitude and Rate+Amplitude once every Period.
	Period    run.Seconds `json:"period,omitzero"`
	Amplitude float64     `json:"amplitude,omitempty"`
	// Concurrency is the number of requests kept in flight (closed loop).
	Concurrency int `json:"concurrency,omitempty"`
	// Duration and Requests bound the stage.
	Duration run.Seconds `json:"duration,omitzero"`
	Requests int         `json:"requests,omitempty"`
	// Label names the stage in records and reports; Label() derives one
	// ("rate=4/s") when empty.
	Label string `json:"label,omitempty"`
	// Warmup stages are recorded but left out of statistics.
	Warmup bool `json:"warmup,omitempty"`
	// Seed seeds a Poisson stage's arrivals. A Runner fills it from the run's
	// seed when zero, so the manifest always says which seed was used.
	Seed int64 `json:"seed,omitempty"`
}

// Schedule is the list of stages of a run, in order.
type Schedule []Stage

// OpenLoop reports whether the stage is paced by a rate.
func (s Stage) OpenLoop() bool { return s.Kind != StageConcurrency }

// Name returns the stage's label: Label when set, otherwise a description
// such as "rate=4/s", "poisson=4/s", "ramp=1-8/s", "sine=4±2/s/20s" or
// "concurrency=8", prefixed with "warmup " for a warm-up stage.
func (s Stage) Name() string {
	if s.Label != "" {
		return s.Label
	}
	var l string
	switch s.Kind {
	case StageConstant:
		l = "rate=" + stageFmtRate(s.Rate) + "/s"
	case StagePoisson:
		l = "poisson=" + stageFmtRate(s.Rate) + "/s"
	case StageRamp:
		l = "ramp=" + stageFmtRate(s.Rate) + "-" + stageFmtRate(s.ToRate) + "/s"
	case StageSine:
		l = "sine=" + stageFmtRate(s.Rate) + "±" + stageFmtRate(s.Amplitude) + "/s/" + s.Period.Duration().String()
	case StageConcurrency:
		l = "concurrency=" + strconv.Itoa(s.Concurrency)
	default:
		l = s.Kind
	}
	if s.Warmup {
		l = "warmup " + l
	}
	return l
}

func stageFmtRate(r float64) string { return strconv.FormatFloat(r, 'g', -1, 64) }

// AskedRate is the stage's mean rate in requests per second: the rate of
// a constant, Poisson or sine stage, the middle of a ramp, 0 for a
// closed-loop stage (which asks for a concurrency, not a rate).
func (s Stage) AskedRate() float64 {
	switch s.Kind {
	case StageConstant, StagePoisson, StageSine:
		return s.Rate
	case StageRamp:
		return (s.Rate + s.ToRate) / 2
	}
	return 0
}

// WithDefaults returns the stage with its kind filled in when it is empty:
// concurrency when only a concurrency is given, constant otherwise.
func (s Stage) WithDefaults() Stage {
	if s.Kind == "" {
		s.Kind = StageConstant
		if s.Concurrency > 0 && s.Rate == 0 {
			s.Kind = StageConcurrency
		}
	}
	return s
}

// Validate reports the first problem with the stage, phrased for the user,
// as a *FieldError naming the field. It takes the stage as it is: apply
// WithDefaults first for an empty kind.
func (s Stage) Validate() error {
	if err := s.validateBounds(); err != nil {
		return err
	}
	bad := func(field, format string, args ...any) error {
		return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	switch s.Kind {
	case StageConstant, StagePoisson:
		if s.Rate <= 0 {
			return bad("rate", "must be above 0 requests per second in a %s stage, got %g", s.Kind, s.Rate)
		}
	case StageRamp:
		if s.Rate == 0 && s.ToRate == 0 {
			return bad("to_rate", "a ramp's rates must not be both 0 (got %g to %g)", s.Rate, s.ToRate)
		}
		if s.Duration == 0 {
			return bad("duration", "a ramp needs a duration to ramp over")
		}
	case StageSine:
		if s.Rate <= 0 {
			return bad("rate", "a sine stage's mean rate must be above 0, got %g", s.Rate)
		}
		if s.Period <= 0 {
			return bad("period", "a sine stage's period must be above 0, got %s", s.Period.Duration())
		}
		if s.Amplitude >= s.Rate {
			return bad("amplitude", "must be below the mean rate %g, got %g", s.Rate, s.Amplitude)
		}
	case StageConcurrency:
		if s.Concurrency < 1 {
			return bad("concurrency", "a concurrency stage keeps at least 1 request in flight, got %d", s.Concurrency)
		}
	default:
		return bad("kind", "unknown stage kind %q (want one of %s)", s.Kind, strings.Join(StageKinds, ", "))
	}
	return nil
}

// validateBounds checks what every kind shares: finite rates of 0 or more,
// no negative bound, and a bound that ends the stage.
func (s Stage) validateBounds() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"rate", s.Rate}, {"to_rate", s.ToRate}, {"amplitude", s.Amplitude}} {
		switch {
		case math.IsNaN(f.v) || math.IsInf(f.v, 0):
			return &FieldError{Field: f.name, Msg: fmt.Sprintf("must be a finite number, got %g", f.v)}
		case f.v < 0:
			return &FieldError{Field: f.name, Msg: fmt.Sprintf("%g is negative: rates are requests per second, 0 or more", f.v)}
		}
	}
	for _, f := range []struct {
		name string
		neg  bool
	}{{"duration", s.Duration < 0}, {"requests", s.Requests < 0}, {"period", s.Period < 0}, {"concurrency", s.Concurrency < 0}} {
		if f.neg {
			return &FieldError{Field: f.name, Msg: "must not be negative"}
		}
	}
	if s.Duration == 0 && s.Requests == 0 {
		return &FieldError{Msg: fmt.Sprintf("%s stage: set a duration, a request count, or both, so the stage ends", s.Kind)}
	}
	return nil
}

// CheckInFlight refuses a closed-loop stage that would keep more requests
// in flight than maxInFlight, the dispatcher's cap (see MaxInFlight).
func (s Stage) CheckInFlight(maxInFlight int) error {
	if s.Kind == StageConcurrency && s.Concurrency > maxInFlight {
		return &FieldError{Field: "concurrency", Msg: fmt.Sprintf("%d is above the cap on requests in flight (%d); raise the cap", s.Concurrency, maxInFlight)}
	}
	return nil
}

// Validate checks every stage and that there is at least one.
func (sc Schedule) Validate() error {
	if len(sc) == 0 {
		return errors.New("the schedule has no stages: give at least one rate or a concurrency")
	}
	for i, s := range sc {
		if err := s.Validate(); err != nil {
			return fmt.Errorf("stage %d: %w", i, err)
		}
	}
	return nil
}

// Pacer returns the pacer of an open-loop stage: vegeta's ConstantPacer,
// LinearPacer (ramp) or SinePacer, or a PoissonPacer seeded with s.Seed.
func (s Stage) Pacer() (Pacer, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	switch s.Kind {
	case StageConstant:
		return vegetaRate(s.Rate), nil
	case StagePoisson:
		return NewPoissonPacer(s.Rate, s.Seed), nil
	case StageRamp:
		from := s.Rate
		if from == 0 {
			// vegeta reads a zero rate as "unlimited"; a ramp from 0 starts
			// from a negligible rate instead.
			from = 1e-3
		}
		return vegeta.LinearPacer{
			StartAt: vegetaRate(from),
			Slope:   (s.ToRate - from) / s.Duration.Duration().Seconds(),
		}, nil
	case StageSine:
		return vegeta.SinePacer{
			Period:  s.Period.Duration(),
			Mean:    vegetaRate(s.Rate),
			Amp:     vegetaRate(s.Amplitude),
			StartAt: vegeta.MeanUp,
		}, nil
	}
	return nil, fmt.Errorf("a %s stage is closed loop and has no pacer", s.Kind)
}

// vegetaRate expresses a rate in hits per second as a vegeta Rate. Fractional
// rates become one hit per interval, rounded to the nanosecond. A zero rate
// stays zero.
func vegetaRate(r float64) vegeta.Rate {
	if r <= 0 {
		return vegeta.Rate{}
	}
	if r == math.Trunc(r) && r < 1e9 {
		return vegeta.Rate{Freq: int(r), Per: time.Second}
	}
	return vegeta.Rate{Freq: 1, Per: time.Duration(math.Round(float64(time.Second) / r))}
}

// ExpectedDuration estimates how long the stage lasts: its Duration, or for a
// request-bounded open-loop stage the time its requests take at its mean
// rate. ok is false when it cannot be known (a concurrency stage bounded by
// requests only).
func (s Stage) ExpectedDuration() (d time.Duration, ok bool) {
	var byRequests time.Duration
	if s.Requests > 0 && s.OpenLoop() {
		if mean := s.meanRate(); mean > 0 {
			byRequests = time.Duration(float64(s.Requests) / mean * float64(time.Second))
		}
	}
	switch {
	case s.Duration > 0 && byRequests > 0:
		return min(s.Duration.Duration(), byRequests), true
	case s.Duration > 0:
		return s.Duration.Duration(), true
	case byRequests > 0:
		return byRequests, true
	}
	return 0, false
}

// ExpectedDuration sums the stages' expected durations; ok is false when one
// of them cannot be known.
func (sc Schedule) ExpectedDuration() (time.Duration, bool) {
	var total time.Duration
	for _, s := range sc {
		d, ok := s.ExpectedDuration()
		if !ok {
			return total, false
		}
		total += d
	}
	return total, true
}

// ConstantStages returns one constant-rate stage per rate, each bounded by
// duration and/or requests.
func ConstantStages(rates []float64, duration time.Duration, requests int) Schedule {
	sc := make(Schedule, 0, len(rates))
	for _, r := range rates {
		sc = append(sc, Stage{Kind: StageConstant, Rate: r, Duration: run.Seconds(duration), Requests: requests})
	}
	return sc
}

// WithWarmup returns the schedule with a warm-up copy of its first stage,
// lasting d, put in front. A zero d returns the schedule unchanged.
func (sc Schedule) WithWarmup(d time.Duration) Schedule {
	if d <= 0 || len(sc) == 0 {
		return sc
	}
	w := sc[0]
	w.Warmup = true
	w.Duration = run.Seconds(d)
	w.Requests = 0
	if w.Label != "" {
		w.Label = "warmup " + w.Label
	}
	if w.Kind == StageRamp {
		// Warm up at the rate the ramp starts from (or ends at, from 0).
		if w.Rate == 0 {
			w.Rate = w.ToRate
		}
		w.Kind, w.ToRate = StageConstant, 0
	}
	return append(Schedule{w}, sc...)
}

// WithSeeds returns a copy of sc in which every Poisson stage without a seed
// of its own has seed+index, so the manifest says which seeds were used.
func (sc Schedule) WithSeeds(seed int64) Schedule {
	out := append(Schedule(nil), sc...)
	for i := range out {
		if out[i].Kind == StagePoisson && out[i].Seed == 0 {
			out[i].Seed = seed + int64(i)
		}
	}
	return out
}
