package route

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/needlestorm/needlestorm/internal/termsafe"
)

// WriteMarkdown writes the routing answer for people: a table of jobs, then
// per job every covering target ranked with its evidence, and why each
// other target does not cover it.
func WriteMarkdown(w io.Writer, r *Routes) error {
	var b strings.Builder
	b.WriteString("# Routing\n\n")
	if u := r.Uncovered(); len(u) > 0 {
		fmt.Fprintf(&b, "**%d job(s) not covered by any target: %s.**\n\n", len(u), mdEscape(strings.Join(u, ", ")))
	}
	b.WriteString("Measured in:\n\n")
	for _, s := range r.Fleet.Sources {
		fmt.Fprintf(&b, "- %s", mdEscape(s.Label()))
		if s.UpgradedFrom != "" {
			fmt.Fprintf(&b, " (read as %s: no run times, kinds, prices or token counts)", mdEscape(s.UpgradedFrom))
		}
		if s.Status != "" && s.Status != "complete" {
			fmt.Fprintf(&b, " (run %s: figures cover what was measured)", mdEscape(s.Status))
		}
		b.WriteString("\n")
	}
	for _, s := range r.Fleet.Superseded {
		fmt.Fprintf(&b, "- %s from %s replaced by the newer %s\n", mdEscape(s.Target), mdEscape(s.Source.Label()), mdEscape(s.By.Label()))
	}
	b.WriteString("\n| job | needs | target | fallbacks |\n| --- | --- | --- | --- |\n")
	for i := range r.Decisions {
		d := &r.Decisions[i]
		target, fb := "**not covered**", ""
		if c := d.Chosen(); c != nil {
			target = mdEscape(c.Target)
			var names []string
			for _, f := range d.Fallbacks() {
				names = append(names, mdEscape(f.Target))
			}
			fb = strings.Join(names, ", ")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdEscape(d.Job.Name), mdEscape(d.Job.Describe()), target, fb)
	}
	for i := range r.Decisions {
		writeDecisionMarkdown(&b, &r.Decisions[i])
	}
	b.WriteString("\nmax_input_tokens is the measured effective context length at the job's accuracy (never the claimed window); " +
		"rpm is the highest rate held at the job's length x 60, and \"≥\" marks a lower bound: every rate tried held, so the real limit is higher.\n")
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("writing the routing Markdown: %w", err)
	}
	return nil
}

func writeDecisionMarkdown(b *strings.Builder, d *Decision) {
	fmt.Fprintf(b, "\n## %s\n\nNeeds %s.", mdEscape(d.Job.Name), mdEscape(d.Job.Describe()))
	if !d.Covered() {
		b.WriteString(" **No target covers it.**\n")
	} else {
		fmt.Fprintf(b, " Ranked by %s.\n", d.RankedBy)
		if n, have := d.Job.FallbackCount(), len(d.Fallbacks()); have < n {
			fmt.Fprintf(b, "%d fallback(s) asked; %d other target(s) cover the job.\n", n, have)
		}
		b.WriteString("\n| rank | target | group | run | length | rate | accuracy (95% CI) | ttft p95 | e2e p95 | cost/correct | max rate | max_input_tokens | rpm | tpm |\n")
		b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
		groups := map[string]string{}
		if c := d.Chosen(); c != nil {
			groups[c.Target] = d.Job.Name
		}
		for _, f := range d.Fallbacks() {
			groups[f.Target] = FallbackGroup(d.Job.Name, f.Target)
		}
		for k := range d.Candidates {
			c := &d.Candidates[k]
			if !c.Covers {
				continue
			}
			writeCandidateRow(b, c, groups[c.Target])
		}
	}
	var others []string
	for k := range d.Candidates {
		if c := &d.Candidates[k]; !c.Covers {
			others = append(others, fmt.Sprintf("- **%s**: %s", mdEscape(c.Target), mdEscape(strings.Join(c.Reasons, "; "))))
		}
	}
	if len(others) > 0 {
		b.WriteString("\nNot covering:\n\n" + strings.Join(others, "\n") + "\n")
	}
	writeAccuracyNotes(b, d)
}

// writeAccuracyNotes says, per target, what a job naming a dataset task
// type had its accuracy judged on.
func writeAccuracyNotes(b *strings.Builder, d *Decision) {
	var notes []string
	for k := range d.Candidates {
		if c := &d.Candidates[k]; c.AccuracyNote != "" {
			notes = append(notes, fmt.Sprintf("- **%s**: %s", mdEscape(c.Target), mdEscape(c.AccuracyNote)))
		}
	}
	if len(notes) == 0 {
		return
	}
	fmt.Fprintf(b, "\nAccuracy on task type %s (your dataset; the table's accuracy is the needles' at the covering point):\n\n%s\n",
		mdEscape(termsafe.Line(d.Job.DatasetTaskType())), strings.Join(notes, "\n"))
}

func writeCandidateRow(b *strings.Builder, c *Candidate, group string) {
	at := c.Judged.At
	lim := c.Limits()
	if group == "" {
		group = "(not kept)"
	}
	maxRate, rpm := "-", fmt.Sprint(lim.RPM)
	if c.Judged.MaxRate != nil {
		maxRate = Rate(*c.Judged.MaxRate).String()
	}
	if lim.RPMLowerBound {
		maxRate, rpm = "≥ "+maxRate+" (highest tried)", "≥ "+rpm
	}
	tpm := "-"
	if lim.TPM > 0 {
		tpm = fmt.Sprint(lim.TPM)
		if lim.RPMLowerBound {
			tpm = "≥ " + tpm
		}
	}
	cost := "-"
	if v, ok := c.CostPerCorrect(); ok {
		cost = money(v)
		if cur := c.Measurement.Target.Currency; cur != "" {
			cost += " " + cur
		}
	}
	fmt.Fprintf(b, "| %d | %s | %s | %s | %d | %s | %.2f (%.2f–%.2f) | %s | %s | %s | %s | %d | %s | %s |\n",
		c.Rank, mdEscape(c.Target), mdEscape(group), mdEscape(c.Measurement.Source.Label()), c.Judged.Length,
		Rate(at.Rate).String(), at.Accuracy, at.AccuracyCI[0], at.AccuracyCI[1],
		seconds(observed(at.TTFT)), seconds(observed(at.E2E)), cost, maxRate, lim.MaxInputTokens, rpm, tpm)
}

// seconds writes a latency, "-" when not observed.
func seconds(v *float64) string {
	if v == nil {
		return "-"
	}
	d := time.Duration(*v * float64(time.Second))
	switch {
	case d >= time.Second:
		d = d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		d = d.Round(10 * time.Microsecond)
	default:
		d = d.Round(time.Microsecond)
	}
	return d.String()
}

// mdEscape makes text safe in a Markdown table cell and line: pipes and
// markup characters escaped, line breaks flattened.
func mdEscape(s string) string {
	r := strings.NewReplacer("\\", "\\\\", "|", "\\|", "*", "\\*", "`", "\\`", "<", "&lt;", ">", "&gt;", "[", "\\[", "]", "\\]", "\n", " ", "\r", " ")
	return r.Replace(s)
}
