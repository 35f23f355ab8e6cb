package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/probes"
	"github.com/needlestorm/needlestorm/run"
)

// cloneRecords copies records down to their slices, so that a change Build
// made through any of them would show against the copy.
func cloneRecords(recs []run.Record) []run.Record {
	out := slices.Clone(recs)
	for i := range out {
		out[i].Expected = slices.Clone(out[i].Expected)
		out[i].ChunkGaps = slices.Clone(out[i].ChunkGaps)
	}
	return out
}

// TestBuildLeavesInputAlone builds a report twice from the same records,
// with every step of Build at work (re-attribution of live verdicts,
// learned cut ends, warm-up, several targets and stages, prices, a
// requirement, repeats): the two summaries are equal, render the same
// files, and the records are as they were before either build.
func TestBuildLeavesInputAlone(t *testing.T) {
	recs := append(truncationFixture(), compareFixture()...)
	// A truncated prompt without canaries: its cut end is unknown until
	// Build learns the server's from the others.
	lost := fx{target: "ollama", i: 20, length: 4000, depth: 0, server: 2048 + 10, answer: "1111111"}.record()
	lost.Verdict = probes.Verdict{Attribution: probes.AttrModelMissed}
	recs = append(recs, lost)
	recs = append(recs, fx{target: "ollama", i: 21, length: 1000, warmup: true, gaps: []time.Duration{time.Millisecond}}.record())
	before := cloneRecords(recs)

	obj, err := ParseSLO("ttft_p95=1s,error_rate=0.2")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Objectives:  obj,
		Prices:      Prices{Currency: "USD", Targets: map[string]Price{"fast": {Input: 1, Output: 2}, "ollama": {Input: 0.5, Output: 1, Cached: 0.1}}},
		Requirement: mustRequire(t, "length=4k,rate=2"),
	}
	m := &run.Manifest{Schema: run.ManifestSchema, Status: run.StatusComplete, Corpus: json.RawMessage(`{"repeats":2}`)}

	first, err := Build(m, recs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(recs, before) {
		t.Fatalf("Build changed its input records:\n%s", firstRecordDiff(recs, before))
	}
	second, err := Build(m, recs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, second) {
		t.Errorf("two builds from the same records differ:\nfirst  %s\nsecond %s", summaryJSON(t, first), summaryJSON(t, second))
	}
	if !reflect.DeepEqual(recs, before) {
		t.Errorf("the second Build changed its input records:\n%s", firstRecordDiff(recs, before))
	}
	for _, ts := range first.Targets {
		if ts.Target == "ollama" && ts.Truncation.Cut[probes.CutHead] != 5 {
			t.Errorf("fixture does not exercise learned cut ends: ollama truncation %+v, want 5 head cuts", ts.Truncation)
		}
	}
	for _, w := range []struct {
		name  string
		write func(*bytes.Buffer, *Summary) error
	}{
		{CSVFile, func(b *bytes.Buffer, s *Summary) error { return WriteCSV(b, s) }},
		{MarkdownFile, func(b *bytes.Buffer, s *Summary) error { return WriteMarkdown(b, s) }},
		{JSONFile, func(b *bytes.Buffer, s *Summary) error { return WriteJSON(b, s) }},
		{EnvelopeFile, func(b *bytes.Buffer, s *Summary) error { return WriteEnvelope(b, s.Envelope) }},
	} {
		var a, b bytes.Buffer
		if err := w.write(&a, first); err != nil {
			t.Fatal(err)
		}
		if err := w.write(&b, second); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s differs between two builds from the same records", w.name)
		}
	}
}

// firstRecordDiff names the first record that differs, both ways.
func firstRecordDiff(got, want []run.Record) string {
	for i := range min(len(got), len(want)) {
		if !reflect.DeepEqual(got[i], want[i]) {
			g, _ := json.Marshal(got[i])
			w, _ := json.Marshal(want[i])
			return fmt.Sprintf("record %d:\n now %s\n was %s", i, g, w)
		}
	}
	return "the number of records changed"
}

func summaryJSON(t *testing.T, s *Summary) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
