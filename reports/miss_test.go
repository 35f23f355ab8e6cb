package reports

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/probes"
	"github.com/needlestorm/needlestorm/run"
)

// missRecords are n records of one stage and length, the first right and
// the rest model misses of the kinds given in turn.
func missRecords(st int, rate float64, length int, right int, kinds ...string) []run.Record {
	var out []run.Record
	for i := range right {
		out = append(out, fx{stage: st, rate: rate, i: i, length: length, depth: 50, correct: true}.record())
	}
	for i, k := range kinds {
		r := fx{stage: st, rate: rate, i: right + i, length: length, depth: float64(25 * (i % 3)), answer: "The number is 1111111."}.record()
		r.Attribution, r.Miss = probes.AttrModelMissed, k
		out = append(out, r)
	}
	return out
}

func repeatKind(k string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = k
	}
	return out
}

// TestMissSplit checks the counts and shares per length, depth and stage,
// the rendering in every output, and the records.csv column.
func TestMissSplit(t *testing.T) {
	var recs []run.Record
	recs = append(recs, missRecords(0, 1, 1000, 6, "distractor", "distractor", "not_found", "hallucinated")...)
	recs = append(recs, missRecords(1, 4, 8000, 2, "hallucinated", "hallucinated", "partial", "")...)
	// A miss recorded live is not the model's when the report finds the
	// server cut the prompt: not counted.
	cut := fx{stage: 1, rate: 4, i: 9, length: 8000, depth: 50, server: 4000}.record()
	cut.Miss = "distractor"
	recs = append(recs, cut)
	s, err := Build(nil, recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Misses) != 1 {
		t.Fatalf("%d splits, want 1", len(s.Misses))
	}
	ms := s.Misses[0]
	if ms.Requests != 17 || ms.Misses != 8 {
		t.Errorf("split over %d requests with %d misses, want 17 and 8", ms.Requests, ms.Misses)
	}
	want := map[string]int{"distractor": 2, "not_found": 1, "hallucinated": 3, "partial": 1, MissUnclassified: 1}
	for k, n := range want {
		if ms.Counts[k] != n {
			t.Errorf("count of %s %d, want %d (counts %v)", k, ms.Counts[k], n, ms.Counts)
		}
	}
	if got := ms.Shares["hallucinated"]; got != 3.0/8 {
		t.Errorf("hallucinated share %v, want 3/8", got)
	}
	if len(ms.ByLength) != 2 || ms.ByLength[0].Length != 1000 || ms.ByLength[0].Misses != 4 || ms.ByLength[1].Requests != 7 || ms.ByLength[1].Counts["hallucinated"] != 2 {
		t.Errorf("by length %+v", ms.ByLength)
	}
	if len(ms.ByStage) != 2 || *ms.ByStage[1].Stage != 1 || ms.ByStage[1].Misses != 4 {
		t.Errorf("by stage %+v", ms.ByStage)
	}
	depthMisses := 0
	for _, r := range ms.ByDepth {
		depthMisses += r.Misses
	}
	if len(ms.ByDepth) != 3 || depthMisses != 8 {
		t.Errorf("by depth %+v", ms.ByDepth)
	}
	if len(ms.ByTask) != 1 || ms.ByTask[0].Task != "single" || ms.ByTask[0].Misses != 8 {
		t.Errorf("by task %+v", ms.ByTask)
	}
	if len(ms.Trends) != 0 {
		t.Errorf("trends on 4 misses per end: %+v", ms.Trends)
	}

	var md, html, js, csvb bytes.Buffer
	if err := WriteMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&html, s); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, s); err != nil {
		t.Fatal(err)
	}
	if err := WriteCSV(&csvb, s); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"## Why the model missed", "### sim: 8 misses of 17 requests", "| length | 1k | 10 | 4 | - | 2 (50%) | 1 (25%) | 1 (25%) | - | - |", "| load | stage rate=4/s", "| all | all | 17 | 8 |"} {
		if !strings.Contains(md.String(), w) {
			t.Errorf("summary.md lacks %q:\n%s", w, md.String())
		}
	}
	for _, w := range []string{`id="misses"`, "sim: 8 misses of 17 requests", "<td>3 (38%)</td>"} {
		if !strings.Contains(html.String(), w) {
			t.Errorf("report.html lacks %q", w)
		}
	}
	var back struct {
		Misses []MissSplit `json:"misses"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Misses) != 1 || back.Misses[0].Counts["hallucinated"] != 3 {
		t.Errorf("summary.json misses %+v (%v)", back.Misses, err)
	}
	text := s.Text()
	if strings.Contains(md.String(), "| task |") {
		t.Errorf("summary.md shows a task axis of one task:\n%s", md.String())
	}
	if !strings.Contains(text, "sim missed 8 of 17: partial 1 (12%), distractor 2 (25%), not_found 1 (12%), hallucinated 3 (38%), unclassified 1 (12%)\n") {
		t.Errorf("terminal summary lacks the miss line:\n%s", text)
	}
	rows, err := csv.NewReader(&csvb).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(rows[0], "miss")
	if col != slices.Index(rows[0], "task_type")+1 {
		t.Fatalf("miss column at %d of %d", col, len(rows[0]))
	}
	kinds := map[string]int{}
	for _, row := range rows[1:] {
		kinds[row[col]]++
	}
	if kinds[""] != 9 || kinds["hallucinated"] != 3 || kinds[MissUnclassified] != 1 {
		t.Errorf("miss column counts %v", kinds)
	}
}

// TestMissTrend: hallucinations rising from 10% to 60% of the misses
// over 30 misses at each end is stated, for length and for load; the same
// shares on 10 misses each, or a fall, are not.
func TestMissTrend(t *testing.T) {
	mixed := func(h, other int) []string {
		return append(repeatKind("hallucinated", h), repeatKind("not_found", other)...)
	}
	var recs []run.Record
	recs = append(recs, missRecords(0, 1, 1000, 10, mixed(3, 27)...)...)
	recs = append(recs, missRecords(1, 8, 32000, 10, mixed(18, 12)...)...)
	s, err := Build(nil, recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := s.Misses[0].Trends
	if len(tr) != 2 || tr[0].Axis != "length" || tr[1].Axis != "load" || tr[0].PValue >= MissTrendAlpha {
		t.Fatalf("trends %+v, want length and load", tr)
	}
	if want := "Hallucinations rise with length for sim: 10% of misses at 1k tokens (3 of 30) against 60% at 32k tokens (18 of 30)"; !strings.HasPrefix(tr[0].Sentence, want) {
		t.Errorf("sentence %q, want it to start %q", tr[0].Sentence, want)
	}
	var md strings.Builder
	writeMissMarkdown(&md, s)
	if !strings.Contains(md.String(), "**Hallucinations rise with load for sim") {
		t.Errorf("summary.md lacks the load trend:\n%s", md.String())
	}
	if !strings.Contains(s.Text(), "hallucinations rise with length (10% to 60%") {
		t.Errorf("terminal line lacks the trend:\n%s", s.Text())
	}

	for name, tc := range map[string]struct {
		recs []run.Record
		note string
	}{
		"small":           {append(missRecords(0, 1, 1000, 10, mixed(1, 9)...), missRecords(1, 8, 32000, 10, mixed(6, 4)...)...), "length: fewer than two groups with 20 misses or more"},
		"fall":            {append(missRecords(0, 1, 1000, 10, mixed(18, 12)...), missRecords(1, 8, 32000, 10, mixed(3, 27)...)...), "length: no rise from 1k tokens to 32k tokens"},
		"not significant": {append(missRecords(0, 1, 1000, 10, mixed(6, 24)...), missRecords(1, 8, 32000, 10, mixed(8, 22)...)...), "20% against 27% of misses, p = 0.54, not significant"},
	} {
		s, err := Build(nil, tc.recs, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if tr := s.Misses[0].Trends; len(tr) != 0 {
			t.Errorf("%s: trends %+v, want none", name, tr)
		}
		if note := s.Misses[0].TrendNote; !strings.Contains(note, tc.note) || !strings.Contains(note, "load: ") {
			t.Errorf("%s: trend note %q, want it to say %q and the load's", name, note, tc.note)
		}
	}
}
