package loadgen

import (
	"math"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

var (
	_ vegeta.Pacer = (*PoissonPacer)(nil)
	_ vegeta.Pacer = vegeta.ConstantPacer{}
)

func TestPoissonPacerDeterministic(t *testing.T) {
	arrivals := func(p *PoissonPacer, n int) []time.Duration {
		var out []time.Duration
		var at time.Duration
		for i := range n {
			w, stop := p.Pace(at, uint64(i))
			if stop {
				t.Fatal("stopped")
			}
			at += w
			out = append(out, at)
		}
		return out
	}
	a := arrivals(NewPoissonPacer(50, 1), 200)
	b := arrivals(NewPoissonPacer(50, 1), 200)
	c := arrivals(NewPoissonPacer(50, 2), 200)
	same := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, arrival %d: %s vs %s", i, a[i], b[i])
		}
		if a[i] == c[i] {
			same++
		}
	}
	if same == len(a) {
		t.Error("different seeds gave the same arrivals")
	}
	// Asking again about an earlier hit (the pacer rewinds) gives the same.
	p := NewPoissonPacer(50, 1)
	arrivals(p, 200)
	w, _ := p.Pace(0, 9)
	if w != a[9] {
		t.Errorf("rewound arrival 10 = %s, want %s", w, a[9])
	}
}

func TestPoissonPacerStatistics(t *testing.T) {
	const rate, n = 200.0, 50_000
	p := NewPoissonPacer(rate, 3)
	var at time.Duration
	var sum, sumSq float64
	for i := range n {
		w, _ := p.Pace(at, uint64(i))
		at += w
		g := w.Seconds()
		sum += g
		sumSq += g * g
	}
	mean := sum / n
	sd := math.Sqrt(sumSq/n - mean*mean)
	if got := 1 / mean; math.Abs(got-rate)/rate > 0.02 {
		t.Errorf("mean rate %.1f, want %g ± 2%%", got, rate)
	}
	// Exponential gaps: the coefficient of variation is 1.
	if cv := sd / mean; math.Abs(cv-1) > 0.03 {
		t.Errorf("gap coefficient of variation %.3f, want 1 (exponential gaps)", cv)
	}
	if r := p.Rate(time.Hour); r != rate {
		t.Errorf("Rate = %g", r)
	}
	if _, stop := NewPoissonPacer(0, 1).Pace(0, 0); !stop {
		t.Error("a zero-rate Poisson pacer did not stop")
	}
}

func TestVegetaRate(t *testing.T) {
	tests := []struct {
		in   float64
		want vegeta.Rate
	}{
		{4, vegeta.Rate{Freq: 4, Per: time.Second}},
		{0.5, vegeta.Rate{Freq: 1, Per: 2 * time.Second}},
		{3.3, vegeta.Rate{Freq: 1, Per: 303030303}},
		{0, vegeta.Rate{}},
	}
	for _, tt := range tests {
		if got := vegetaRate(tt.in); got != tt.want {
			t.Errorf("vegetaRate(%g) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}
