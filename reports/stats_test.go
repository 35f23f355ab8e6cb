package reports

import (
	"math"
	"testing"
	"time"
)

// TestWilson checks the Wilson score interval against reference values:
// 8/10 as given in the brief, and the Wilson-score column of
// Newcombe, "Two-sided confidence intervals for the single proportion",
// Statistics in Medicine 17 (1998), Table I (81/263, 15/148, 0/20, 1/29).
// The remaining rows were computed independently with Python's
// statistics.NormalDist().inv_cdf(0.975) and the formula in Wilson's doc.
func TestWilson(t *testing.T) {
	tests := []struct {
		k, n   int
		lo, hi float64
		tol    float64
	}{
		{8, 10, 0.490162, 0.943318, 1e-6},
		{81, 263, 0.2553, 0.3662, 5e-5},
		{15, 148, 0.0624, 0.1605, 5e-5},
		{0, 20, 0, 0.1611, 5e-5},
		{1, 29, 0.0061, 0.1718, 5e-5},
		{0, 10, 0, 0.277533, 1e-6},
		{10, 10, 0.722467, 1, 1e-6},
		{50, 100, 0.403832, 0.596168, 1e-6},
		{95, 100, 0.88825, 0.978456, 1e-6},
		{0, 0, 0, 1, 0},
	}
	for _, tt := range tests {
		lo, hi := Wilson(tt.k, tt.n)
		if math.Abs(lo-tt.lo) > tt.tol || math.Abs(hi-tt.hi) > tt.tol {
			t.Errorf("Wilson(%d, %d) = [%.6f, %.6f], want [%.6f, %.6f]", tt.k, tt.n, lo, hi, tt.lo, tt.hi)
		}
	}
}

func TestQuantilesNearestRank(t *testing.T) {
	ms := func(vs ...int) []time.Duration {
		out := make([]time.Duration, len(vs))
		for i, v := range vs {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name string
		in   []time.Duration
		want Quantiles
	}{
		{"empty", nil, Quantiles{}},
		{"one", ms(7), Quantiles{N: 1, P50: 0.007, P90: 0.007, P95: 0.007, P99: 0.007}},
		// 1..20: p50 = rank 10, p90 = rank 18, p95 = rank 19, p99 = rank 20.
		{"twenty, shuffled", ms(20, 3, 1, 19, 2, 18, 4, 17, 5, 16, 6, 15, 7, 14, 8, 13, 9, 12, 10, 11),
			Quantiles{N: 20, P50: 0.010, P90: 0.018, P95: 0.019, P99: 0.020}},
		// 1..100: rank p exactly.
		{"hundred", func() []time.Duration {
			var v []int
			for i := 100; i >= 1; i-- {
				v = append(v, i)
			}
			return ms(v...)
		}(), Quantiles{N: 100, P50: 0.050, P90: 0.090, P95: 0.095, P99: 0.099}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := quantilesOf(tt.in)
			if got.N != tt.want.N || !near(got.P50, tt.want.P50) || !near(got.P90, tt.want.P90) || !near(got.P95, tt.want.P95) || !near(got.P99, tt.want.P99) {
				t.Errorf("quantilesOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
