package campaign

import (
	"github.com/goccy/go-yaml/ast"

	"github.com/needlestorm/needlestorm/reports"
)

// Regression is the campaign's regression section: the baseline a run is
// compared with at its end (run --baseline), and the thresholds that
// decide a regression (also read by `needlestorm compare --campaign`):
//
//	regression:
//	  baseline: runs/last-night        # a run directory, summary.json or envelope.json
//	  thresholds:                      # each overrides the default of its metric
//	    accuracy_drop: 5pt
//	    ttft_p95: +20%
//	    max_rate: -10%
//	    effective_context: any
//	  alpha: 0.05                      # significance level of the accuracy test
//	  latency_floor: 10ms              # latency changes smaller than this never count
type Regression struct {
	// Baseline is a run directory, summary.json or envelope.json; a
	// relative path is relative to the working directory, as output.dir.
	Baseline string `yaml:"baseline"`
	// Thresholds bound each metric's change (reports'
	// ParseRegressionThresholds forms); metrics not named keep the
	// defaults (reports.DefaultRegressionThresholds).
	Thresholds RegressionThresholds `yaml:"thresholds"`
	// Alpha is the significance level of the accuracy and error-rate tests
	// (nil: reports.DefaultAlpha).
	Alpha *float64 `yaml:"alpha"`
	// LatencyFloor is the smallest latency change that counts (0:
	// reports.DefaultLatencyFloor): a nightly job on a noisy machine, or
	// against a shared endpoint, raises it.
	LatencyFloor Duration `yaml:"latency_floor"`
}

// RegressionThresholds are thresholds written as a mapping of metric to
// bound, such as {accuracy_drop: 5pt, ttft_p95: +20%}.
type RegressionThresholds []reports.RegressionThreshold

// UnmarshalYAML reads the thresholds in order, naming the place of a bad
// one: its metric when the name is unknown, its bound otherwise.
func (r *RegressionThresholds) UnmarshalYAML(node ast.Node) error {
	entries, ok := mappingEntries(node)
	if !ok {
		return nodeError(node, "expected a mapping of metrics to bounds such as {accuracy_drop: 5pt, ttft_p95: +20%%}, got %s", describeNode(node))
	}
	var out RegressionThresholds
	seen := map[string]bool{}
	for _, e := range entries {
		key := keyText(e.Key)
		val, scalar := scalarText(e.Value)
		if !scalar || val == "" {
			return nodeError(e.Value, "expected a bound such as 5pt, +20%%, -10%%, any or off, got %s", describeNode(e.Value))
		}
		th, err := reports.ParseRegressionThresholds(key + "=" + val)
		if err != nil {
			at := e.Value
			if _, kerr := reports.ParseRegressionThresholds(key + "=any"); kerr != nil {
				at = e.Key
			}
			return nodeError(at, "%s", err.Error())
		}
		if seen[th[0].Metric] {
			return nodeError(e.Key, "the threshold of %s is given twice", th[0].Metric)
		}
		seen[th[0].Metric] = true
		out = append(out, th...)
	}
	*r = out
	return nil
}

// regression checks the regression section.
func (v *checker) regression() {
	if a := v.c.Regression.Alpha; a != nil && !(finite(*a) && *a > 0 && *a < 1) {
		v.at("regression.alpha", "%g: give the significance level, a probability between 0 and 1 such as 0.05", *a)
	}
	if f := v.c.Regression.LatencyFloor; f < 0 {
		v.at("regression.latency_floor", "%s is negative: give the smallest latency change that counts, such as 10ms", f.D())
	}
}

// RegressionThresholds are the thresholds a comparison uses: the defaults
// (reports.DefaultRegressionThresholds), each metric the campaign's
// regression.thresholds name replaced, then each metric of given
// (--threshold) replaced.
func (c *Campaign) RegressionThresholds(given []reports.RegressionThreshold) []reports.RegressionThreshold {
	return MergeThresholds(c.Regression.Thresholds, given)
}

// MergeThresholds lays each list of thresholds over the defaults, metric
// by metric, later lists winning; new metrics are added at the end.
func MergeThresholds(lists ...[]reports.RegressionThreshold) []reports.RegressionThreshold {
	out, _ := reports.ParseRegressionThresholds("")
	for _, list := range lists {
		for _, t := range list {
			replaced := false
			for i := range out {
				if out[i].Metric == t.Metric {
					out[i], replaced = t, true
				}
			}
			if !replaced {
				out = append(out, t)
			}
		}
	}
	return out
}
