package reports

import (
	"fmt"
	"strings"

	"github.com/needlestorm/needlestorm/run"
)

// Section is a part of a report that another package answers from the
// run, such as the routing answer (route depends on reports, so reports
// cannot compute it): a title, a one-line answer, a table and a note.
// summary.md, report.html and summary.json show every section the
// Options' Sections function returns, after the envelope.
type Section struct {
	// ID names the section in report.html (an HTML id) and summary.json.
	ID    string `json:"id"`
	Title string `json:"title"`
	// Answer is the section's finding in one line; Pass says whether it is
	// good news (a job covered) or bad (a job no target covers).
	Answer string `json:"answer,omitempty"`
	Pass   bool   `json:"pass"`
	// Header and Rows are a table (every row as long as Header).
	Header []string   `json:"header,omitempty"`
	Rows   [][]string `json:"rows,omitempty"`
	Note   string     `json:"note,omitempty"`
}

// SectionsFunc computes extra sections of a run's report from its manifest
// and summary (built, with its envelope, before the sections are asked).
type SectionsFunc func(m *run.Manifest, s *Summary) ([]Section, error)

// addSections asks opts.Sections, if set, for the summary's extra
// sections.
func addSections(m *run.Manifest, s *Summary, opts Options) error {
	if opts.Sections == nil {
		return nil
	}
	secs, err := opts.Sections(m, s)
	if err != nil {
		return err
	}
	for i, sec := range secs {
		for j, row := range sec.Rows {
			if len(row) != len(sec.Header) {
				return fmt.Errorf("report section %q: row %d has %d cells for %d columns", sec.Title, j, len(row), len(sec.Header))
			}
		}
		if sec.ID == "" {
			secs[i].ID = "section-" + fmt.Sprint(i+1)
		}
	}
	s.Sections = secs
	return nil
}

// writeSectionsMarkdown writes every extra section.
func writeSectionsMarkdown(b *strings.Builder, s *Summary) {
	for _, sec := range s.Sections {
		fmt.Fprintf(b, "\n## %s\n\n", md(sec.Title))
		if sec.Answer != "" {
			fmt.Fprintf(b, "**%s**\n\n", md(sec.Answer))
		}
		if len(sec.Header) > 0 {
			cells := make([]string, len(sec.Header))
			for i, h := range sec.Header {
				cells[i] = md(h)
			}
			fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(cells, " | "), strings.Repeat(" --- |", len(cells)))
			for _, row := range sec.Rows {
				for i, c := range row {
					cells[i] = md(c)
				}
				fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
			}
		}
		if sec.Note != "" {
			fmt.Fprintf(b, "\n%s\n", md(sec.Note))
		}
	}
}
