package loadgen_test

import (
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/internal/testkit"
	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/run"
)

// TestSearchUnresolvedStep: a step the judge cannot tell about (too few
// requests, a client behind its schedule) is not held, so the search goes
// on below it; as the first failure it leaves the result unresolved, its
// reason saying so.
func TestSearchUnresolvedStep(t *testing.T) {
	target := &searchFakeTarget{}
	judge := func(step loadgen.SearchStep, recs []run.Record) loadgen.StepVerdict {
		if step.Rate >= 80 {
			return loadgen.StepVerdict{Unresolved: true, Reason: "ttft_p95 rests on 5 values (minimum 20)"}
		}
		return loadgen.StepVerdict{Pass: true}
	}
	spec := loadgen.SearchSpec{StartRate: 40, MaxRate: 640, StepRequests: 5}
	results, err := loadgen.Search(t.Context(), target, searchCases(t, 256), spec, judge, &testkit.MemSink{}, loadgen.Observe(target))
	if err != nil {
		t.Fatal(err)
	}
	res := results[0]
	if len(res.Steps) < 3 || res.Found < 40 || res.Found >= 80 || res.FirstFail != 80 || res.Resolved || !strings.Contains(res.Reason, "unresolved at 80/s") {
		t.Fatalf("result %+v: want a rate between 40/s and 80/s found, 80/s the unresolved first failure, the result unresolved", res)
	}
	if st := res.Steps[1]; st.Pass || !st.Unresolved || !strings.Contains(st.Reason, "rests on 5 values") {
		t.Errorf("step %+v: want unresolved, not passed, with the judge's reason", st)
	}
}

// TestSearchMinStepRequests: MinStepRequests raises a step's request bound
// and lengthens its duration so that it sends at least that many.
func TestSearchMinStepRequests(t *testing.T) {
	for _, spec := range []loadgen.SearchSpec{
		{StartRate: 40, MaxRate: 40, StepRequests: 5, MinStepRequests: 21},
		{StartRate: 40, MaxRate: 40, StepDuration: run.Seconds(1e8), MinStepRequests: 21}, // 0.1 s: 4 requests at 40/s
	} {
		target := &searchFakeTarget{}
		judge := func(loadgen.SearchStep, []run.Record) loadgen.StepVerdict { return loadgen.StepVerdict{Pass: true} }
		results, err := loadgen.Search(t.Context(), target, searchCases(t, 256), spec, judge, &testkit.MemSink{}, loadgen.Observe(target))
		if err != nil {
			t.Fatal(err)
		}
		if n := results[0].Steps[0].Requests; n < 21 {
			t.Errorf("spec %+v: the step sent %d requests, want at least 21", spec, n)
		}
	}
}
