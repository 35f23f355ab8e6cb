package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/run"
)

// TestReportMissingRecords: `needlestorm report DIR` on a records.jsonl
// cut to 5 of the manifest's 40 records warns on stderr and in the
// summary, and does not say the run is complete.
func TestReportMissingRecords(t *testing.T) {
	dir := writeRunDir(t, run.StatusComplete, nil)
	path := filepath.Join(dir, run.RecordsFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	if err := os.WriteFile(path, []byte(strings.Join(lines[:5], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runTestApp(t, "report", dir)
	if err != nil && !strings.Contains(err.Error(), "objective") {
		t.Fatalf("report: %v\n%s", err, errOut)
	}
	if strings.Contains(out, "run complete") || !strings.Contains(out, "run INCOMPLETE: 5 records (0 warm-up) of the 40 the manifest counts") ||
		!strings.Contains(out, "35 are missing") {
		t.Errorf("the summary does not warn of the missing records:\n%s", out)
	}
	if !strings.Contains(errOut, "warning: "+path+" holds 5 records, 35 fewer than its manifest says were written") {
		t.Errorf("stderr does not warn:\n%s", errOut)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "summary.md"))
	html, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	if !strings.Contains(string(md), "35 are missing") || !strings.Contains(string(html), "35 are missing") {
		t.Errorf("summary.md or report.html has no note of the missing records")
	}
}
