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
	if c := s.Targets[0].Consistency; len(c.Least) != 1 || c.Least[0].Answers != 7 {
		t.Errorf("consistency counts canceled requests as answers: %+v", c)
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
