package reports

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/run"
)

// TestPlannedNotSent: the corpus planned 1k and 4k, and only 1k was sent
// (a stage that ended first): every output says 4k was planned and never
// sent, and the effective context's limit names it.
func TestPlannedNotSent(t *testing.T) {
	m := &run.Manifest{Schema: run.ManifestSchema, Status: run.StatusComplete, Corpus: json.RawMessage(`{"lengths":[1000,4000],"depths":[50]}`)}
	recs := stage("t", 0, 1, 1000, 50, 3, 3, 100*time.Millisecond)
	s, err := Build(m, recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := s.Targets[0]
	if len(ts.NotSent) != 1 || ts.NotSent[0] != 4000 || len(ts.Stages[0].NotSent) != 1 {
		t.Fatalf("not sent %v (stage %v), want [4000]", ts.NotSent, ts.Stages[0].NotSent)
	}
	et := s.Envelope.Targets[0]
	if et.EffectiveContextLength != 1000 || !strings.Contains(et.LimitedBy, "planned but never sent: 4k") || len(et.NotSent) != 1 {
		t.Errorf("envelope %d (%s), not sent %v: want 1000, limited by naming 4k as never sent", et.EffectiveContextLength, et.LimitedBy, et.NotSent)
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
	for name, out := range map[string]string{"terminal": s.Text(), "summary.md": md.String(), "report.html": page.String(), "summary.json": js.String()} {
		if !strings.Contains(out, "planned but never sent") || !strings.Contains(out, "4k") {
			t.Errorf("%s does not say 4k was planned and never sent", name)
		}
	}

	// Both lengths sent: nothing is said.
	recs = append(recs, stage("t", 0, 1, 4000, 50, 3, 3, 100*time.Millisecond)...)
	if s, err = Build(m, recs, Options{}); err != nil {
		t.Fatal(err)
	}
	if len(s.Targets[0].NotSent) != 0 || len(s.NotSentWarnings()) != 0 {
		t.Errorf("not sent %v, warnings %v, want none", s.Targets[0].NotSent, s.NotSentWarnings())
	}
}
