package campaign

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/route"
)

// TestRoutingByTaskType runs needles and a small dataset of extraction
// cases against two simulated targets that read the needles equally well
// but differ on the cases, builds the envelope, and routes a job naming
// the extraction task: the cheaper target, right on no extraction case, is
// rejected for it, and the other is chosen with its accuracy on the cases.
func TestRoutingByTaskType(t *testing.T) {
	dir := t.TempDir()
	var cases strings.Builder
	for i := range 8 {
		cases.WriteString(`{"id": "e` + string(rune('a'+i)) + `", "task_type": "extraction", "prompt": "Which colour is the sky?", "expected": [{"equals": "blue"}]}` + "\n")
	}
	data := filepath.Join(dir, "cases.jsonl")
	if err := os.WriteFile(data, []byte(cases.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	_, m, recs, log := executeTest(t, `
targets:
  - {name: good, kind: sim, sim_profile: fast, time_scale: 0, sim: {task_accuracy: {extraction: 1}}, prices: {input: 1, output: 1}}
  - {name: bad, kind: sim, sim_profile: fast, time_scale: 0, sim: {task_accuracy: {extraction: 0}}, prices: {input: 0.1, output: 0.1}}
corpus: {lengths: [300], depths: [50], dataset: `+data+`}
load: {stages: [{rate: 100, requests: 16}]}
`, ExecOptions{NoPreflight: true})
	obj, err := reports.DecodeObjectives(m.Objectives)
	if err != nil {
		t.Fatal(err)
	}
	prices, err := reports.PricesFromManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	s, err := reports.Build(m, recs, reports.Options{Objectives: obj, Prices: prices})
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := route.Merge(route.Input{Path: "run", Envelope: s.Envelope})
	if err != nil {
		t.Fatal(err)
	}
	for i := range fleet.Targets {
		if fleet.Targets[i].Target.TaskType("extraction") == nil {
			t.Fatalf("%s: envelope without the extraction task type (%d records)\n%s", fleet.Targets[i].Target.Target, len(recs), log)
		}
	}
	f, err := route.Parse("r.yaml", []byte("targets: {good: {tier: small}, bad: {tier: small}}\njobs:\n  - {name: pull, task: extraction, context: 300, accuracy: 0.9}\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := route.Decide(f, fleet).Decisions[0]
	c := d.Chosen()
	if c == nil || c.Target != "good" || !strings.Contains(c.AccuracyNote, "accuracy on your extraction cases 1.00") {
		t.Fatalf("chosen %+v; %s", c, d.Summary())
	}
	for _, o := range d.Candidates {
		if o.Target == "bad" && (o.Covers || !strings.Contains(strings.Join(o.Reasons, "; "), "accuracy on your extraction cases 0.00 < 0.90")) {
			t.Errorf("bad: covers %v, reasons %q", o.Covers, o.Reasons)
		}
	}
}
