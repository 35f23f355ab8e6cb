package reports

import (
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/loadgen"
)

// TestReportTornTailOnCompleteRun checks that a records file whose last line
// was cut short (its writer killed) still gets a report, even when the
// manifest says the run completed, and that the report says what it left out.
func TestReportTornTailOnCompleteRun(t *testing.T) {
	dir := writeRun(t, loadgen.StatusComplete, `{"schema":"needlestorm.record/v1","seq":9999,"tar`)
	s, err := Write(dir, Options{})
	if err != nil {
		t.Fatalf("report on a complete run with a torn last line: %v", err)
	}
	if !strings.Contains(s.Run.Note, "unreadable line") || s.Run.Records == 0 {
		t.Errorf("run info %+v: want the records before the torn line used and a note saying so", s.Run)
	}
}
