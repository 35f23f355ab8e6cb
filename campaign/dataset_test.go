package campaign

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/probes"
	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
	"github.com/needlestorm/needlestorm/sim"
)

const exampleDataset = "../examples/datasets/ab.yaml"

// TestExampleDataset checks the example dataset: at least 40 cases over
// at least 4 task types, every matcher kind used, and the simulator's
// right answer to every scored case passing its matchers.
func TestExampleDataset(t *testing.T) {
	c, err := Load(exampleDataset)
	if err != nil {
		t.Fatalf("%s", Detail(err))
	}
	d := c.Dataset()
	if d == nil || len(d.Cases) < 40 || len(d.TaskTypes()) < 4 {
		t.Fatalf("dataset %+v: want at least 40 cases over 4 task types", d)
	}
	kinds := map[string]bool{}
	for _, dc := range d.Cases {
		for _, m := range dc.Expected {
			kinds[m.Kind()+m.Match] = true
		}
		if dc.Open() {
			continue
		}
		right, err := sim.RightAnswer(dc.Expected)
		if err != nil {
			t.Errorf("case %s: %v", dc.ID, err)
			continue
		}
		if m := probes.ScoreMatchers(dc.Expected, right); !m.Strict {
			t.Errorf("case %s: the simulator's right answer %q fails its matchers", dc.ID, right)
		}
	}
	for _, k := range []string{"equals", "contains", "containsany", "regex", "one_of", "json", "number"} {
		if !kinds[k] {
			t.Errorf("no case uses the %s matcher", k)
		}
	}
	p, err := c.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(2 * len(d.Cases) * c.Repeats()); p.Requests != want {
		t.Errorf("plan sends %d requests, want %d (every case × repeats × 2 targets)", p.Requests, want)
	}
}

// TestExampleDatasetCampaign runs the example dataset campaign against its
// two simulated targets: each task type's accuracy is within sampling
// error of the simulator's task_accuracy, and the A/B section names the
// better target.
func TestExampleDatasetCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a campaign")
	}
	c, err := Load(exampleDataset)
	if err != nil {
		t.Fatalf("%s", Detail(err))
	}
	c.Load.Stages[0].Rate = 400 // quicker than the example's 50/s; the simulator is as fast
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var log bytes.Buffer
	dir := filepath.Join(t.TempDir(), "run")
	if _, err := c.Execute(ctx, dir, ExecOptions{Log: &log}); err != nil {
		t.Fatalf("execute: %v\n%s", err, log.String())
	}
	f, err := os.Open(filepath.Join(dir, run.RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := run.ReadRecords(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.TaskType == "" || r.Task != "dataset" {
			t.Fatalf("record %d has task %q, task_type %q", r.Seq, r.Task, r.TaskType)
		}
	}
	m, err := run.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := reports.Build(m, recs, reports.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]float64{}
	for _, ts := range c.Targets() {
		acc, err := ts.Sim.TaskAccuracy.Parse()
		if err != nil {
			t.Fatal(err)
		}
		want[ts.Config.Name] = acc
	}
	if len(s.TaskTypes) != 10 {
		t.Fatalf("%d task type rows, want 5 for each of 2 targets", len(s.TaskTypes))
	}
	for _, tt := range s.TaskTypes {
		p := want[tt.Target][tt.TaskType]
		// The answers are drawn independently per request (temperature
		// above 0), so the count of right answers is binomial: allow four
		// standard errors.
		tol := 4 * math.Sqrt(p*(1-p)/float64(tt.Scored))
		if math.Abs(tt.Accuracy-p) > tol+1e-9 {
			t.Errorf("%s %s: accuracy %.3f over %d answers, want %.2f within %.3f", tt.Target, tt.TaskType, tt.Accuracy, tt.Scored, p, tol)
		}
	}
	if len(s.AB) != 1 || s.AB[0].Better != "careful" {
		t.Fatalf("A/B %+v: want careful named better", s.AB)
	}
	var md bytes.Buffer
	if err := reports.WriteMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "careful is better") || !strings.Contains(md.String(), "## Task types (your dataset)") {
		t.Errorf("summary.md lacks the A/B verdict or the task types:\n%s", md.String())
	}
}

func TestDatasetErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{\"id\": \"a\", \"prompt\": \"p\"}\n{\"id\": \"a\", \"prompt\": \"q\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Parse("c.yaml", []byte("targets:\n  - {name: s, kind: sim}\ncorpus:\n  dataset: "+bad+"\nload:\n  stages: [{rate: 5}]\n"))
	if err == nil || !strings.Contains(err.Error(), "corpus.dataset") || !strings.Contains(err.Error(), "bad.jsonl:2: id:") {
		t.Fatalf("error %v, want corpus.dataset at bad.jsonl:2", err)
	}
	// Without lengths and without a dataset, lengths are still asked for.
	_, err = Parse("c.yaml", []byte("targets:\n  - {name: s, kind: sim}\nload:\n  stages: [{rate: 5}]\n"))
	if err == nil || !strings.Contains(err.Error(), "corpus.lengths") {
		t.Fatalf("error %v, want corpus.lengths missing", err)
	}
}

func TestDatasetOverride(t *testing.T) {
	c, err := Parse("c.yaml", []byte("targets:\n  - {name: s, kind: sim}\ncorpus:\n  lengths: [1k]\n  depths: [50]\nload:\n  stages: [{rate: 5}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	ds, _ := filepath.Abs("../examples/datasets/cases.jsonl")
	if err := c.Override(Overrides{Dataset: ds}); err != nil {
		t.Fatalf("%s", Detail(err))
	}
	if c.Dataset() == nil || c.Cases() != 1+len(c.Dataset().Cases) {
		t.Fatalf("cases %d with dataset %v", c.Cases(), c.Dataset() != nil)
	}
	if ts := c.Targets(); ts[0].Sim.Dataset != ds {
		t.Errorf("the sim target was not given the dataset: %q", ts[0].Sim.Dataset)
	}
	if err := c.Override(Overrides{Dataset: filepath.Join(t.TempDir(), "none.jsonl")}); err == nil || !strings.Contains(err.Error(), "--dataset") {
		t.Errorf("a missing dataset file: error %v, want one naming --dataset", err)
	}
}
