package reports

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/run"
)

// TestMcNemarExact checks the exact McNemar p-value against published
// values of the two-sided exact binomial test at one half (R's
// binom.test(k, n): binom.test(1, 10) p = 0.02148, binom.test(3, 10)
// p = 0.3438, binom.test(0, 5) p = 0.0625, binom.test(2, 12) p = 0.03857,
// binom.test(5, 10) p = 1, binom.test(1, 7) p = 0.125).
func TestMcNemarExact(t *testing.T) {
	for _, tt := range []struct {
		b, c int
		want float64
	}{
		{1, 9, 0.021484375}, {9, 1, 0.021484375}, {3, 7, 0.34375}, {0, 5, 0.0625},
		{2, 10, 0.03857422}, {5, 5, 1}, {0, 0, 1}, {1, 6, 0.125}, {0, 1, 1},
	} {
		if got := McNemarExact(tt.b, tt.c); math.Abs(got-tt.want) > 5e-7 {
			t.Errorf("McNemarExact(%d, %d) = %.8f, want %.8f", tt.b, tt.c, got, tt.want)
		}
	}
}

// dsRecord is one dataset record: case id, task type, answer; right
// decides the answer against an equals matcher on "yes".
func dsRecord(target, id, taskType string, right bool, open bool) run.Record {
	m := []corpus.Matcher{{Equals: ptr("yes")}}
	ans := "no"
	if right {
		ans = "Yes."
	}
	if open {
		m = nil
		ans = "An answer to " + id
	}
	return run.Record{
		Schema: run.RecordSchema, Target: target, StageLabel: "rate=1/s", CaseID: id, Task: corpus.TaskDataset,
		Length: 100, PromptTokensClient: 100, PromptTokensServer: 110, OutputTokens: 5,
		ScheduledAt: t0, SentAt: t0, TTFT: run.Seconds(100 * time.Millisecond), E2E: run.Seconds(300 * time.Millisecond),
		FinishReason: "stop", Answer: ans, TaskType: taskType, Matchers: m,
	}
}

func ptr(s string) *string { return &s }

func TestABPairs(t *testing.T) {
	var recs []run.Record
	// 20 scored cases: good is right on all, bad on the first 8 only; so 12
	// discordant pairs, all for good. Plus 4 open-ended cases, of which the
	// two targets agree on 3.
	for i := range 20 {
		id := fmt.Sprintf("c%02d", i)
		tt := []string{"extraction", "classification"}[i%2]
		recs = append(recs, dsRecord("good", id, tt, true, false), dsRecord("bad", id, tt, i < 8, false))
	}
	for i := range 4 {
		id := fmt.Sprintf("o%d", i)
		a, b := dsRecord("good", id, "summarization", false, true), dsRecord("bad", id, "summarization", false, true)
		if i == 3 {
			b.Answer = "something else"
		}
		recs = append(recs, a, b)
	}
	s, err := Build(nil, recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.AB) != 1 {
		t.Fatalf("%d A/B pairs, want 1", len(s.AB))
	}
	p := s.AB[0]
	if p.A != "bad" || p.B != "good" || p.Cases != 20 || p.CorrectA != 8 || p.CorrectB != 20 || p.OnlyA != 0 || p.OnlyB != 12 {
		t.Fatalf("pair %+v", p)
	}
	if want := McNemarExact(0, 12); p.PValue != want || p.Better != "good" {
		t.Errorf("p = %v better %q, want %v good", p.PValue, p.Better, want)
	}
	if len(p.Disagreements) != 12 {
		t.Fatalf("%d disagreements, want all 12", len(p.Disagreements))
	}
	for i, d := range p.Disagreements {
		if want := fmt.Sprintf("c%02d", 8+i); d.CaseID != want || d.RightA || !d.RightB || d.AnswerA != "no" || d.AnswerB != "Yes." {
			t.Errorf("disagreement %d = %+v, want case %s with both answers", i, d, want)
		}
	}
	if p.OpenCases != 4 || p.Agreement != 0.75 || len(p.OpenDiffer) != 1 || p.OpenDiffer[0].CaseID != "o3" {
		t.Errorf("open: %d cases, agreement %v, differ %+v", p.OpenCases, p.Agreement, p.OpenDiffer)
	}
	// Open-ended answers stay out of the needle figures' accuracy.
	for _, ts := range s.Targets {
		if ts.Requests != 20 {
			t.Errorf("target %s counts %d requests in its accuracy, want the 20 scored", ts.Target, ts.Requests)
		}
	}
	var md strings.Builder
	if err := WriteMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## A/B on the same cases", "good is better", "| c19 | classification | wrong: no | right: Yes. |", "answers agree on 75%", "## Task types (your dataset)"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("summary.md lacks %q", want)
		}
	}
}

func TestTaskTypeSummaries(t *testing.T) {
	var recs []run.Record
	for i := range 10 {
		id := fmt.Sprintf("c%d", i)
		recs = append(recs, dsRecord("a", id, "extraction", i < 7, false))
		recs = append(recs, dsRecord("a", id+"x", "classification", true, false))
	}
	recs = append(recs, dsRecord("a", "open1", "summarization", false, true))
	// A repeat of c0 with another answer: agreement 1/2 on that case.
	rep := dsRecord("a", "c0", "extraction", false, false)
	rep.Repeat = 1
	recs = append(recs, rep)
	s, err := Build(nil, recs, Options{Prices: Prices{Targets: map[string]Price{"a": {Input: 1, Output: 2}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.TaskTypes) != 3 {
		t.Fatalf("%d task type rows: %+v", len(s.TaskTypes), s.TaskTypes)
	}
	ex, cl, su := s.TaskTypes[0], s.TaskTypes[1], s.TaskTypes[2]
	if ex.TaskType != "extraction" || ex.Cases != 10 || ex.Scored != 11 || ex.Correct != 7 || ex.RepeatedCases != 1 || ex.Agreement != 0.5 {
		t.Errorf("extraction: %+v", ex)
	}
	lo, hi := Wilson(7, 11)
	if ex.AccuracyCI != [2]float64{lo, hi} {
		t.Errorf("extraction interval %v, want %v..%v", ex.AccuracyCI, lo, hi)
	}
	if ex.Cost == nil || ex.Cost.PerCorrect == nil || math.Abs(*ex.Cost.PerCorrect-ex.Cost.Total/7) > 1e-15 {
		t.Errorf("extraction cost per correct %+v", ex.Cost)
	}
	if cl.TaskType != "classification" || cl.Accuracy != 1 || cl.MaxRate == nil {
		t.Errorf("classification: %+v", cl)
	}
	if ex.MaxRate != nil {
		t.Errorf("extraction at 64%% held the 85%% threshold at %v", *ex.MaxRate)
	}
	if su.TaskType != "summarization" || su.Scored != 0 || su.Open != 1 {
		t.Errorf("summarization: %+v", su)
	}
}

func TestABHTML(t *testing.T) {
	recs := []run.Record{dsRecord("x", "c1", "extraction", true, false), dsRecord("y", "c1", "extraction", false, false)}
	recs[1].Answer = "<script>no</script>"
	s, err := Build(nil, recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := WriteHTML(&b, s); err != nil {
		t.Fatal(err)
	}
	h := b.String()
	for _, want := range []string{`id="task-types"`, `id="ab"`, "x vs y", "&lt;script&gt;no&lt;/script&gt;", "no significant difference", "is the majority of its answers to it"} {
		if !strings.Contains(h, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	var md strings.Builder
	if err := WriteMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "is the majority of its answers to it") {
		t.Errorf("summary.md does not say how a case's verdict is counted:\n%s", md.String())
	}
	if strings.Contains(h, "<script>no") {
		t.Error("an answer reached report.html unescaped")
	}
}

// TestABVerdictByMajority: a target right on half of its answers to a case
// is judged wrong on it, and the answer shown for it is a wrong one.
func TestABVerdictByMajority(t *testing.T) {
	var recs []run.Record
	for rep := range 4 {
		a, b := dsRecord("a", "c1", "extraction", true, false), dsRecord("b", "c1", "extraction", rep%2 == 0, false)
		a.Repeat, b.Repeat = rep, rep
		recs = append(recs, a, b)
	}
	s, err := Build(nil, recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := s.AB[0]
	if p.CorrectA != 1 || p.CorrectB != 0 || len(p.Disagreements) != 1 {
		t.Fatalf("pair %+v", p)
	}
	if d := p.Disagreements[0]; d.AnswerA != "Yes." || d.AnswerB != "no" {
		t.Errorf("answers shown %q and %q, want the right one and the wrong one", d.AnswerA, d.AnswerB)
	}
}
