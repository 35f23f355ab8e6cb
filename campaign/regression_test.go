package campaign

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/reports"
)

func TestRegressionSection(t *testing.T) {
	c, err := Parse("c.yaml", []byte(gateHead+`regression:
  baseline: runs/last-night
  thresholds:
    accuracy_drop: 2pt
    ttft_p95: +50%
    chunk_gap_p99: off
  alpha: 0.01
  latency_floor: 50ms
`))
	if err != nil {
		t.Fatal(Detail(err))
	}
	if c.Regression.Baseline != "runs/last-night" || *c.Regression.Alpha != 0.01 || len(c.Regression.Thresholds) != 3 || c.Regression.LatencyFloor.D() != 50*time.Millisecond {
		t.Errorf("regression %+v", c.Regression)
	}
	flag, _ := reports.ParseRegressionThresholds("ttft_p95=+10%")
	got := map[string]string{}
	for _, th := range c.RegressionThresholds(flag) {
		got[th.Metric] = th.Bound()
	}
	// The file's replace the defaults, the flag's replace the file's; the
	// others keep their defaults.
	for metric, want := range map[string]string{"accuracy": "2pt", "ttft_p95": "+10%", "chunk_gap_p99": "off", "max_rate": "-10%", "effective_context": "any"} {
		if got[metric] != want {
			t.Errorf("%s: %q, want %q (all: %v)", metric, got[metric], want, got)
		}
	}
}

func TestRegressionMistakes(t *testing.T) {
	cases := []struct {
		name, yaml string
		line, col  int
		msg        string
	}{
		{"unknown metric", "regression:\n  thresholds: {ttft_p96: +20%}\n", 5, 16, `unknown threshold "ttft_p96"`},
		{"points for latency", "regression:\n  thresholds:\n    ttft_p95: 5pt\n", 6, 15, "bound ttft_p95 by a percent change"},
		{"wrong sign", "regression:\n  thresholds:\n    max_rate: +10%\n", 6, 15, "max_rate regresses when it falls"},
		{"not a mapping", "regression:\n  thresholds: accuracy_drop=5pt\n", 5, 15, "expected a mapping of metrics to bounds"},
		{"given twice", "regression:\n  thresholds: {accuracy_drop: 5pt, accuracy: 3pt}\n", 5, 36, "given twice"},
		{"alpha", "regression:\n  alpha: 5\n", 5, 10, "between 0 and 1"},
		{"negative latency floor", "regression:\n  latency_floor: -5ms\n", 5, 18, "is negative"},
		{"unknown field", "regression:\n  basline: x\n", 5, 3, "did you mean baseline?"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(gateHead+tc.yaml))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse = %v, want an *Error", err)
			}
			if e.Line != tc.line || e.Column != tc.col || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got %d:%d %q, want %d:%d containing %q", e.Line, e.Column, e.Msg, tc.line, tc.col, tc.msg)
			}
		})
	}
}
