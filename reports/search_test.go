package reports

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/run"
)

// TestSearchVerdictsFromManifest checks that a step the envelope search
// ended early fails in the report even when its few records look fine, so
// the envelope's max rate is the search's, and that the steps table carries
// the search's phases.
func TestSearchVerdictsFromManifest(t *testing.T) {
	recs := interleave(
		stage("a", 0, 2, 1000, 50, 20, 20, 100*time.Millisecond),
		stage("a", 1, 4, 1000, 50, 20, 20, 100*time.Millisecond),
		stage("a", 2, 3, 1000, 50, 20, 20, 100*time.Millisecond),
	)
	search := []map[string]any{{"name": "a", "search": []run.SearchResult{{Length: 1000, Found: 3, Steps: []run.SearchStepResult{
		{Index: 0, Stage: 0, Phase: "ramp", Rate: 2, Pass: true},
		{Index: 1, Stage: 1, Phase: "ramp", Rate: 4, EndedEarly: true, Reason: "ttft rising 4.0x"},
		{Index: 2, Stage: 2, Phase: "bisect", Rate: 3, Pass: true},
	}}}}}
	b, err := json.Marshal(search)
	if err != nil {
		t.Fatal(err)
	}
	for _, withSearch := range []bool{false, true} {
		m := &run.Manifest{Schema: run.ManifestSchema, Status: run.StatusComplete}
		if withSearch {
			m.Targets = b
		}
		s, err := Build(m, append([]run.Record(nil), recs...), Options{})
		if err != nil {
			t.Fatal(err)
		}
		el := s.Envelope.Targets[0].Lengths[0]
		want := 4.0
		if withSearch {
			want = 3
		}
		if el.MaxRate == nil || math.Abs(*el.MaxRate-want) > 1e-6 {
			t.Errorf("search in manifest %v: max rate %v, want %v (points %+v)", withSearch, deref(el.MaxRate), want, el.Points)
		}
		if !withSearch {
			continue
		}
		var early *Step
		for i, st := range s.Targets[0].Steps {
			if st.Stage == 1 {
				early = &s.Targets[0].Steps[i]
			}
		}
		if early == nil || early.Pass || !early.EndedEarly || early.Phase != "ramp" || !strings.Contains(strings.Join(early.Reasons, ";"), "ended this step early: ttft rising") {
			t.Errorf("the early-ended step in the steps table: %+v", early)
		}
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}
