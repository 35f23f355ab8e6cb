package reports

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Metrics a baseline comparison reports, per target and length (effective
// context per target).
const (
	CmpAccuracy         = "accuracy"
	CmpErrorRate        = "error_rate"
	CmpMaxRate          = "max_rate"
	CmpEffectiveContext = "effective_context"
	CmpCostPerCorrect   = "cost_per_correct"
	// Latency metrics are named as objectives are: ttft_p95, e2e_p50, ...
)

// Kinds of regression threshold.
const (
	// ThresholdPoints bounds a drop (accuracy) or rise (error rate) in
	// percentage points, as in accuracy_drop=5pt.
	ThresholdPoints = "points"
	// ThresholdPercent bounds a relative change in the bad direction, as in
	// ttft_p95=+20% or max_rate=-10%.
	ThresholdPercent = "percent"
	// ThresholdAny fails on any change for the worse (for accuracy and the
	// error rate: any significant one).
	ThresholdAny = "any"
	// ThresholdOff shows the metric without gating on it.
	ThresholdOff = "off"
)

// DefaultRegressionThresholds are the thresholds of a comparison given
// none.
const DefaultRegressionThresholds = "accuracy_drop=5pt,error_rate=+5pt,ttft_p95=+20%,tpot_p95=+20%,e2e_p95=+20%,max_rate=-10%,effective_context=any,cost_per_correct=+20%"

// DefaultAlpha is the significance level of a comparison's proportion
// tests.
const DefaultAlpha = 0.05

// DefaultLatencyFloor is the smallest latency change a comparison counts:
// timer and scheduling noise is of the order of milliseconds.
const DefaultLatencyFloor = 10 * time.Millisecond

// RegressionThreshold is how much one metric may worsen before a
// comparison calls it a regression.
type RegressionThreshold struct {
	// Metric is accuracy, error_rate, max_rate, effective_context,
	// cost_per_correct, or a latency percentile such as ttft_p95.
	Metric string `json:"metric"`
	// Kind is points, percent, any or off.
	Kind string `json:"kind"`
	// Value is the bound's size (points or percent), positive; 0 for any
	// and off.
	Value float64 `json:"value,omitempty"`
}

// String writes the threshold as it is given: accuracy_drop=5pt,
// ttft_p95=+20%, max_rate=-10%, effective_context=any.
func (t RegressionThreshold) String() string {
	name := t.Metric
	if name == CmpAccuracy {
		name = "accuracy_drop"
	}
	return name + "=" + t.Bound()
}

// Bound writes the bound alone: 5pt, +20%, -10%, any, off.
func (t RegressionThreshold) Bound() string {
	v := strconv.FormatFloat(t.Value, 'f', -1, 64)
	switch t.Kind {
	case ThresholdPoints:
		if worseIsUp(t.Metric) {
			return "+" + v + "pt"
		}
		return v + "pt"
	case ThresholdPercent:
		if worseIsUp(t.Metric) {
			return "+" + v + "%"
		}
		return "-" + v + "%"
	}
	return t.Kind
}

// worseIsUp reports whether a rise of metric is a change for the worse
// (error rate, latency, cost) rather than a fall (accuracy, max rate,
// effective context).
func worseIsUp(metric string) bool {
	switch metric {
	case CmpAccuracy, CmpMaxRate, CmpEffectiveContext:
		return false
	}
	return true
}

// isProportion reports whether metric is a share of requests, compared
// in points with a significance test.
func isProportion(metric string) bool { return metric == CmpAccuracy || metric == CmpErrorRate }

// isLatency reports whether metric is a latency percentile.
func isLatency(metric string) bool {
	_, err := parseLatency(metric, "1s")
	return err == nil
}

// supportedThresholds lists the metric names ParseRegressionThresholds
// accepts, for error messages.
const supportedThresholds = "accuracy_drop (points, such as 5pt), error_rate (points, such as +2pt), max_rate (such as -10%), effective_context (such as any or -25%), cost_per_correct (such as +20%), and ttft, tpot, e2e or chunk_gap with _p50, _p90, _p95 or _p99 (such as +20%); any bound may also be any or off"

// ParseRegressionThresholds parses thresholds written as
// "accuracy_drop=5pt,ttft_p95=+20%,max_rate=-10%,effective_context=any".
// A bound is points (Npt) for accuracy and the error rate, a percent
// change for the rest (its sign, when given, must be the bad direction:
// + for latency, error rate and cost, - for max_rate and
// effective_context), any (every change for the worse), or off (shown,
// never failing). An empty string means DefaultRegressionThresholds.
func ParseRegressionThresholds(s string) ([]RegressionThreshold, error) {
	if strings.TrimSpace(s) == "" {
		s = DefaultRegressionThresholds
	}
	var out []RegressionThreshold
	canon := func(name string) string {
		switch name {
		case "accuracy_drop", "accuracy":
			return CmpAccuracy
		case "effective_context_length":
			return CmpEffectiveContext
		}
		return strings.Replace(name, "chunk_gaps_", "chunk_gap_", 1)
	}
	err := forEachPair(s, "threshold", "accuracy_drop=5pt", canon, func(name, value string) error {
		t, err := parseThreshold(name, value)
		if err != nil {
			return err
		}
		out = append(out, t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseThreshold parses one metric's bound.
func parseThreshold(metric, value string) (RegressionThreshold, error) {
	t := RegressionThreshold{Metric: metric}
	known := isProportion(metric) || isLatency(metric) ||
		slices.Contains([]string{CmpMaxRate, CmpEffectiveContext, CmpCostPerCorrect}, metric)
	if !known {
		return t, fmt.Errorf("unknown threshold %q: supported are %s", metric, supportedThresholds)
	}
	v := strings.ToLower(strings.ReplaceAll(value, " ", ""))
	switch v {
	case ThresholdAny, ThresholdOff, "none":
		t.Kind = strings.Replace(v, "none", ThresholdOff, 1)
		return t, nil
	}
	name := metric
	if metric == CmpAccuracy {
		name = "accuracy_drop"
	}
	sign := ""
	if v != "" && (v[0] == '+' || v[0] == '-') {
		sign, v = v[:1], v[1:]
	}
	var num string
	switch {
	case strings.HasSuffix(v, "pts"), strings.HasSuffix(v, "pt"):
		num, t.Kind = strings.TrimRight(strings.TrimSuffix(v, "s"), "pt"), ThresholdPoints
	case strings.HasSuffix(v, "%"):
		num, t.Kind = strings.TrimSuffix(v, "%"), ThresholdPercent
	default:
		return t, fmt.Errorf("threshold %s=%s: write points (5pt), a percent change (+20%%), any, or off", name, value)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return t, fmt.Errorf("threshold %s=%s: %q is not a number of 0 or more", name, value, num)
	}
	t.Value = f
	switch {
	case isProportion(metric) && t.Kind != ThresholdPoints:
		return t, fmt.Errorf("threshold %s=%s: %s is a share of requests; bound its change in points, such as %s=5pt", name, value, metric, name)
	case !isProportion(metric) && t.Kind != ThresholdPercent:
		return t, fmt.Errorf("threshold %s=%s: bound %s by a percent change, such as %s", name, value, metric, RegressionThreshold{Metric: metric, Kind: ThresholdPercent, Value: 20}.String())
	case metric == CmpAccuracy && sign != "":
		return t, fmt.Errorf("threshold accuracy_drop=%s: give the drop allowed without a sign, such as accuracy_drop=5pt", value)
	case sign == "+" && !worseIsUp(metric), sign == "-" && worseIsUp(metric):
		bad := "falls"
		if worseIsUp(metric) {
			bad = "rises"
		}
		return t, fmt.Errorf("threshold %s=%s: %s regresses when it %s; write %s", name, value, metric, bad, t.String())
	}
	return t, nil
}
