package campaign

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

const gateHead = `targets: [{name: a, kind: sim}]
corpus: {lengths: [1k]}
load: {stages: [{rate: 1, duration: 1s}]}
`

// TestGateFalse checks that gate: false marks objectives report only
// (reports.Objectives.Ungated), in both forms a campaign writes them.
func TestGateFalse(t *testing.T) {
	c, err := Parse("c.yaml", []byte(gateHead+`slo:
  ttft_p95: 2s
  e2e_p95: {max: 30s, gate: false}
  error_rate: {max: 0.01, gate: true}
accuracy: {threshold: 0.9, gate: false}
`))
	if err != nil {
		t.Fatal(Detail(err))
	}
	o := c.Objectives()
	if !slices.Equal(o.Ungated, []string{"e2e_p95", "accuracy"}) {
		t.Errorf("ungated %q, want e2e_p95 and accuracy", o.Ungated)
	}
	if len(o.Latency) != 2 || o.Latency[1].Max != 30 || o.ErrorRate == nil || *o.ErrorRate != 0.01 || o.Accuracy != 0.9 {
		t.Errorf("objectives %+v", o)
	}
	if !o.Gates("ttft_p95") || o.Gates("e2e_p95") || !o.Gates("error_rate") || o.Gates("accuracy") {
		t.Errorf("Gates wrong for %+v", o)
	}
}

func TestGateMistakes(t *testing.T) {
	cases := []struct {
		name, yaml string
		line, col  int
		msg        string
	}{
		{"gate not a bool", "slo:\n  ttft_p95: {max: 2s, gate: maybe}\n", 5, 29, `gate: expected true (the objective decides the exit status) or false (report only), got "maybe"`},
		{"unknown key", "slo:\n  ttft_p95: {max: 2s, gating: false}\n", 5, 23, `unknown field "gating" of an objective`},
		{"no max", "slo:\n  ttft_p95: {gate: false}\n", 5, 13, "the objective has no max"},
		{"bad bound in the mapping", "slo:\n  ttft_p95: {max: fast, gate: false}\n", 5, 19, "objective ttft_p95=fast: not a duration"},
		{"accuracy gate not a bool", "accuracy:\n  gate: sometimes\n", 5, 9, `expected true or false, got "sometimes"`},
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
