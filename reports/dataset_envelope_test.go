package reports

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/run"
)

// datasetRecords are 40 dataset records of target sim, 30 right, at a
// length (56) no needle case has.
func datasetRecords() []run.Record {
	var out []run.Record
	for i := range 40 {
		r := dsRecord("sim", fmt.Sprintf("c%02d", i), []string{"extraction", "code"}[i%2], i < 30, false)
		r.Length, r.Seq = 56, int64(1000+i)
		out = append(out, r)
	}
	return out
}

// TestDatasetOnlyHasNoNeedleEnvelope: a run of the user's own cases alone
// has no needle envelope, cells or points, and every renderer says so
// rather than giving an effective context of the dataset's length.
func TestDatasetOnlyHasNoNeedleEnvelope(t *testing.T) {
	s, err := Build(nil, datasetRecords(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Points) != 0 || len(s.Cells) != 0 {
		t.Fatalf("%d points, %d cells from dataset records alone, want none", len(s.Points), len(s.Cells))
	}
	if len(s.Envelope.Targets) != 1 {
		t.Fatalf("envelope targets %+v", s.Envelope.Targets)
	}
	et := s.Envelope.Targets[0]
	if et.EffectiveContextLength != 0 || len(et.Lengths) != 0 || et.LimitedBy != NoNeedleEnvelope {
		t.Fatalf("envelope %+v, want none with %q", et, NoNeedleEnvelope)
	}
	if len(s.TaskTypes) != 2 || s.TaskTypes[0].Scored != 20 {
		t.Fatalf("task types %+v, want the dataset's two with 20 requests each", s.TaskTypes)
	}
	if len(s.DatasetPoints) != 1 || s.DatasetPoints[0].Requests != 40 || s.DatasetPoints[0].Correct != 30 {
		t.Fatalf("dataset points %+v", s.DatasetPoints)
	}
	// 75% is below the default 85%: the verdict still gates the dataset.
	if v := s.Verdict(); v.Held || !v.Measured || len(v.Failures) != 1 || !strings.Contains(v.Failures[0], "on your dataset") {
		t.Errorf("verdict %+v, want one failure on the dataset's accuracy", v)
	}
	var md, txt, html strings.Builder
	if err := WriteMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	txt.WriteString(s.Text())
	if err := WriteHTML(&html, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), datasetOnlyNoChart) || strings.Contains(html.String(), "no time to first token was observed") {
		t.Errorf("report.html's empty needle charts do not say the run was dataset-only")
	}
	if !strings.Contains(md.String(), "No needle points: every request measured was a case of your dataset") || strings.Contains(md.String(), "| target | stage | rate | length |") {
		t.Errorf("summary.md prints an empty needle points table:\n%s", md.String())
	}
	for name, out := range map[string]string{"summary.md": md.String(), "text": txt.String(), "report.html": html.String()} {
		if !strings.Contains(out, "No needle envelope") && !strings.Contains(out, "no needle envelope") {
			t.Errorf("%s does not say there is no needle envelope:\n%s", name, out)
		}
		if strings.Contains(out, "Effective context length: **56**") || strings.Contains(out, "effective context 56") {
			t.Errorf("%s gives the dataset's length as an effective context", name)
		}
	}
}

// TestMixedRunNeedleEnvelope: adding dataset records to a needle run
// leaves the needle envelope, points and cells as the needles alone give
// them, and keeps the task type sections.
func TestMixedRunNeedleEnvelope(t *testing.T) {
	needles := interleave(
		stage("sim", 0, 2, 1000, 50, 20, 20, 100*time.Millisecond),
		stage("sim", 0, 2, 8000, 50, 20, 19, 200*time.Millisecond),
		stage("sim", 0, 2, 32000, 50, 20, 10, 400*time.Millisecond),
	)
	alone, err := Build(nil, needles, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ds := datasetRecords()
	for i := range ds {
		// the same target and stage, one at a needle length
		ds[i].StageLabel, ds[i].ScheduledAt, ds[i].SentAt = needles[0].StageLabel, needles[i].ScheduledAt, needles[i].SentAt
		if i%2 == 0 {
			ds[i].Length = 8000
		}
	}
	mixed, err := Build(nil, append(append([]run.Record{}, needles...), ds...), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if alone.Envelope.Targets[0].EffectiveContextLength != 8000 {
		t.Fatalf("needles alone: effective %d, want 8000", alone.Envelope.Targets[0].EffectiveContextLength)
	}
	// task_types is the dataset's own part of the envelope, so it goes too.
	// The stage's rate is the load the server saw, dataset requests
	// included; everything else of the envelope is the needles' alone.
	ja, jm := needleEnvelope(t, alone.Envelope), needleEnvelope(t, mixed.Envelope)
	if ja != jm {
		t.Errorf("the needle envelope changed with dataset records:\nalone %s\nmixed %s", ja, jm)
	}
	if a, m := alone.Envelope.Targets[0], mixed.Envelope.Targets[0]; a.EffectiveContextLength != m.EffectiveContextLength || a.LimitedBy != m.LimitedBy {
		t.Errorf("effective context %d (%s), alone %d (%s)", m.EffectiveContextLength, m.LimitedBy, a.EffectiveContextLength, a.LimitedBy)
	}
	if len(mixed.Points) != len(alone.Points) || len(mixed.Cells) != len(alone.Cells) {
		t.Fatalf("mixed: %d points %d cells, alone %d and %d", len(mixed.Points), len(mixed.Cells), len(alone.Points), len(alone.Cells))
	}
	for i := range alone.Points {
		a, m := alone.Points[i], mixed.Points[i]
		if a.Length != m.Length || a.Requests != m.Requests || a.Correct != m.Correct || !reflect.DeepEqual(a.AccuracyCI, m.AccuracyCI) {
			t.Errorf("point %d: mixed %d@%d %d/%d, alone %d@%d %d/%d", i, m.Requests, m.Length, m.Correct, m.Requests, a.Requests, a.Length, a.Correct, a.Requests)
		}
	}
	if len(mixed.TaskTypes) != 2 || len(alone.TaskTypes) != 0 {
		t.Errorf("task types: mixed %d, alone %d", len(mixed.TaskTypes), len(alone.TaskTypes))
	}
}

// needleEnvelope is the envelope's JSON without the rates that measure
// the stage's whole load.
func needleEnvelope(t *testing.T, env *Envelope) string {
	t.Helper()
	b, err := json.Marshal(env.Targets)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var strip func(any)
	strip = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for _, k := range []string{"max_rate", "rate", "length_rate", "completed_rate", "goodput", "correct_goodput", "task_types"} {
				delete(x, k)
			}
			for _, y := range x {
				strip(y)
			}
		case []any:
			for _, y := range x {
				strip(y)
			}
		}
	}
	strip(v)
	out, _ := json.Marshal(v)
	return string(out)
}
