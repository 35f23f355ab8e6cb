package reports

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/run"
)

// TestNoAgreementWhenEveryRequestFailed: repeats that all failed gave no
// answers, so no agreement is claimed for them.
func TestNoAgreementWhenEveryRequestFailed(t *testing.T) {
	var recs []run.Record
	for i := range 6 {
		recs = append(recs, fx{target: "t", rate: 1, i: i, length: 1000, repeat: i / 3, errorClass: run.ErrServerError, status: 500}.record())
	}
	s, err := Build(nil, recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := s.Targets[0].Consistency; c.Cases != 0 || c.MeanAgreement != 0 {
		t.Errorf("consistency %+v, want no case counted when every request failed", c)
	}
	if strings.Contains(s.Text(), "mean agreement") {
		t.Errorf("terminal summary claims an agreement:\n%s", s.Text())
	}
}

// TestWarmupIncludedOnlyWithWarmup: spend lines say "warm-up included"
// only when the run had a warm-up.
func TestWarmupIncludedOnlyWithWarmup(t *testing.T) {
	prices := Prices{Currency: "USD", Targets: map[string]Price{"t": {Input: 1, Output: 1}}}
	recs := stage("t", 0, 1, 1000, 50, 3, 3, 100*time.Millisecond)
	for _, withWarmup := range []bool{false, true} {
		rs := recs
		if withWarmup {
			rs = append(rs, fx{target: "t", rate: 1, i: 100, length: 1000, warmup: true}.record())
		}
		s, err := Build(nil, rs, Options{Prices: prices})
		if err != nil {
			t.Fatal(err)
		}
		var md, page bytes.Buffer
		if err := WriteMarkdown(&md, s); err != nil {
			t.Fatal(err)
		}
		if err := WriteHTML(&page, s); err != nil {
			t.Fatal(err)
		}
		for name, out := range map[string]string{"terminal": s.Text(), "summary.md": md.String(), "report.html": page.String()} {
			if got := strings.Contains(out, "warm-up included"); got != withWarmup {
				t.Errorf("warm-up %v: %s says warm-up included: %v", withWarmup, name, got)
			}
		}
	}
}
