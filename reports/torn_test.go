package reports

import (
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/run"
)

// TestReportTornTailOnCompleteRun checks that a records file whose last line
// was cut short (its writer killed) still gets a report, even when the
// manifest says the run completed, and that the report says what it left out.
func TestReportTornTailOnCompleteRun(t *testing.T) {
	dir := writeRun(t, run.StatusComplete, `{"schema":"needlestorm.record/v1","seq":9999,"tar`)
	s, err := Write(dir, Options{})
	if err != nil {
		t.Fatalf("report on a complete run with a torn last line: %v", err)
	}
	if !strings.Contains(s.Run.Note, "unreadable line") || s.Run.Records == 0 {
		t.Errorf("run info %+v: want the records before the torn line used and a note saying so", s.Run)
	}
}

// TestTornTailNote checks the note's wording: on a complete run it is the
// torn-line sentence alone, on an interrupted one it follows the run's own
// note after "; ".
func TestTornTailNote(t *testing.T) {
	const torn = `{"schema":"needlestorm.record/v1","seq":9999,"tar`
	tests := []struct {
		status string
		prefix string
	}{
		{run.StatusComplete, "records.jsonl ends in an unreadable line"},
		{run.StatusInterrupted, "this run was interrupted (signal: interrupt); the figures cover only the requests recorded before it stopped; records.jsonl ends in an unreadable line"},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			s, err := Load(writeRun(t, tt.status, torn), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(s.Run.Note, tt.prefix) {
				t.Errorf("note %q, want it to start %q", s.Run.Note, tt.prefix)
			}
		})
	}
}
