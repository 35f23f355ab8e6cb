package loadgen

import (
	"math"
	"time"
)

// How an Estimate's request count was found, most certain first.
const (
	// CountExact: fixed by the stage (a request count, or a constant rate
	// over a duration, counted on the stage's own clock).
	CountExact = "exact"
	// CountExpected: the mean of a varying rate over a duration.
	CountExpected = "expected"
	// CountEstimate: a closed-loop stage's throughput, estimated by the
	// caller (such as from a simulator's model).
	CountEstimate = "estimate"
	// CountUpperBound: the most a search can send, or a closed-loop
	// stage's request cap.
	CountUpperBound = "upper bound"
	// CountUnknown: a closed-loop stage bounded by time only, with no
	// throughput estimate: its count is what the run measures.
	CountUnknown = "unknown"
)

// CountRank orders the counts from the most certain to the least.
var CountRank = []string{CountExact, CountExpected, CountEstimate, CountUpperBound, CountUnknown}

// Estimate is what a stage, or a search, will send and how long it takes,
// computed without sending anything.
type Estimate struct {
	// Requests is the number of requests, found as Count says.
	Requests int64
	Count    string
	// Duration is the expected wall time; DurationKnown is false when it
	// cannot be known before the run.
	Duration      time.Duration
	DurationKnown bool
}

// exactSendsLimit is the most sends a constant stage's estimate counts on
// the stage's clock; beyond it the count is the rate times the duration
// (off by one request at the most).
const exactSendsLimit = 100_000

// Estimate is what the stage sends and how long it lasts. throughput is
// the completed requests per second the target is expected to answer with
// Concurrency requests in flight, for a closed-loop stage (0: unknown; open
// loop ignores it).
func (s Stage) Estimate(throughput float64) Estimate {
	if s.OpenLoop() {
		return s.openEstimate()
	}
	return s.closedEstimate(throughput)
}

func (s Stage) openEstimate() Estimate {
	e := Estimate{Count: CountExact}
	dur := s.Duration.Duration()
	switch {
	case dur > 0 && s.Kind == StageConstant:
		e.Requests = s.constantSends()
	case dur > 0:
		e.Requests, e.Count = int64(math.Round(s.meanRate()*dur.Seconds())), CountExpected
	}
	if s.Requests > 0 && (dur == 0 || int64(s.Requests) <= e.Requests) {
		e.Requests, e.Count = int64(s.Requests), CountExact
	}
	e.Duration, e.DurationKnown = s.ExpectedDuration()
	return e
}

// constantSends is how many requests a constant stage sends within its
// duration (its request count aside): the stage's clock, run without
// waiting, counts them as the dispatcher will send them.
func (s Stage) constantSends() int64 {
	n := int64(math.Ceil(s.Rate*s.Duration.Duration().Seconds() - 1e-9))
	if n > exactSendsLimit {
		return n
	}
	clock, err := newStageClock(Stage{Kind: StageConstant, Rate: s.Rate, Duration: s.Duration})
	if err != nil {
		return n
	}
	var hits int64
	for _, ok := clock.next(); ok; _, ok = clock.next() {
		hits++
	}
	return hits
}

func (s Stage) closedEstimate(throughput float64) Estimate {
	dur := s.Duration.Duration()
	took := func(n int64) time.Duration { return time.Duration(float64(n) / throughput * float64(time.Second)) }
	switch {
	case s.Requests > 0 && dur == 0:
		e := Estimate{Requests: int64(s.Requests), Count: CountExact}
		if throughput > 0 {
			e.Duration, e.DurationKnown = took(e.Requests), true
		}
		return e
	case throughput > 0:
		n := int64(math.Round(throughput * dur.Seconds()))
		if s.Requests > 0 && int64(s.Requests) <= n {
			n = int64(s.Requests)
		}
		d := took(n)
		if d > dur || s.Requests == 0 {
			d = dur
		}
		return Estimate{Requests: n, Count: CountEstimate, Duration: d, DurationKnown: true}
	case s.Requests > 0:
		return Estimate{Requests: int64(s.Requests), Count: CountUpperBound, Duration: dur, DurationKnown: true}
	}
	return Estimate{Count: CountUnknown, Duration: dur, DurationKnown: true}
}

// meanRate is an open-loop stage's mean rate: a ramp's is halfway.
func (s Stage) meanRate() float64 {
	if s.Kind == StageRamp {
		return (s.Rate + s.ToRate) / 2
	}
	return s.Rate
}
