package reports

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/run"
)

// TestMergedRunNotes: a merged run with a missing shard and a late one says
// so in every output (text, Markdown, HTML, summary.json, envelope.json),
// and is not complete.
func TestMergedRunNotes(t *testing.T) {
	m := &run.Manifest{Schema: run.ManifestSchema, Status: run.StatusComplete, StartedAt: t0, EndedAt: t0.Add(time.Minute),
		Merged: &run.Merged{Count: 3, Missing: []int{1}, Shards: []run.MergedShard{
			{Shard: run.Shard{Index: 0, Count: 3}, Status: run.StatusComplete},
			{Shard: run.Shard{Index: 2, Count: 3, StartDelay: run.Seconds(1200 * time.Millisecond), StartedLate: true}, Status: run.StatusComplete},
		}}}
	var recs []run.Record
	for i := range 4 {
		recs = append(recs, fx{i: i, length: 1000, correct: true}.record())
	}
	s, err := Build(m, recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Run.Complete {
		t.Error("a merge missing a shard counts as complete")
	}
	outputs := map[string]func(io.Writer, *Summary) error{
		"markdown": WriteMarkdown, "html": WriteHTML, "json": WriteJSON,
		"envelope": func(w io.Writer, s *Summary) error { return WriteEnvelope(w, s.Envelope) },
		"text":     func(w io.Writer, s *Summary) error { _, err := io.WriteString(w, s.Text()); return err },
	}
	for name, write := range outputs {
		var b bytes.Buffer
		if err := write(&b, s); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"2 of 3 shards", "shard 1 missing", "shard 2 by 1.2s"} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("%s output does not say %q", name, want)
			}
		}
	}
	// A merge of every shard, on time, has no note.
	m.Merged.Missing, m.Merged.Shards[1].StartedLate = nil, false
	if s, _ := Build(m, recs, Options{}); s.Run.Note != "" || !s.Run.Complete {
		t.Errorf("a whole merge: note %q, complete %v", s.Run.Note, s.Run.Complete)
	}
}
