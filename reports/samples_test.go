package reports

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/run"
)

func TestMinSamples(t *testing.T) {
	for p, want := range map[int]int{50: 2, 90: 10, 95: MinSamplesP95, 99: MinSamplesP99} {
		if got := MinSamples(p); got != want {
			t.Errorf("MinSamples(%d) = %d, want %d", p, got, want)
		}
	}
	if MinSamplesP95 != 20 || MinSamplesP99 != 100 {
		t.Errorf("minimums %d and %d, want 20 and 100 as documented", MinSamplesP95, MinSamplesP99)
	}
	er := 0.05
	if n := (Objectives{Latency: []LatencyObjective{{Metric: MetricTTFT, Percentile: 95, Max: 2}}, ErrorRate: &er}).MinStepRequests(); n != 22 {
		t.Errorf("MinStepRequests with p95 and a 5%% error rate = %d, want ceil(20/0.95) = 22", n)
	}
}

// TestSmallSampleNotHeld: a stage of 5 requests whose ttft p95 is within
// the objective is flagged in every output and not counted as held; the
// stage of 20 below it is.
func TestSmallSampleNotHeld(t *testing.T) {
	var recs []run.Record
	recs = append(recs, stage("s", 0, 1, 1000, 50, 20, 20, 100*time.Millisecond)...)
	recs = append(recs, stage("s", 1, 2, 1000, 50, 5, 5, 100*time.Millisecond)...)
	obj, err := ParseSLO("ttft_p95=2s")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Build(nil, recs, Options{Objectives: obj})
	if err != nil {
		t.Fatal(err)
	}
	el := s.Envelope.Targets[0].Lengths[0]
	if el.MaxRate == nil || *el.MaxRate != 1 || el.Ceiling {
		t.Fatalf("max rate %v (ceiling %v), want 1/s held and the 5-request 2/s not counted", el.MaxRate, el.Ceiling)
	}
	small := el.Points[1]
	if !small.Pass || len(small.Unresolved) == 0 || !strings.Contains(small.Unresolved[0], "ttft_p95 rests on 5 values (minimum 20)") {
		t.Errorf("point %+v: want passed but unresolved for its 5 values", small)
	}
	if !strings.Contains(el.Unresolved, "2/s unresolved") {
		t.Errorf("envelope length unresolved %q, want the 2/s point named", el.Unresolved)
	}
	var md, page, js bytes.Buffer
	if err := WriteMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&page, s); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, s); err != nil {
		t.Fatal(err)
	}
	outs := map[string]string{"terminal": s.Text(), "summary.md": md.String(), "report.html": page.String(), "summary.json": js.String()}
	for name, out := range outs {
		if !strings.Contains(out, "rests on 5 values (minimum 20)") {
			t.Errorf("%s does not flag the 5-request step", name)
		}
	}
	for _, name := range []string{"summary.md", "report.html"} {
		if !strings.Contains(outs[name], "100ms (n=5, few: min 20)") || !strings.Contains(outs[name], "100ms (n=20)") {
			t.Errorf("%s does not give each percentile's count", name)
		}
	}
}
