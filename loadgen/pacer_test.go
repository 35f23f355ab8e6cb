package loadgen

import (
	"math"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/needlestorm/needlestorm/run"
)

// TestStagePacer: each open-loop stage's pacer runs at the stage's rate
// over time (constant, Poisson with the stage's seed, a linear ramp, a
// sine starting at its mean going up), and a closed-loop stage has none.
func TestStagePacer(t *testing.T) {
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	tests := []struct {
		stage Stage
		at    []float64 // seconds into the stage
		want  []float64 // hits per second at those times
	}{
		{Stage{Kind: StageConstant, Rate: 4, Requests: 10}, []float64{0, 100}, []float64{4, 4}},
		{Stage{Kind: StageConstant, Rate: 0.5, Requests: 10}, []float64{0, 7}, []float64{0.5, 0.5}},
		{Stage{Kind: StagePoisson, Rate: 300, Requests: 10, Seed: 9}, []float64{0, 3}, []float64{300, 300}},
		{Stage{Kind: StageRamp, Rate: 10, ToRate: 30, Duration: run.Seconds(sec(10))}, []float64{0, 5, 10}, []float64{10, 20, 30}},
		{Stage{Kind: StageRamp, Rate: 0, ToRate: 10, Duration: run.Seconds(sec(10))}, []float64{0, 5}, []float64{1e-3, 5}},
		{Stage{Kind: StageSine, Rate: 20, Amplitude: 10, Period: run.Seconds(sec(4)), Duration: run.Seconds(sec(8))}, []float64{0, 1, 2, 3}, []float64{20, 30, 20, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.stage.Name(), func(t *testing.T) {
			p, err := tt.stage.Pacer()
			if err != nil {
				t.Fatal(err)
			}
			for i, at := range tt.at {
				if got := p.Rate(sec(at)); math.Abs(got-tt.want[i]) > 1e-3*math.Max(1, tt.want[i]) {
					t.Errorf("rate at %gs = %g, want %g", at, got, tt.want[i])
				}
			}
			if pp, ok := p.(*PoissonPacer); tt.stage.Kind == StagePoisson && (!ok || pp.Seed != tt.stage.Seed) {
				t.Errorf("a Poisson stage's pacer is %v, want a PoissonPacer with the stage's seed %d", p, tt.stage.Seed)
			}
		})
	}
	if _, err := (Stage{Kind: StageConcurrency, Concurrency: 2, Requests: 4}).Pacer(); err == nil {
		t.Error("a concurrency stage has a pacer, want an error")
	}
}

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
