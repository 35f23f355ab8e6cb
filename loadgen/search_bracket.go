package loadgen

import (
	"github.com/needlestorm/needlestorm/run"

	"fmt"
	"math"
	"strconv"
)

// searchBracket is the search's decision procedure, apart from sending
// anything: which rate to probe next given the verdicts so far (see
// SearchSpec for the rules). It is a small state machine (next, then
// record the verdict), deterministic given the verdicts, so that the
// search runs it and its worst case (SearchSpec.WorstCase) walks every way
// through it. A copy of a bracket continues on its own.
type searchBracket struct {
	spec SearchSpec // defaults applied
	// pass is the highest passing rate, fail the lowest failing one (0:
	// none yet).
	pass, fail float64
	steps      int
	// rate and phase are the next probe's.
	rate  float64
	phase string
	// over is set once the search has ended, resolved or not, with reason.
	over     bool
	resolved bool
	reason   string
}

func newSearchBracket(spec SearchSpec) *searchBracket {
	return newSearchBracketOf(spec.WithDefaults())
}

// newSearchBracketOf is newSearchBracket for a spec whose defaults are
// already applied.
func newSearchBracketOf(spec SearchSpec) *searchBracket {
	return &searchBracket{spec: spec, rate: spec.StartRate, phase: SearchRamp}
}

// searchProbe probes one rate and says whether it passed; step is the
// step's index within the search.
type searchProbe func(step int, rate float64, phase string) (bool, error)

// run probes rates until the search is over, and returns the first error a
// probe returns.
func (b *searchBracket) run(probe searchProbe) error {
	for {
		rate, phase, ok := b.next()
		if !ok {
			return nil
		}
		pass, err := probe(b.steps, rate, phase)
		if err != nil {
			b.steps++
			return err
		}
		if b.over { // the probe ended the search (an unresolved step)
			b.steps++
			return nil
		}
		b.record(pass)
	}
}

// next is the rate and phase to probe next, or false when the search is
// over (max_steps reached included).
func (b *searchBracket) next() (float64, string, bool) {
	if !b.over && b.steps >= b.spec.MaxSteps {
		b.end(false, "stopped after max_steps=%d steps before the rate was pinned down to %s", b.spec.MaxSteps, searchPercent(b.spec.Resolution))
	}
	return b.rate, b.phase, !b.over
}

// record takes the verdict of the probe next returned and chooses the one
// after it.
func (b *searchBracket) record(ok bool) {
	sp := b.spec
	rate := b.rate
	b.steps++
	if ok {
		b.pass = max(b.pass, rate)
	} else if b.fail == 0 || rate < b.fail {
		b.fail = rate
	}
	switch {
	case b.phase == SearchRamp && ok:
		if rate >= sp.MaxRate {
			b.end(true, "held at max_rate %s/s, the highest rate tried", stageFmtRate(sp.MaxRate))
			return
		}
		b.rate = min(searchRound(rate*sp.Growth), sp.MaxRate)
		return
	case b.phase == SearchRamp && b.pass == 0, b.phase == SearchDown && !ok:
		b.phase = SearchDown
		b.down(rate)
		return
	}
	b.bisect()
}

// down moves to the next rate on the way down from a failing rate, or
// ends the search when it would be below MinRate.
func (b *searchBracket) down(rate float64) {
	next := searchRound(rate / b.spec.Growth)
	if next < b.spec.MinRate*(1-1e-9) {
		b.end(false, "no rate held, down to %s/s (min_rate %s/s)", stageFmtRate(rate), stageFmtRate(b.spec.MinRate))
		return
	}
	b.rate = next
}

// bisect moves to the geometric mean of the highest pass and the lowest
// fail, or ends the search once they are within the resolution.
func (b *searchBracket) bisect() {
	b.phase = SearchBisect
	if (b.fail-b.pass)/b.pass <= b.spec.Resolution*(1+1e-9) {
		b.end(true, "resolved: %s/s held and %s/s failed, within %s", stageFmtRate(b.pass), stageFmtRate(b.fail), searchPercent(b.spec.Resolution))
		return
	}
	mid := searchRound(math.Sqrt(b.pass * b.fail))
	if mid <= b.pass || mid >= b.fail {
		b.end(true, "resolved: %s/s held and %s/s failed, as close as rates are rounded", stageFmtRate(b.pass), stageFmtRate(b.fail))
		return
	}
	b.rate = mid
}

// end ends the search with its outcome.
func (b *searchBracket) end(resolved bool, format string, args ...any) {
	b.over, b.resolved, b.reason = true, resolved, fmt.Sprintf(format, args...)
}

// finish fills res's outcome.
func (b *searchBracket) finish(res *run.SearchResult) {
	res.Found, res.FirstFail, res.Resolved, res.Reason = b.pass, b.fail, b.resolved, b.reason
}

// searchRound rounds a derived rate to three significant digits.
func searchRound(r float64) float64 {
	v, err := strconv.ParseFloat(strconv.FormatFloat(r, 'g', 3, 64), 64)
	if err != nil {
		return r
	}
	return v
}

func searchPercent(f float64) string { return strconv.FormatFloat(f*100, 'g', 3, 64) + "%" }
