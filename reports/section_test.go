package reports

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/run"
)

// TestSections: a section another package answers appears, escaped, in
// summary.md, report.html and summary.json; a table row of the wrong
// width and a failing SectionsFunc are errors, not a broken report.
func TestSections(t *testing.T) {
	dir := writeRun(t, run.StatusComplete, "")
	var sawEnvelope bool
	sections := func(m *run.Manifest, s *Summary) ([]Section, error) {
		sawEnvelope = m != nil && s.Envelope != nil && len(s.Envelope.Targets) == 2
		return []Section{{ID: "extra", Title: "Extra <b>", Answer: "1 of 2 covered", Header: []string{"job", "target"},
			Rows: [][]string{{"j1", "a"}, {"j|2", "<script>"}}, Note: "a note"}}, nil
	}
	if _, err := Write(dir, Options{Sections: sections}); err != nil {
		t.Fatal(err)
	}
	if !sawEnvelope {
		t.Error("the SectionsFunc was not given the manifest and a summary with its envelope")
	}
	for file, wants := range map[string][]string{
		MarkdownFile: {"## Extra", "**1 of 2 covered**", "| job | target |", "| j1 | a |", "a note"},
		HTMLFile:     {`<h2 id="extra">Extra &lt;b&gt;</h2>`, "1 of 2 covered", `<td class="t">&lt;script&gt;</td>`},
		JSONFile:     {`"id": "extra"`, `"rows": [`},
	} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range wants {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s lacks %q", file, want)
			}
		}
		if file == MarkdownFile && strings.Contains(string(b), "<script>") {
			t.Errorf("%s carries a raw <script>", file)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, MarkdownFile))
	if strings.Contains(string(md), "| j|2 |") {
		t.Error("summary.md does not escape a | inside a cell")
	}

	bad := func(*run.Manifest, *Summary) ([]Section, error) {
		return []Section{{Title: "t", Header: []string{"a", "b"}, Rows: [][]string{{"1"}}}}, nil
	}
	if _, err := Write(dir, Options{Sections: bad}); err == nil || !strings.Contains(err.Error(), "row 0 has 1 cells for 2 columns") {
		t.Errorf("a short row: %v", err)
	}
	failing := func(*run.Manifest, *Summary) ([]Section, error) { return nil, errors.New("no routes") }
	if _, err := Write(dir, Options{Sections: failing}); err == nil || !strings.Contains(err.Error(), "no routes") {
		t.Errorf("a failing SectionsFunc: %v", err)
	}
}
