package route

import (
	"fmt"
	"strings"
)

// Summary says a job's routing in one line: "tag-tickets -> small
// (fallbacks: medium)" or "tag-tickets: NOT COVERED (small: ...; ...)".
func (d *Decision) Summary() string {
	c := d.Chosen()
	if c == nil {
		var why []string
		for i := range d.Candidates {
			why = append(why, d.Candidates[i].Target+": "+strings.Join(d.Candidates[i].Reasons, "; "))
		}
		if len(why) == 0 {
			why = append(why, "no target measured")
		}
		return fmt.Sprintf("%s: NOT COVERED by any target (%s)", d.Job.Name, strings.Join(why, " / "))
	}
	s := fmt.Sprintf("%s -> %s", d.Job.Name, c.Target)
	var fb []string
	for _, f := range d.Fallbacks() {
		fb = append(fb, f.Target)
	}
	if len(fb) > 0 {
		s += " (fallbacks: " + strings.Join(fb, ", ") + ")"
	} else {
		s += " (no fallback covers it)"
	}
	return s
}

// Text is the routing answer for the terminal: one line per job, then the
// reasons of every target that does not cover a job.
func (r *Routes) Text() string {
	var b strings.Builder
	b.WriteString("routing:\n")
	for i := range r.Decisions {
		d := &r.Decisions[i]
		if !d.Covered() {
			fmt.Fprintf(&b, "  %s\n", d.Summary())
			continue
		}
		fmt.Fprintf(&b, "  %s\n", d.Summary())
		if c := d.Chosen(); c.AccuracyNote != "" {
			fmt.Fprintf(&b, "      %s: %s\n", c.Target, c.AccuracyNote)
		}
		for k := range d.Candidates {
			if c := &d.Candidates[k]; !c.Covers {
				fmt.Fprintf(&b, "      %s does not cover it: %s\n", c.Target, strings.Join(c.Reasons, "; "))
			}
		}
	}
	if u := r.Uncovered(); len(u) > 0 {
		fmt.Fprintf(&b, "  %d job(s) not covered: %s\n", len(u), strings.Join(u, ", "))
	}
	return b.String()
}
