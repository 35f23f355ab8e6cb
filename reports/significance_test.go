package reports

import (
	"math"
	"strings"
	"testing"
)

// TestProportionTest checks both tests against figures computed
// independently: the z-test as chi-squared without continuity correction
// (R: prop.test(c(45, 30), c(50, 50), correct = FALSE) gives X-squared =
// 12, p = 0.000532), Fisher's exact test against the hypergeometric sums
// written out by hand (Fisher's tea tasting, 3 of 4 against 1 of 4:
// p = 34/70).
func TestProportionTest(t *testing.T) {
	tests := []struct {
		x1, n1, x2, n2 int
		p              float64
		test           string
	}{
		// z = 0.3 / sqrt(0.75 * 0.25 * 0.04) = sqrt(12); p = P(chi2_1 > 12).
		{45, 50, 30, 50, math.Erfc(math.Sqrt(12) / math.Sqrt2), TestZ},
		{30, 50, 45, 50, math.Erfc(math.Sqrt(12) / math.Sqrt2), TestZ},
		// The tea table [[3,1],[1,3]]: P(a) = C(4,a)C(4,4-a)/C(8,4), a = 0..4:
		// 1, 16, 36, 16, 1 over 70; as or less likely than 16/70: 1+16+16+1.
		{3, 4, 1, 4, 34.0 / 70, TestFisher},
		// All right against all wrong, 5 each: 2/252.
		{5, 5, 0, 5, 2.0 / 252, TestFisher},
		{10, 20, 10, 20, 1, TestZ},
		{20, 20, 20, 20, 1, TestFisher}, // no failures at all: expected count 0
	}
	for _, tt := range tests {
		p, test := ProportionTest(tt.x1, tt.n1, tt.x2, tt.n2)
		if test != tt.test || math.Abs(p-tt.p) > 1e-9*math.Max(1, tt.p) {
			t.Errorf("ProportionTest(%d/%d, %d/%d) = %.9g (%s), want %.9g (%s)", tt.x1, tt.n1, tt.x2, tt.n2, p, test, tt.p, tt.test)
		}
	}
	if p, _ := ProportionTest(1, 0, 3, 4); p != 1 {
		t.Errorf("no trials on one side: p = %v, want 1", p)
	}
}

func TestParseRegressionThresholds(t *testing.T) {
	ts, err := ParseRegressionThresholds("accuracy_drop=5pt, ttft_p95=+20%,max_rate=-10%,effective_context=any,e2e_p99=off,error_rate=2pt")
	if err != nil {
		t.Fatal(err)
	}
	want := []RegressionThreshold{
		{CmpAccuracy, ThresholdPoints, 5}, {"ttft_p95", ThresholdPercent, 20}, {CmpMaxRate, ThresholdPercent, 10},
		{CmpEffectiveContext, ThresholdAny, 0}, {"e2e_p99", ThresholdOff, 0}, {CmpErrorRate, ThresholdPoints, 2},
	}
	if len(ts) != len(want) {
		t.Fatalf("got %+v, want %+v", ts, want)
	}
	for i := range want {
		if ts[i] != want[i] {
			t.Errorf("threshold %d = %+v, want %+v", i, ts[i], want[i])
		}
	}
	if got := thresholdList(ts); got != "accuracy_drop=5pt, ttft_p95=+20%, max_rate=-10%, effective_context=any, e2e_p99=off, error_rate=+2pt" {
		t.Errorf("written back as %q", got)
	}
	def, err := ParseRegressionThresholds("")
	if err != nil || thresholdList(def) != "accuracy_drop=5pt, error_rate=+5pt, ttft_p95=+20%, tpot_p95=+20%, e2e_p95=+20%, max_rate=-10%, effective_context=any, cost_per_correct=+20%" {
		t.Errorf("defaults: %v %v", thresholdList(def), err)
	}
	for _, tt := range []struct{ in, want string }{
		{"accuracy_drop=5%", "in points"},
		{"ttft_p95=5pt", "percent change"},
		{"max_rate=+10%", "write max_rate=-10%"},
		{"ttft_p95=-20%", "write ttft_p95=+20%"},
		{"accuracy_drop=-5pt", "without a sign"},
		{"ttft_p97=+20%", "unknown threshold"},
		{"speed=+1%", "unknown threshold"},
		{"ttft_p95=fast", "write points"},
		{"ttft_p95=x%", "not a number"},
		{"ttft_p95=+20%,ttft_p95=+10%", "given twice"},
		{"ttft_p95", "name=value"},
	} {
		if _, err := ParseRegressionThresholds(tt.in); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseRegressionThresholds(%q) = %v, want an error saying %q", tt.in, err, tt.want)
		}
	}
}
