package reports

import (
	"bytes"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/run"
)

// TestCanceledShownApart: requests needlestorm itself canceled (an
// interrupt) are counted apart and never raise a target's error rate or
// lower its accuracy, in the target, its points and cells; the text,
// Markdown and HTML reports say how many there were.
func TestCanceledShownApart(t *testing.T) {
	var recs []run.Record
	for i := range 6 {
		recs = append(recs, fx{i: i, length: 1000, depth: 50, correct: true}.record())
	}
	for i := 6; i < 10; i++ {
		recs = append(recs, fx{i: i, length: 1000, depth: 50, errorClass: run.ErrCanceled, answer: " "}.record())
	}
	recs = append(recs, fx{i: 10, length: 1000, depth: 50, errorClass: run.ErrServerError, status: 500}.record())
	s, err := Build(nil, recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	check := func(where string, st Stats) {
		t.Helper()
		if st.Requests != 7 || st.Canceled != 4 || st.Errors != 1 || st.Correct != 6 {
			t.Errorf("%s: requests %d canceled %d errors %d correct %d, want 7, 4, 1, 6", where, st.Requests, st.Canceled, st.Errors, st.Correct)
		}
		if want := 1.0 / 7; st.ErrorRate != want || st.Accuracy != 6.0/7 {
			t.Errorf("%s: error rate %.3f accuracy %.3f, want %.3f and %.3f", where, st.ErrorRate, st.Accuracy, want, 6.0/7)
		}
		if st.ErrorClasses[run.ErrCanceled] != 0 || st.Attribution["error"] > 1 {
			t.Errorf("%s: canceled requests counted as errors: %v %v", where, st.ErrorClasses, st.Attribution)
		}
	}
	if len(s.Targets) != 1 || len(s.Points) != 1 || len(s.Cells) != 1 {
		t.Fatalf("%d targets, %d points, %d cells", len(s.Targets), len(s.Points), len(s.Cells))
	}
	check("target", s.Targets[0].Stats)
	check("point", s.Points[0].Stats)
	check("cell", s.Cells[0].Stats)
	// 7 requests, 1 of them failed: 6 answers (neither a canceled nor a
	// failed request gave one).
	if c := s.Targets[0].Consistency; len(c.Least) != 1 || c.Least[0].Answers != 6 {
		t.Errorf("consistency counts canceled or failed requests as answers: %+v", c)
	}

	const want = "4 requests were canceled by needlestorm itself"
	if txt := s.Text(); !strings.Contains(txt, want) {
		t.Errorf("the text summary does not say so:\n%s", txt)
	}
	var md, html bytes.Buffer
	if err := WriteMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&html, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), want) || !strings.Contains(html.String(), want) {
		t.Errorf("summary.md (%v) or report.html (%v) does not say so", strings.Contains(md.String(), want), strings.Contains(html.String(), want))
	}

	// Without canceled requests nothing is said.
	s, err = Build(nil, recs[:6], Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.Text(), "canceled") {
		t.Errorf("a run with no canceled request mentions them:\n%s", s.Text())
	}
}

// TestMissingRecordsWarned: records.jsonl holding fewer records than the
// manifest says were written makes the run incomplete, with a note, in
// every output; the same count, or a run still running, does not.
func TestMissingRecordsWarned(t *testing.T) {
	recs := stage("sim", 0, 1, 1000, 50, 5, 5, 0)
	for _, tt := range []struct {
		status  string
		records int64
		missing int64
	}{
		{run.StatusComplete, 56, 51},
		{run.StatusInterrupted, 9, 4},
		{run.StatusComplete, 5, 0},
		{run.StatusRunning, 56, 0},
	} {
		m := &run.Manifest{Schema: run.ManifestSchema, Status: tt.status, Records: tt.records}
		s, err := Build(m, recs, Options{})
		if err != nil {
			t.Fatal(err)
		}
		txt := s.Text()
		if s.Run.Missing != tt.missing {
			t.Errorf("%s, manifest %d, 5 read: missing %d, want %d", tt.status, tt.records, s.Run.Missing, tt.missing)
		}
		if tt.missing == 0 {
			if strings.Contains(txt, "missing") {
				t.Errorf("%s with %d records: warns of missing records:\n%s", tt.status, tt.records, txt)
			}
			continue
		}
		if s.Run.Status != StatusIncomplete || s.Run.Complete || strings.Contains(txt, "run complete") ||
			!strings.Contains(txt, "run INCOMPLETE: 5 records (0 warm-up) of the") || !strings.Contains(s.Run.Note, "are missing") {
			t.Errorf("%s, manifest %d: status %q complete %v note %q\n%s", tt.status, tt.records, s.Run.Status, s.Run.Complete, s.Run.Note, txt)
		}
		var md bytes.Buffer
		if err := WriteMarkdown(&md, s); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(md.String(), "are missing") || s.Envelope.Note != s.Run.Note || s.Envelope.Status != StatusIncomplete {
			t.Errorf("summary.md or envelope.json does not carry the warning:\n%s", md.String())
		}
	}
}
