package loadgen

import "time"

// SearchWorstCase is the most the search of one length can send and take:
// its warm-up, then the worst of every way the verdicts can lead it
// through the ramp, the way down and the bisection, within MaxSteps. A
// search whose steps end early sends less.
type SearchWorstCase struct {
	// Steps is the most judged steps (the warm-up is not one).
	Steps int
	// Requests and Duration are the most requests and the longest time,
	// the warm-up's included, each the worst over every way the search
	// can go.
	Requests int64
	Duration time.Duration
	// Warmup is the warm-up stage's part (zero without a warm-up). The
	// search runs it before every length.
	Warmup Estimate
}

// WorstCase is the worst case of the search of one length (every length
// searched has the same: the rates do not depend on the length). The
// spec's defaults are applied; it should be valid (see Validate).
func (s SearchSpec) WorstCase() SearchWorstCase {
	s = s.WithDefaults()
	var w SearchWorstCase
	if s.Warmup > 0 {
		w.Warmup = s.stepStage(0, s.StartRate, true).Estimate(0)
	}
	steps := map[float64]Estimate{}
	step := func(rate float64) Estimate {
		e, ok := steps[rate]
		if !ok {
			e = s.stepStage(0, rate, false).Estimate(0)
			steps[rate] = e
		}
		return e
	}
	s.walk(func(rates []float64) {
		var n int64
		var d time.Duration
		for _, r := range rates {
			e := step(r)
			n, d = n+e.Requests, d+e.Duration
		}
		w.Steps, w.Requests, w.Duration = max(w.Steps, len(rates)), max(w.Requests, n), max(w.Duration, d)
	})
	w.Requests += w.Warmup.Requests
	w.Duration += w.Warmup.Duration
	return w
}

// worstCaseSteps is the most steps a search can take for one length,
// found by walking it under maxStepsCap. It assumes the other defaults are
// applied.
func (s SearchSpec) worstCaseSteps() int {
	s.MaxSteps = s.maxStepsCap()
	most := 1
	s.walk(func(rates []float64) { most = max(most, len(rates)) })
	return most
}

// walk calls visit with the rates probed along every way the search can
// go, each verdict either way, within MaxSteps (defaults applied). rates
// is only valid during the call.
func (s SearchSpec) walk(visit func(rates []float64)) {
	var from func(b searchBracket, rates []float64)
	from = func(b searchBracket, rates []float64) {
		rate, _, ok := b.next()
		if !ok {
			visit(rates)
			return
		}
		rates = append(rates, rate)
		for _, pass := range []bool{true, false} {
			next := b
			next.record(pass)
			from(next, rates)
		}
	}
	from(*newSearchBracketOf(s), nil)
}
