package reports

import (
	"fmt"
	"math"
	"strconv"
)

// The minimum-sample rule (docs/metrics.md). The p-th percentile of n values
// by nearest rank is the largest value as long as n < 100/(100-p): below
// that it says nothing the maximum does not. A percentile resting on fewer
// values than MinSamples(p) is flagged in every output, and a point whose
// latency objective rests on one is unresolved: the envelope counts it
// neither as held nor as failed, and an envelope search ends there
// unresolved (campaigns first lengthen each step so that it sends at
// least enough requests, see loadgen.SearchSpec.MinStepRequests).
const (
	// MinSamplesP95 is the fewest values a p95 rests on: 20.
	MinSamplesP95 = 20
	// MinSamplesP99 is the fewest values a p99 rests on: 100.
	MinSamplesP99 = 100
)

// MinSamples is the fewest values the p-th percentile (0 < p < 100) can
// rest on and still differ from the maximum: ceil(100/(100-p)), so 2 for
// p50, 10 for p90, MinSamplesP95 for p95, MinSamplesP99 for p99.
func MinSamples(p int) int {
	if p <= 0 || p >= 100 {
		return 1
	}
	return (100 + (100 - p) - 1) / (100 - p)
}

// MinStepRequests is the fewest requests a step must send for every
// latency objective's percentile to rest on enough values (MinSamples),
// with room for the failed requests the error-rate objective allows
// (percentiles are over successful requests): n/(1-error_rate), rounded
// up. 0 without latency objectives.
func (o Objectives) MinStepRequests() int {
	n := 0
	for _, l := range o.Latency {
		n = max(n, MinSamples(l.Percentile))
	}
	if n > 0 && o.ErrorRate != nil && *o.ErrorRate > 0 && *o.ErrorRate < 1 {
		n = int(math.Ceil(float64(n)/(1-*o.ErrorRate) - 1e-9))
	}
	return n
}

// FewSamples says whether q's p-th percentile rests on fewer values than
// MinSamples(p) (and on at least one).
func (q Quantiles) FewSamples(p int) bool { return q.N > 0 && q.N < MinSamples(p) }

// smallSampleReasons lists the latency objectives whose percentile rests
// on too few values in st.
func smallSampleReasons(st Stats, obj Objectives) []string {
	var out []string
	for _, l := range obj.Latency {
		if q := st.quantiles(l.Metric); q.FewSamples(l.Percentile) {
			noun := "values"
			if q.N == 1 {
				noun = "value"
			}
			out = append(out, fmt.Sprintf("%s rests on %d %s (minimum %d)", l.Name(), q.N, noun, MinSamples(l.Percentile)))
		}
	}
	return out
}

// markSmallSamples marks unresolved every passing point whose latency
// objective rests on too few values. A failing one stays failed: the
// envelope never claims a rate held on too few values, and a failure
// counts against it whatever its sample (its percentiles are still
// flagged wherever they are shown).
func markSmallSamples(points []Point, obj Objectives) {
	for i := range points {
		p := &points[i]
		if !p.Pass {
			continue
		}
		p.Unresolved = append(p.Unresolved, smallSampleReasons(p.Stats, obj)...)
	}
}

// formatQuantileN writes a percentile with the number of values behind
// it, flagged when too few: "1.2s (n=37)", "1.2s (n=5, few: min 20)".
func formatQuantileN(q Quantiles, p int) string {
	if q.N == 0 {
		return "-"
	}
	s := formatSeconds(q.Get(p)) + " (n=" + strconv.Itoa(q.N)
	if q.FewSamples(p) {
		s += ", few: min " + strconv.Itoa(MinSamples(p))
	}
	return s + ")"
}

// warmupIncluded is " (warm-up included)" when there was a warm-up, ""
// otherwise: a run without one must not be said to include it.
func warmupIncluded(warmup int) string {
	if warmup == 0 {
		return ""
	}
	return " (warm-up included)"
}
