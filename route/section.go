package route

import (
	"fmt"
	"strings"

	"github.com/needlestorm/needlestorm/reports"
)

// Section is the routing answer as a section of a run's report: one row
// per job with the target chosen, its fallbacks and the router limits,
// or why no target covers it.
func (r *Routes) Section() reports.Section {
	sec := reports.Section{
		ID:     "routing",
		Title:  "Routing",
		Header: []string{"job", "needs", "target", "fallbacks", "max_input_tokens", "rpm", "why not (other targets)"},
		Pass:   len(r.Uncovered()) == 0,
		Note: "max_input_tokens is the measured effective context at the job's accuracy (never the claimed window); " +
			"rpm is the highest rate held at the job's length x 60, and \"≥\" marks a lower bound (every rate tried held).",
	}
	if r.File != nil && r.File.Path != "" {
		sec.Title = "Routing: " + r.File.Path
	}
	covered := len(r.Decisions) - len(r.Uncovered())
	sec.Answer = fmt.Sprintf("%d of %d job(s) covered", covered, len(r.Decisions))
	if u := r.Uncovered(); len(u) > 0 {
		sec.Answer += "; not covered: " + strings.Join(u, ", ")
	}
	for i := range r.Decisions {
		d := &r.Decisions[i]
		row := []string{d.Job.Name, d.Job.Describe(), "not covered", "", "-", "-", ""}
		var why []string
		for k := range d.Candidates {
			if c := &d.Candidates[k]; !c.Covers {
				why = append(why, c.Target+": "+strings.Join(c.Reasons, "; "))
			}
		}
		if len(d.Candidates) == 0 {
			why = append(why, "no target measured")
		}
		row[6] = strings.Join(why, " / ")
		if c := d.Chosen(); c != nil {
			row[2] = c.Target
			var fb []string
			for _, f := range d.Fallbacks() {
				fb = append(fb, f.Target)
			}
			row[3] = strings.Join(fb, ", ")
			l := c.Limits()
			row[4] = fmt.Sprint(l.MaxInputTokens)
			row[5] = fmt.Sprint(l.RPM)
			if l.RPMLowerBound {
				row[5] = "≥" + row[5]
			}
		}
		sec.Rows = append(sec.Rows, row)
	}
	return sec
}
