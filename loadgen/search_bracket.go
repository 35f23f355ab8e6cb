package loadgen

import (
	"github.com/needlestorm/needlestorm/run"

	"fmt"
	"math"
	"strconv"
)

// searchBracket is the search's decision procedure, apart from sending
// anything: which rate to probe next given the verdicts so far (see
// SearchSpec for the rules). It is deterministic given the verdicts.
type searchBracket struct {
	spec SearchSpec // defaults applied
	// pass is the highest passing rate, fail the lowest failing one (0:
	// none yet).
	pass, fail float64
	steps      int
	resolved   bool
	reason     string
}

func newSearchBracket(spec SearchSpec) *searchBracket {
	return &searchBracket{spec: spec.WithDefaults()}
}

// searchProbe probes one rate and says whether it passed; step is the
// step's index within the search.
type searchProbe func(step int, rate float64, phase string) (bool, error)

// run probes rates until the search is over, and returns the first error a
// probe returns.
func (b *searchBracket) run(probe searchProbe) error {
	sp := b.spec
	rate, phase := sp.StartRate, SearchRamp
	for {
		if b.steps >= sp.MaxSteps {
			b.reason = fmt.Sprintf("stopped after max_steps=%d steps before the rate was pinned down to %s", sp.MaxSteps, searchPercent(sp.Resolution))
			return nil
		}
		ok, err := probe(b.steps, rate, phase)
		b.steps++
		if err != nil {
			return err
		}
		if ok {
			b.pass = max(b.pass, rate)
		} else if b.fail == 0 || rate < b.fail {
			b.fail = rate
		}
		switch phase {
		case SearchRamp:
			if ok {
				if rate >= sp.MaxRate {
					b.resolved = true
					b.reason = fmt.Sprintf("held at max_rate %s/s, the highest rate tried", stageFmtRate(sp.MaxRate))
					return nil
				}
				rate = min(searchRound(rate*sp.Growth), sp.MaxRate)
				continue
			}
			if b.pass == 0 {
				phase = SearchDown
				if rate, ok = b.down(rate); !ok {
					return nil
				}
				continue
			}
		case SearchDown:
			if !ok {
				if rate, ok = b.down(rate); !ok {
					return nil
				}
				continue
			}
		}
		// Bisect between pass and fail.
		phase = SearchBisect
		if (b.fail-b.pass)/b.pass <= sp.Resolution*(1+1e-9) {
			b.resolved = true
			b.reason = fmt.Sprintf("resolved: %s/s held and %s/s failed, within %s", stageFmtRate(b.pass), stageFmtRate(b.fail), searchPercent(sp.Resolution))
			return nil
		}
		mid := searchRound(math.Sqrt(b.pass * b.fail))
		if mid <= b.pass || mid >= b.fail {
			b.resolved = true
			b.reason = fmt.Sprintf("resolved: %s/s held and %s/s failed, as close as rates are rounded", stageFmtRate(b.pass), stageFmtRate(b.fail))
			return nil
		}
		rate = mid
	}
}

// down is the next rate on the way down from a failing rate, or false (with
// the reason set) when it would be below MinRate.
func (b *searchBracket) down(rate float64) (float64, bool) {
	next := searchRound(rate / b.spec.Growth)
	if next < b.spec.MinRate*(1-1e-9) {
		b.reason = fmt.Sprintf("no rate held, down to %s/s (min_rate %s/s)", stageFmtRate(rate), stageFmtRate(b.spec.MinRate))
		return 0, false
	}
	return next, true
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
