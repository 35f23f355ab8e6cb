package reports

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultAccuracy is the accuracy threshold when none is given.
const DefaultAccuracy = 0.85

// Latency metrics an objective can bound.
const (
	MetricTTFT     = "ttft"
	MetricTPOT     = "tpot"
	MetricE2E      = "e2e"
	MetricChunkGap = "chunk_gap"
)

// Objectives are what a configuration must hold to pass: latency
// percentiles, an error rate and an accuracy threshold. Its JSON form is
// what a run stores in manifest.json's "objectives".
type Objectives struct {
	// Latency objectives, in the order given.
	Latency []LatencyObjective `json:"latency,omitempty"`
	// ErrorRate is the highest share of failed requests allowed; nil for
	// no bound.
	ErrorRate *float64 `json:"error_rate,omitempty"`
	// Accuracy is the accuracy threshold (0 means DefaultAccuracy). With
	// AccuracyRelative it is a fraction of the target's own accuracy at its
	// shortest tested length.
	Accuracy         float64 `json:"accuracy,omitempty"`
	AccuracyRelative bool    `json:"accuracy_relative,omitempty"`
	// Requirement, when set, is the job the run is for (a campaign's
	// require:); the report names the cheapest target that covers it.
	// Options.Requirement, when set, takes its place.
	Requirement *Requirement `json:"requirement,omitempty"`
	// SendLag, in seconds, is how late the client may send a request
	// before it counts as late for the client-bottleneck rule (send_lag=
	// in an SLO; 0 means SendLagLimit). Raise it where a loaded machine's
	// scheduler, not the server, is what a few late sends show.
	SendLag float64 `json:"send_lag,omitempty"`
	// Ungated names the objectives that are reported but do not decide
	// the exit status (gate: false in a campaign): latency names such as
	// ttft_p95, error_rate, accuracy.
	Ungated []string `json:"ungated,omitempty"`
}

// SendLagLimit is how late a send may be before it counts as late (at
// rates where a quarter of the gap between requests is not longer).
func (o Objectives) SendLagLimit() time.Duration {
	if o.SendLag > 0 {
		return time.Duration(o.SendLag * float64(time.Second))
	}
	return SendLagLimit
}

// Gates reports whether the objective named (ttft_p95, error_rate,
// accuracy) decides the exit status: every objective does unless Ungated
// names it.
func (o Objectives) Gates(name string) bool { return !slices.Contains(o.Ungated, name) }

// LatencyObjective bounds one latency percentile, as in ttft_p95=2s.
type LatencyObjective struct {
	// Metric is one of ttft, tpot, e2e, chunk_gap.
	Metric string `json:"metric"`
	// Percentile is 50, 90, 95 or 99.
	Percentile int `json:"percentile"`
	// Max is the bound in seconds.
	Max float64 `json:"max"`
}

// Name is the objective's flag name, such as "ttft_p95".
func (l LatencyObjective) Name() string { return fmt.Sprintf("%s_p%d", l.Metric, l.Percentile) }

// String is the objective as a flag would give it, such as "ttft_p95=2s".
func (l LatencyObjective) String() string { return l.Name() + "=" + formatSeconds(l.Max) }

// AccuracyThreshold is the accuracy threshold with the default applied.
func (o Objectives) AccuracyThreshold() float64 {
	if o.Accuracy <= 0 {
		return DefaultAccuracy
	}
	return o.Accuracy
}

// String is the latency and error-rate objectives in --slo form.
func (o Objectives) String() string {
	var parts []string
	for _, l := range o.Latency {
		parts = append(parts, l.String())
	}
	if o.ErrorRate != nil {
		parts = append(parts, "error_rate="+strconv.FormatFloat(*o.ErrorRate, 'g', -1, 64))
	}
	if o.SendLag > 0 {
		parts = append(parts, "send_lag="+formatSeconds(o.SendLag))
	}
	return strings.Join(parts, ",")
}

// Describe says in words what a configuration must hold.
func (o Objectives) Describe() string {
	s := o.String()
	acc := fmt.Sprintf("accuracy >= %.2f", o.AccuracyThreshold())
	if o.AccuracyRelative {
		acc = fmt.Sprintf("accuracy >= %.2f x the target's own accuracy at its shortest length", o.AccuracyThreshold())
	}
	ungated := ""
	if len(o.Ungated) > 0 {
		ungated = "; report only, not gating: " + strings.Join(o.Ungated, ", ")
	}
	if s == "" {
		return acc + " (no latency or error-rate objectives)" + ungated
	}
	return s + ", " + acc + ungated
}

// supportedSLO lists the metric names ParseSLO accepts, for error messages.
const supportedSLO = "ttft, tpot, e2e and chunk_gap with _p50, _p90, _p95 or _p99 (a duration such as 2s or 500ms), error_rate (a fraction such as 0.01, or 1%), and send_lag (how late the client may send, for the client-bottleneck rule, such as 50ms)"

// ParseSLO parses latency and error-rate objectives written as
// "ttft_p95=2s,e2e_p95=30s,error_rate=0.01". It fills Latency and ErrorRate
// only. An empty string means no objectives.
func ParseSLO(s string) (Objectives, error) {
	var o Objectives
	err := forEachPair(s, "objective", "ttft_p95=2s", nil, func(name, value string) error {
		if name == "send_lag" {
			d, err := time.ParseDuration(value)
			if err != nil || d <= 0 {
				return fmt.Errorf("send_lag=%s: give how late the client may send a request, a duration above zero such as 50ms", value)
			}
			o.SendLag = d.Seconds()
			return nil
		}
		if name == "error_rate" {
			r, err := parseRate(value)
			if err != nil {
				return fmt.Errorf("objective error_rate=%s: %w", value, err)
			}
			o.ErrorRate = &r
			return nil
		}
		l, err := parseLatency(name, value)
		if err != nil {
			return err
		}
		o.Latency = append(o.Latency, l)
		return nil
	})
	if err != nil {
		return Objectives{}, err
	}
	return o, nil
}

// forEachPair calls each with every item of a comma-separated name=value
// list, in order: names lower-cased (then passed through canon, when
// given), names and values trimmed, empty items skipped. An item without a
// name or a value, or a name given twice, is an error naming what (such as
// "objective") with an example of the form.
func forEachPair(s, what, example string, canon func(string) string, each func(name, value string) error) error {
	seen := map[string]bool{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, value, ok := strings.Cut(item, "=")
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
		if !ok || name == "" || value == "" {
			return fmt.Errorf("%s %q: write it as name=value, such as %s", what, item, example)
		}
		if canon != nil {
			name = canon(name)
		}
		if seen[name] {
			return fmt.Errorf("%s %s is given twice", what, name)
		}
		seen[name] = true
		if err := each(name, value); err != nil {
			return err
		}
	}
	return nil
}

func parseLatency(name, value string) (LatencyObjective, error) {
	metric, pct, ok := strings.Cut(name, "_p")
	if metric == "chunk_gaps" {
		metric = MetricChunkGap
	}
	switch metric {
	case MetricTTFT, MetricTPOT, MetricE2E, MetricChunkGap:
	default:
		return LatencyObjective{}, fmt.Errorf("unknown objective %q: supported are %s", name, supportedSLO)
	}
	p, err := strconv.Atoi(pct)
	if !ok || err != nil || (p != 50 && p != 90 && p != 95 && p != 99) {
		return LatencyObjective{}, fmt.Errorf("objective %q: name a percentile, one of %s_p50, _p90, _p95 or _p99", name, metric)
	}
	d, err := time.ParseDuration(value)
	if err != nil {
		if _, nerr := strconv.ParseFloat(value, 64); nerr == nil {
			return LatencyObjective{}, fmt.Errorf("objective %s=%s: give the duration a unit, such as %ss or %sms", name, value, value, value)
		}
		return LatencyObjective{}, fmt.Errorf("objective %s=%s: not a duration (such as 2s or 500ms): %w", name, value, err)
	}
	if d <= 0 {
		return LatencyObjective{}, fmt.Errorf("objective %s=%s: the bound must be above zero", name, value)
	}
	return LatencyObjective{Metric: metric, Percentile: p, Max: d.Seconds()}, nil
}

func parseRate(value string) (float64, error) {
	scale := 1.0
	if v, ok := strings.CutSuffix(value, "%"); ok {
		value, scale = strings.TrimSpace(v), 0.01
	}
	r, err := strconv.ParseFloat(value, 64)
	if err != nil {
		return 0, fmt.Errorf("not a number (write a fraction such as 0.01, or 1%%): %w", err)
	}
	r *= scale
	if math.IsNaN(r) || r < 0 || r > 1 {
		return 0, fmt.Errorf("an error rate is between 0 and 1 (or 0%% and 100%%)")
	}
	return r, nil
}

// DecodeObjectives reads the objectives a run stored in its manifest. Empty
// or null input gives zero Objectives.
func DecodeObjectives(raw json.RawMessage) (Objectives, error) {
	var o Objectives
	if len(raw) == 0 || string(raw) == "null" {
		return o, nil
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return Objectives{}, fmt.Errorf("manifest objectives are not valid: %w", err)
	}
	for _, l := range o.Latency {
		if _, err := parseLatency(l.Name(), formatSeconds(l.Max)); err != nil {
			return Objectives{}, fmt.Errorf("manifest objectives: %w", err)
		}
	}
	return o, nil
}

// formatSeconds writes seconds as a short duration: "2s", "0.25s",
// "12.5ms".
func formatSeconds(s float64) string {
	switch {
	case s == 0:
		return "0s"
	case math.Abs(s) < 1:
		return strconv.FormatFloat(roundSig(s*1000, 3), 'f', -1, 64) + "ms"
	default:
		return strconv.FormatFloat(roundSig(s, 3), 'f', -1, 64) + "s"
	}
}

// roundSig rounds x to n significant digits.
func roundSig(x float64, n int) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	p := math.Pow(10, float64(n)-math.Ceil(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}
