package loadgen

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/run"
)

func TestStageValidate(t *testing.T) {
	sec := run.Seconds(time.Second)
	tests := []struct {
		name    string
		stage   Stage
		wantErr string
	}{
		{"constant", Stage{Kind: StageConstant, Rate: 4, Duration: sec}, ""},
		{"constant by requests", Stage{Kind: StageConstant, Rate: 0.5, Requests: 3}, ""},
		{"poisson", Stage{Kind: StagePoisson, Rate: 4, Duration: sec}, ""},
		{"ramp", Stage{Kind: StageRamp, Rate: 0, ToRate: 8, Duration: sec}, ""},
		{"sine", Stage{Kind: StageSine, Rate: 4, Amplitude: 2, Period: sec, Requests: 10}, ""},
		{"concurrency", Stage{Kind: StageConcurrency, Concurrency: 8, Requests: 10}, ""},
		{"unbounded", Stage{Kind: StageConstant, Rate: 4}, "so the stage ends"},
		{"zero rate", Stage{Kind: StageConstant, Duration: sec}, "rate: must be above 0"},
		{"nan rate", Stage{Kind: StagePoisson, Rate: math.NaN(), Duration: sec}, "finite"},
		{"ramp without duration", Stage{Kind: StageRamp, Rate: 1, ToRate: 2, Requests: 5}, "needs a duration"},
		{"ramp of zeros", Stage{Kind: StageRamp, Duration: sec}, "must not be both 0"},
		{"sine amplitude too big", Stage{Kind: StageSine, Rate: 4, Amplitude: 4, Period: sec, Duration: sec}, "amplitude"},
		{"sine without period", Stage{Kind: StageSine, Rate: 4, Duration: sec}, "period"},
		{"concurrency zero", Stage{Kind: StageConcurrency, Duration: sec}, "at least 1"},
		{"negative duration", Stage{Kind: StageConstant, Rate: 1, Duration: -sec}, "negative"},
		{"unknown kind", Stage{Kind: "burst", Rate: 1, Duration: sec}, `unknown stage kind "burst"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.stage.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	if err := (Schedule{}).Validate(); err == nil {
		t.Error("an empty schedule validated")
	}
}

func TestStageName(t *testing.T) {
	tests := []struct {
		stage Stage
		want  string
	}{
		{Stage{Kind: StageConstant, Rate: 4}, "rate=4/s"},
		{Stage{Kind: StageConstant, Rate: 0.5}, "rate=0.5/s"},
		{Stage{Kind: StagePoisson, Rate: 4}, "poisson=4/s"},
		{Stage{Kind: StageRamp, Rate: 1, ToRate: 8}, "ramp=1-8/s"},
		{Stage{Kind: StageSine, Rate: 4, Amplitude: 2, Period: run.Seconds(20 * time.Second)}, "sine=4±2/s/20s"},
		{Stage{Kind: StageConcurrency, Concurrency: 8}, "concurrency=8"},
		{Stage{Kind: StageConcurrency, Concurrency: 8, Warmup: true}, "warmup concurrency=8"},
		{Stage{Kind: StageConstant, Rate: 4, Label: "peak"}, "peak"},
	}
	for _, tt := range tests {
		if got := tt.stage.Name(); got != tt.want {
			t.Errorf("%+v: Name() = %q, want %q", tt.stage, got, tt.want)
		}
	}
}

func TestScheduleJSON(t *testing.T) {
	sc := Schedule{
		{Kind: StageConstant, Rate: 2, Duration: run.Seconds(10 * time.Second), Warmup: true},
		{Kind: StageSine, Rate: 4, Amplitude: 1, Period: run.Seconds(30 * time.Second), Requests: 100, Label: "wave"},
		{Kind: StagePoisson, Rate: 3, Duration: run.Seconds(time.Second), Seed: 9},
	}
	b, err := json.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"kind":"constant"`, `"duration":10`, `"warmup":true`, `"period":30`, `"amplitude":1`, `"requests":100`, `"label":"wave"`, `"seed":9`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("schedule JSON %s lacks %s", b, key)
		}
	}
	var back Schedule
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, sc) {
		t.Errorf("round trip: got %+v, want %+v", back, sc)
	}
}

// clockOffsets runs a stage's ideal clock to its end.
func clockOffsets(t *testing.T, st Stage) []time.Duration {
	t.Helper()
	c, err := newStageClock(st)
	if err != nil {
		t.Fatal(err)
	}
	var out []time.Duration
	for len(out) < 1_000_000 {
		o, ok := c.next()
		if !ok {
			return out
		}
		out = append(out, o)
	}
	t.Fatal("stage clock did not end")
	return nil
}

// countIn counts offsets in [from, to).
func countIn(offs []time.Duration, from, to time.Duration) int {
	n := 0
	for _, o := range offs {
		if o >= from && o < to {
			n++
		}
	}
	return n
}

func TestStageClockShapes(t *testing.T) {
	s := func(d float64) time.Duration { return time.Duration(d * float64(time.Second)) }
	tests := []struct {
		name  string
		stage Stage
		// windows of the stage and the expected number of hits in each.
		windows [][2]float64
		want    []float64
		tol     float64 // relative
	}{
		{
			name:    "constant 50/s for 10s",
			stage:   Stage{Kind: StageConstant, Rate: 50, Duration: run.Seconds(s(10))},
			windows: [][2]float64{{0, 5}, {5, 10}},
			want:    []float64{250, 250},
			tol:     0.005,
		},
		{
			name:  "ramp 10 to 50/s over 10s",
			stage: Stage{Kind: StageRamp, Rate: 10, ToRate: 50, Duration: run.Seconds(s(10))},
			// rate(t) = 10 + 4t: 100 hits in the first half, 200 in the second.
			windows: [][2]float64{{0, 5}, {5, 10}, {0, 2.5}, {7.5, 10}},
			want:    []float64{100, 200, 37.5, 112.5},
			tol:     0.05,
		},
		{
			name:  "ramp from 0 to 40/s over 10s",
			stage: Stage{Kind: StageRamp, Rate: 0, ToRate: 40, Duration: run.Seconds(s(10))},
			// rate(t) = 4t: 50 in the first half, 150 in the second.
			windows: [][2]float64{{0, 5}, {5, 10}},
			want:    []float64{50, 150},
			tol:     0.06,
		},
		{
			name:  "sine 20±10/s, period 4s",
			stage: Stage{Kind: StageSine, Rate: 20, Amplitude: 10, Period: run.Seconds(s(4)), Duration: run.Seconds(s(8))},
			// Starting at the mean going up: per period, 40 + 10*4/pi in the
			// first half and 40 - 10*4/pi in the second.
			windows: [][2]float64{{0, 2}, {2, 4}, {4, 6}, {6, 8}},
			want:    []float64{40 + 40/math.Pi, 40 - 40/math.Pi, 40 + 40/math.Pi, 40 - 40/math.Pi},
			tol:     0.06,
		},
		{
			name:    "poisson 100/s for 100s",
			stage:   Stage{Kind: StagePoisson, Rate: 100, Duration: run.Seconds(s(100)), Seed: 42},
			windows: [][2]float64{{0, 100}},
			want:    []float64{10000},
			tol:     0.03,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offs := clockOffsets(t, tt.stage)
			if len(offs) == 0 || offs[0] != 0 {
				t.Fatalf("first hit at %v, want 0", offs)
			}
			for i := 1; i < len(offs); i++ {
				if offs[i] < offs[i-1] {
					t.Fatalf("hit %d at %s before hit %d at %s", i, offs[i], i-1, offs[i-1])
				}
			}
			if last := offs[len(offs)-1]; last >= tt.stage.Duration.Duration() {
				t.Errorf("last hit at %s, at or after the stage's end %s", last, tt.stage.Duration.Duration())
			}
			for i, w := range tt.windows {
				got := float64(countIn(offs, s(w[0]), s(w[1])))
				if math.Abs(got-tt.want[i]) > tt.tol*tt.want[i]+1 {
					t.Errorf("hits in [%gs, %gs) = %g, want %.1f ± %.0f%%", w[0], w[1], got, tt.want[i], 100*tt.tol)
				}
			}
		})
	}
}

func TestStageClockRequests(t *testing.T) {
	offs := clockOffsets(t, Stage{Kind: StageConstant, Rate: 10, Requests: 7, Duration: run.Seconds(10 * time.Second)})
	if len(offs) != 7 {
		t.Errorf("a 7-request stage gave %d hits", len(offs))
	}
	offs = clockOffsets(t, Stage{Kind: StageConstant, Rate: 10, Requests: 100, Duration: run.Seconds(time.Second)})
	if len(offs) != 10 {
		t.Errorf("a 1 s stage at 10/s capped at 100 requests gave %d hits, want 10", len(offs))
	}
	offs = clockOffsets(t, Stage{Kind: StageConstant, Rate: 0.5, Requests: 3})
	if want := []time.Duration{0, 2 * time.Second, 4 * time.Second}; !reflect.DeepEqual(offs, want) {
		t.Errorf("0.5/s: hits at %v, want %v", offs, want)
	}
}

func TestScheduleExpectedDuration(t *testing.T) {
	sec := func(n float64) run.Seconds { return run.Seconds(n * float64(time.Second)) }
	sc := Schedule{
		{Kind: StageConstant, Rate: 2, Duration: sec(10)},
		{Kind: StageConstant, Rate: 4, Requests: 20},
		{Kind: StageConstant, Rate: 4, Requests: 100, Duration: sec(5)},
		{Kind: StageConcurrency, Concurrency: 2, Duration: sec(3)},
	}
	if d, ok := sc.ExpectedDuration(); !ok || d != 23*time.Second {
		t.Errorf("ExpectedDuration = %s, %v; want 23s, true", d, ok)
	}
	sc = append(sc, Stage{Kind: StageConcurrency, Concurrency: 2, Requests: 5})
	if _, ok := sc.ExpectedDuration(); ok {
		t.Error("a concurrency stage bounded by requests only has a known duration")
	}
}

func TestConstantStagesAndWarmup(t *testing.T) {
	sc := ConstantStages([]float64{1, 2}, 10*time.Second, 0).WithWarmup(5 * time.Second)
	want := Schedule{
		{Kind: StageConstant, Rate: 1, Duration: run.Seconds(5 * time.Second), Warmup: true},
		{Kind: StageConstant, Rate: 1, Duration: run.Seconds(10 * time.Second)},
		{Kind: StageConstant, Rate: 2, Duration: run.Seconds(10 * time.Second)},
	}
	if !reflect.DeepEqual(sc, want) {
		t.Errorf("got %+v, want %+v", sc, want)
	}
	ramp := Schedule{{Kind: StageRamp, ToRate: 8, Duration: run.Seconds(time.Second)}}.WithWarmup(time.Second)
	if err := ramp.Validate(); err != nil || ramp[0].Rate != 8 || ramp[0].Kind != StageConstant {
		t.Errorf("warm-up before a ramp from 0: %+v, %v", ramp[0], err)
	}
}
