package loadgen_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/internal/testkit"
	"github.com/needlestorm/needlestorm/loadgen"
)

// lengthOrderCases are cases in matrix order: every 1k case (depths 0, 50,
// 100, two samples each), then every 4k one.
func lengthOrderCases() []corpus.Case {
	var cs []corpus.Case
	for _, l := range []int{1000, 4000} {
		for _, d := range []float64{0, 50, 100} {
			for s := range 2 {
				cs = append(cs, corpus.Case{ID: fmt.Sprintf("c-%d-%g-%d", l, d, s), Task: corpus.TaskSingle, Length: l, PromptTokens: l, Depth: d, Expected: []string{"1"}})
			}
		}
	}
	return cs
}

func TestInterleave(t *testing.T) {
	cs := lengthOrderCases()
	got := loadgen.Interleave(cs)
	var ids []string
	for _, c := range got {
		ids = append(ids, c.ID)
	}
	want := []string{"c-1000-0-0", "c-4000-0-0", "c-1000-50-0", "c-4000-50-0", "c-1000-100-0", "c-4000-100-0",
		"c-1000-0-1", "c-4000-0-1", "c-1000-50-1", "c-4000-50-1", "c-1000-100-1", "c-4000-100-1"}
	if !slices.Equal(ids, want) {
		t.Errorf("order %v, want %v", ids, want)
	}
	if cs[1].ID != "c-1000-0-1" {
		t.Errorf("Interleave changed its argument")
	}
}

// TestShortStageSendsEveryLength: a stage that ends after three requests
// (as --lengths 1k,4k --rates 1 --stage-duration 3s does) still sends
// both lengths, where matrix order would send three 1k prompts.
func TestShortStageSendsEveryLength(t *testing.T) {
	sink := &testkit.MemSink{}
	d, err := loadgen.NewDispatcher(testkit.NewFakeTarget(time.Millisecond), lengthOrderCases(), sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(t.Context(), loadgen.ConstantStages([]float64{50}, 0, 3)); err != nil {
		t.Fatal(err)
	}
	lengths := map[int]int{}
	for _, r := range sink.Records() {
		lengths[r.Length]++
	}
	if len(sink.Records()) != 3 || lengths[1000] == 0 || lengths[4000] == 0 {
		t.Errorf("lengths sent %v, want both 1k and 4k among 3 requests", lengths)
	}
}

// TestInterleaveTasks: within a length the tasks alternate, so a stage
// that ends early still sends every task (a matrix lists each task's
// cases together: at 40 requests of 72, cwe after single and latent was
// never sent).
func TestInterleaveTasks(t *testing.T) {
	var cs []corpus.Case
	for _, task := range []string{"single", "latent", "cwe"} {
		for _, depth := range []float64{0, 100} {
			cs = append(cs, corpus.Case{ID: fmt.Sprintf("%s-%g", task, depth), Task: task, Length: 1000, Depth: depth})
		}
	}
	var ids []string
	for _, c := range loadgen.Interleave(cs) {
		ids = append(ids, c.ID)
	}
	want := []string{"single-0", "latent-0", "cwe-0", "single-100", "latent-100", "cwe-100"}
	if !slices.Equal(ids, want) {
		t.Errorf("order %v, want %v", ids, want)
	}
}
