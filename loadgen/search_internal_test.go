package loadgen

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/run"
)

// searchThresholdRun runs the bracket against a pure judge that passes every
// rate at or below threshold, and returns the rates probed.
func searchThresholdRun(t *testing.T, spec SearchSpec, threshold float64) (*run.SearchResult, []float64, []string) {
	t.Helper()
	if err := spec.Validate(); err != nil {
		t.Fatalf("spec %+v: %v", spec, err)
	}
	b := newSearchBracket(spec)
	var rates []float64
	var phases []string
	err := b.run(func(step int, rate float64, phase string) (bool, error) {
		if step != len(rates) {
			t.Errorf("step index %d, want %d", step, len(rates))
		}
		rates = append(rates, rate)
		phases = append(phases, phase)
		return rate <= threshold, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	res := &run.SearchResult{}
	b.finish(res)
	return res, rates, phases
}

func TestSearchBracket(t *testing.T) {
	base := SearchSpec{StartRate: 1, MaxRate: 256, Resolution: 0.1}
	tests := []struct {
		name      string
		spec      SearchSpec
		threshold float64
		rates     []float64
		found     float64
		firstFail float64
		resolved  bool
		reason    string
	}{
		{
			name: "ramp then bisect", spec: base, threshold: 50,
			rates: []float64{1, 2, 4, 8, 16, 32, 64, 45.3, 53.8, 49.4},
			found: 49.4, firstFail: 53.8, resolved: true, reason: "resolved",
		},
		{
			name: "max rate holds", spec: base, threshold: 1000,
			rates: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
			found: 256, resolved: true, reason: "max_rate",
		},
		{
			name: "max rate is the ramp's last step", spec: SearchSpec{StartRate: 1, MaxRate: 100}, threshold: 1000,
			rates: []float64{1, 2, 4, 8, 16, 32, 64, 100},
			found: 100, resolved: true, reason: "max_rate",
		},
		{
			name: "start fails: down, then bisect", spec: base, threshold: 0.3,
			rates: []float64{1, 0.5, 0.25, 0.354, 0.297, 0.324},
			found: 0.297, firstFail: 0.324, resolved: true, reason: "resolved",
		},
		{
			name: "nothing holds down to min rate", spec: base, threshold: 0.01,
			rates:     []float64{1, 0.5, 0.25, 0.125},
			firstFail: 0.125, reason: "no rate held",
		},
		{
			name: "max steps cut the ramp", spec: SearchSpec{StartRate: 1, MaxRate: 256, MaxSteps: 5}, threshold: 50,
			rates: []float64{1, 2, 4, 8, 16},
			found: 16, reason: "max_steps=5",
		},
		{
			name: "growth 4", spec: SearchSpec{StartRate: 2, MaxRate: 100, Growth: 4}, threshold: 30,
			rates: []float64{2, 8, 32, 16, 22.6, 26.9, 29.3},
			found: 29.3, firstFail: 32, resolved: true, reason: "resolved",
		},
		{
			name: "finer resolution", spec: SearchSpec{StartRate: 10, MaxRate: 80, Resolution: 0.02}, threshold: 25,
			rates: []float64{10, 20, 40, 28.3, 23.8, 26, 24.9, 25.4, 25.1},
			found: 24.9, firstFail: 25.1, resolved: true, reason: "resolved",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, rates, phases := searchThresholdRun(t, tt.spec, tt.threshold)
			if !slices.Equal(rates, tt.rates) {
				t.Errorf("rates probed %v, want %v (phases %v)", rates, tt.rates, phases)
			}
			if res.Found != tt.found || res.FirstFail != tt.firstFail || res.Resolved != tt.resolved {
				t.Errorf("found %g, first fail %g, resolved %v; want %g, %g, %v", res.Found, res.FirstFail, res.Resolved, tt.found, tt.firstFail, tt.resolved)
			}
			if !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("reason %q, want it to mention %q", res.Reason, tt.reason)
			}
		})
	}
}

// TestSearchBracketSweep checks the search's promise for many thresholds:
// the rate found holds, the first failing rate is within the resolution of
// it, and the steps stay within the default cap and well below a grid's.
func TestSearchBracketSweep(t *testing.T) {
	for _, growth := range []float64{1.5, 2, 3} {
		spec := SearchSpec{StartRate: 1, MaxRate: 500, Resolution: 0.1, Growth: growth}.WithDefaults()
		grid := int(math.Floor(math.Log(spec.MaxRate/spec.StartRate)/math.Log1p(spec.Resolution))) + 1
		for thr := 1.0; thr < spec.MaxRate; thr *= 1.037 {
			res, rates, _ := searchThresholdRun(t, spec, thr)
			switch {
			case !res.Resolved:
				t.Errorf("growth %g, threshold %g: not resolved (%s) after %v", growth, thr, res.Reason, rates)
			case res.Found > thr || res.FirstFail <= thr:
				t.Errorf("growth %g, threshold %g: found %g, first fail %g do not bracket it", growth, thr, res.Found, res.FirstFail)
			case (res.FirstFail-res.Found)/res.Found > spec.Resolution+1e-9:
				t.Errorf("growth %g, threshold %g: found %g, first fail %g: further apart than %g", growth, thr, res.Found, res.FirstFail, spec.Resolution)
			case len(rates) > spec.MaxSteps || len(rates)*3 > grid:
				t.Errorf("growth %g, threshold %g: %d steps, above the cap %d or a third of the grid's %d", growth, thr, len(rates), spec.MaxSteps, grid)
			}
		}
	}
}

func TestSearchBracketProbeError(t *testing.T) {
	b := newSearchBracket(SearchSpec{StartRate: 1, MaxRate: 64})
	boom := errors.New("boom")
	n := 0
	err := b.run(func(int, float64, string) (bool, error) {
		n++
		if n == 3 {
			return false, boom
		}
		return true, nil
	})
	if !errors.Is(err, boom) || n != 3 {
		t.Errorf("run returned %v after %d probes, want boom after 3", err, n)
	}
}

func TestSearchSpecDefaultsAndValidate(t *testing.T) {
	d := SearchSpec{MaxRate: 64}.WithDefaults()
	want := SearchSpec{
		StartRate: 1, MaxRate: 64, MinRate: 0.125, Resolution: 0.1, Growth: 2,
		StepDuration: run.Seconds(20 * time.Second), MaxSteps: 7 + 3, // the whole ramp (1 to 64), then 3 bisections of [32, 64]
		EarlyStop: EarlyStop{MinCompletions: 12, MaxErrorShare: 0.5, TTFTGrowth: 3},
	}
	if d != want {
		t.Errorf("defaults %+v, want %+v", d, want)
	}
	tests := []struct {
		name string
		spec SearchSpec
		want string // "" for valid
	}{
		{"defaults", SearchSpec{MaxRate: 10}, ""},
		{"requests only", SearchSpec{MaxRate: 10, StepRequests: 50}, ""},
		{"ttft rule off", SearchSpec{MaxRate: 10, EarlyStop: EarlyStop{TTFTGrowth: -1}}, ""},
		{"no max rate", SearchSpec{}, "max_rate"},
		{"max below start", SearchSpec{StartRate: 5, MaxRate: 2}, "below start_rate"},
		{"negative start", SearchSpec{StartRate: -1, MaxRate: 2}, "start_rate"},
		{"nan max", SearchSpec{MaxRate: math.NaN()}, "max_rate"},
		{"min above start", SearchSpec{MaxRate: 10, MinRate: 2}, "min_rate"},
		{"resolution 1", SearchSpec{MaxRate: 10, Resolution: 1}, "resolution"},
		{"resolution tiny", SearchSpec{MaxRate: 10, Resolution: 0.001}, "resolution"},
		{"growth 1", SearchSpec{MaxRate: 10, Growth: 1}, "growth"},
		{"negative duration", SearchSpec{MaxRate: 10, StepDuration: -1}, "step_duration"},
		{"negative requests", SearchSpec{MaxRate: 10, StepRequests: -1}, "step_requests"},
		{"negative steps", SearchSpec{MaxRate: 10, MaxSteps: -1}, "max_steps"},
		{"negative warmup", SearchSpec{MaxRate: 10, Warmup: -1}, "warmup"},
		{"error share above 1", SearchSpec{MaxRate: 10, EarlyStop: EarlyStop{MaxErrorShare: 1.5}}, "max_error_share"},
		{"ttft growth below 1", SearchSpec{MaxRate: 10, EarlyStop: EarlyStop{TTFTGrowth: 0.5}}, "ttft_growth"},
		{"negative completions", SearchSpec{MaxRate: 10, EarlyStop: EarlyStop{MinCompletions: -2}}, "min_completions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate: %v, want an error naming %q", err, tt.want)
			}
		})
	}
}

// TestSearchWatch checks the early-stop rules on hand-made completions.
func TestSearchWatch(t *testing.T) {
	ok := func(ttft float64) run.Record { return run.Record{TTFT: run.Seconds(ttft * float64(time.Second))} }
	fail := run.Record{ErrorClass: run.ErrServerError}
	canceled := run.Record{ErrorClass: run.ErrCanceled}
	rising := func(n int) []run.Record {
		var out []run.Record
		for i := range n {
			out = append(out, ok(0.05*float64(i+1)))
		}
		return out
	}
	flat := func(n int) []run.Record {
		var out []run.Record
		for i := range n {
			out = append(out, ok(0.05+0.001*float64(i%3)))
		}
		return out
	}
	repeat := func(r run.Record, n int) []run.Record { return slices.Repeat([]run.Record{r}, n) }
	tests := []struct {
		name  string
		rules EarlyStop
		recs  []run.Record
		want  string // "" for no stop
		at    int    // completions when it stopped
	}{
		{"flat ttft", EarlyStop{}, flat(60), "", 0},
		{"rising ttft", EarlyStop{}, rising(60), "ttft rising", 12},
		{"rising ttft below the objective", EarlyStop{TTFTLimit: run.Seconds(10 * time.Second)}, rising(60), "", 0},
		{"rising ttft above the objective", EarlyStop{TTFTLimit: run.Seconds(time.Second)}, rising(60), "objective", 24},
		{"ttft rule off", EarlyStop{TTFTGrowth: -1}, rising(60), "", 0},
		{"errors", EarlyStop{}, append(flat(4), repeat(fail, 20)...), "server_error", 12},
		{"errors below the bound", EarlyStop{}, append(flat(30), repeat(fail, 20)...), "", 0},
		{"canceled ones are not errors", EarlyStop{}, append(flat(12), repeat(canceled, 30)...), "", 0},
		{"disabled", EarlyStop{Disabled: true}, repeat(fail, 40), "", 0},
		{"higher minimum", EarlyStop{MinCompletions: 30}, repeat(fail, 40), "30 of 30", 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cause error
			rules := tt.rules.WithDefaults()
			w := &searchWatch{rules: rules, stop: func(err error) { cause = err }, nextCheck: rules.MinCompletions}
			at := 0
			for i := range tt.recs {
				w.add(&tt.recs[i])
				if cause != nil && at == 0 {
					at = i + 1
				}
			}
			_, _, early := w.result()
			switch {
			case tt.want == "" && (early != "" || cause != nil):
				t.Errorf("stopped (%q), want no early stop", early)
			case tt.want != "" && (!strings.Contains(early, tt.want) || !errors.Is(cause, errSearchEarlyStop)):
				t.Errorf("early stop %q (cause %v), want one mentioning %q", early, cause, tt.want)
			case tt.want != "" && at != tt.at:
				t.Errorf("stopped after %d completions, want %d (%s)", at, tt.at, early)
			}
		})
	}
}
