package reports

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestEnvelopeTaskTypesRoundTrip: envelope.json carries each dataset task
// type's figures as the summary computed them, and reads back the same.
func TestEnvelopeTaskTypesRoundTrip(t *testing.T) {
	var recs = datasetRecords()[:0]
	for i := range 40 {
		tt, right := "extraction", true
		if i%2 == 1 {
			tt, right = "code", i%4 == 1 // 10 of 20 right
		}
		r := dsRecord("sim", fmt.Sprintf("c%02d", i), tt, right, false)
		r.Length, r.Seq = 56, int64(1000+i)
		recs = append(recs, r)
	}
	s, err := Build(nil, recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteEnvelope(&buf, s.Envelope); err != nil {
		t.Fatal(err)
	}
	env, err := ReadEnvelope(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(env.Targets) != 1 || len(env.Targets[0].TaskTypes) != 2 {
		t.Fatalf("envelope targets %+v, want one with two task types", env.Targets)
	}
	et := &env.Targets[0]
	ex, code := et.TaskType("extraction"), et.TaskType("code")
	if ex == nil || code == nil || et.TaskType("planning") != nil {
		t.Fatalf("task types %+v", et.TaskTypes)
	}
	th := s.Objectives.AccuracyThreshold()
	if ex.Scored != 20 || ex.Cases != 20 || ex.Accuracy != 1 || !ex.Passed || ex.AccuracyThreshold != th {
		t.Errorf("extraction %+v, want 20 scored, accuracy 1, passed at %v", ex, th)
	}
	if code.Scored != 20 || code.Accuracy != 0.5 || code.Passed || code.AccuracyCI[0] >= 0.5 || code.AccuracyCI[1] <= 0.5 {
		t.Errorf("code %+v, want accuracy 0.5 inside its interval, not passed", code)
	}
	if ex.TTFTP95 == nil || *ex.TTFTP95 != 0.1 || ex.E2EP95 == nil || *ex.E2EP95 != 0.3 || ex.LightestRequests != 20 {
		t.Errorf("extraction latency at the lightest stage %+v", ex)
	}
	// The same figures the summary gives, not a second computation.
	for _, sum := range s.TaskTypes {
		got := et.TaskType(sum.TaskType)
		if got.Accuracy != sum.Accuracy || got.AccuracyCI != sum.AccuracyCI || got.Cases != sum.Cases {
			t.Errorf("%s: envelope %+v, summary %+v", sum.TaskType, got, sum)
		}
	}
}

// TestEnvelopeWithoutTaskTypes: a needle-only envelope writes no
// task_types key, and an old file without one reads with none.
func TestEnvelopeWithoutTaskTypes(t *testing.T) {
	env := &Envelope{Schema: EnvelopeSchema, Targets: []EnvelopeTarget{{Target: "a", Lengths: []EnvelopeLength{}}}}
	var buf bytes.Buffer
	if err := WriteEnvelope(&buf, env); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "task_types") {
		t.Errorf("needle-only envelope writes task_types:\n%s", buf.String())
	}
	old := `{"schema":"needlestorm.envelope/v2","status":"complete","objectives":{},"targets":[{"target":"a","accuracy_threshold":0.85,"effective_context_length":0,"effective_context_requests":0,"lengths":[]}]}`
	got, err := ReadEnvelope(strings.NewReader(old))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Targets) != 1 || got.Targets[0].TaskTypes != nil || got.Targets[0].TaskType("code") != nil {
		t.Errorf("old envelope read as %+v", got.Targets)
	}
}
