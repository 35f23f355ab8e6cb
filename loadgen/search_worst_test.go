package loadgen

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/run"
)

// errBranch stops a replayed search where its script of verdicts ends.
var errBranch = errors.New("the script of verdicts ends here")

// bruteWorstCase runs the search's bracket (its run loop, as the Searcher
// does) once for every script of verdicts, extending a script by both
// verdicts wherever it ends before the search does, and returns the most
// steps and requests any script led to, the warm-up left out.
func bruteWorstCase(t *testing.T, spec SearchSpec) (steps int, requests int64) {
	t.Helper()
	spec = spec.WithDefaults()
	scripts := [][]bool{nil}
	for runs := 0; len(scripts) > 0; runs++ {
		if runs > 1<<16 {
			t.Fatalf("spec %+v: more than %d scripts", spec, 1<<16)
		}
		script := scripts[len(scripts)-1]
		scripts = scripts[:len(scripts)-1]
		var n int64
		probed := 0
		err := newSearchBracket(spec).run(func(step int, rate float64, _ string) (bool, error) {
			if step == len(script) {
				return false, errBranch
			}
			probed++
			n += spec.stepStage(0, rate, false).Estimate(0).Requests
			return script[step], nil
		})
		if errors.Is(err, errBranch) {
			scripts = append(scripts, append(append([]bool(nil), script...), true), append(append([]bool(nil), script...), false))
			continue
		}
		steps, requests = max(steps, probed), max(requests, n)
	}
	return steps, requests
}

// TestSearchWorstCaseIsTheSearchs checks that the worst case the plan
// shows is the most the search itself can take: replaying the search for
// every script of verdicts finds the same most steps and requests, and the
// search's default cap on steps is that most (so it never cuts a search
// short, and a manifest's max_steps is what a length can take).
func TestSearchWorstCaseIsTheSearchs(t *testing.T) {
	sec := run.Seconds(time.Second)
	specs := []SearchSpec{
		{StartRate: 1, MaxRate: 8, Resolution: 0.25, StepDuration: 2 * sec},
		{StartRate: 1, MaxRate: 64, StepDuration: sec},
		{StartRate: 2, MaxRate: 100, Growth: 4, StepRequests: 30},
		{StartRate: 10, MaxRate: 80, Resolution: 0.02, StepDuration: sec, StepRequests: 25},
		{StartRate: 1, MaxRate: 256, MaxSteps: 5, StepDuration: sec},
		{StartRate: 0.5, MaxRate: 3, Resolution: 0.05, MinRate: 0.01, StepDuration: 3 * sec},
	}
	for _, spec := range specs {
		w := spec.WorstCase()
		steps, requests := bruteWorstCase(t, spec)
		if w.Steps != steps || w.Requests != requests {
			t.Errorf("spec %+v: worst case %d steps, %d requests; replaying every script gives %d, %d", spec, w.Steps, w.Requests, steps, requests)
		}
		if d := spec.WithDefaults(); spec.MaxSteps == 0 && d.MaxSteps != steps {
			t.Errorf("spec %+v: default max_steps %d, want the worst case %d", spec, d.MaxSteps, steps)
		}
	}
}

// TestSearchWorstCaseWarmup checks that the warm-up is counted where the
// search runs it: before the steps of the length, every length.
func TestSearchWorstCaseWarmup(t *testing.T) {
	sec := run.Seconds(time.Second)
	spec := SearchSpec{StartRate: 2, MaxRate: 8, StepDuration: sec}
	bare := spec.WorstCase()
	spec.Warmup = 3 * sec
	w := spec.WorstCase()
	if w.Warmup.Requests != 6 || w.Requests != bare.Requests+6 || w.Duration != bare.Duration+3*time.Second || w.Steps != bare.Steps {
		t.Errorf("with a 3 s warm-up at 2/s: %+v; without: %+v", w, bare)
	}
}

// TestStageEstimateConstant checks a constant stage's count against the
// send times its clock makes: one at 0, then one every interval, before
// the duration ends (fractional rates included). At 0.3/s the interval is
// 3.333333333 s, rounded to the nanosecond as vegeta's rate holds it, so
// the fourth send, at 9.999999999 s, is still within 10 s: rate ×
// duration would say 3.
func TestStageEstimateConstant(t *testing.T) {
	for _, tt := range []struct {
		rate float64
		dur  time.Duration
		want int64
	}{{2, 8 * time.Second, 16}, {5.66, 2 * time.Second, 12}, {6.73, 2 * time.Second, 14}, {0.3, 10 * time.Second, 4}, {3, 0, 7}} {
		st := Stage{Kind: StageConstant, Rate: tt.rate, Duration: run.Seconds(tt.dur)}
		if tt.dur == 0 {
			st.Requests = 7
		}
		if e := st.Estimate(0); e.Requests != tt.want || e.Count != CountExact {
			t.Errorf("%g/s for %s: %d requests (%s), want %d", tt.rate, tt.dur, e.Requests, e.Count, tt.want)
		}
	}
}

// TestNonceSaltRefusedWhereIgnored checks that NonceSalt, which a run
// directory's requests cannot take (they carry the run's salt), is
// refused by a Session and a Runner rather than silently ignored.
func TestNonceSaltRefusedWhereIgnored(t *testing.T) {
	rs, err := run.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close(context.Background(), nil)
	s := NewSession(rs)
	if err := s.Dispatch(context.Background(), nil, nil, nil, NonceSalt(7)); !errors.Is(err, errSessionSalt) {
		t.Errorf("Session.Dispatch with NonceSalt: %v", err)
	}
	if _, err := s.Search(context.Background(), nil, nil, SearchSpec{MaxRate: 1}, nil, NonceSalt(7)); !errors.Is(err, errSessionSalt) {
		t.Errorf("Session.Search with NonceSalt: %v", err)
	}
	if _, err := NewSession(rs, NonceSalt(7)).Search(context.Background(), nil, nil, SearchSpec{MaxRate: 1}, nil); !errors.Is(err, errSessionSalt) {
		t.Errorf("a Session made with NonceSalt: %v", err)
	}
	sched := Schedule{{Kind: StageConstant, Rate: 1, Requests: 1}}
	if _, err := NewRunner(nil, nil, sched, NonceSalt(7)); !errors.Is(err, errSessionSalt) {
		t.Errorf("NewRunner with NonceSalt: %v", err)
	}
}
