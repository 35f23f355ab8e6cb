package main

import (
	"path/filepath"
	"testing"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/run"
)

// TestRunHarderTasks: run --task latent,cwe drives the built-in simulator
// through both tasks; its faithful profile answers every case right, with
// recall 1.
func TestRunHarderTasks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	_, errOut, err := runTestApp(t, "run", "--out", dir, "--rates", "40", "--stage-duration", "500ms",
		"--lengths", "1k", "--depths", "0,50", "--task", "latent,cwe", "--quiet", "--sim-time-scale", "0")
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, errOut)
	}
	m, recs := runTestReadDir(t, dir)
	if m.Status != run.StatusComplete {
		t.Fatalf("status %q", m.Status)
	}
	seen := map[string]int{}
	for _, r := range recs {
		seen[r.Task]++
		if !r.Correct || r.Recall != 1 {
			t.Errorf("%s: correct %v recall %v, answer %q", r.CaseID, r.Correct, r.Recall, r.Answer)
		}
	}
	if seen[corpus.TaskLatent] == 0 || seen[corpus.TaskCWE] == 0 {
		t.Fatalf("records per task %v", seen)
	}
}
