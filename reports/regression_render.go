package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Text is the comparison for a terminal: what was compared, every figure
// in a table, and the verdict.
func (r *Regression) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "baseline: %s\ncurrent:  %s\n", plain(r.Baseline.describe()), plain(r.Current.describe()))
	fmt.Fprintf(&b, "thresholds: %s\n", thresholdList(r.Thresholds))
	fmt.Fprintf(&b, "%s\n", r.method())
	for _, d := range r.Differences {
		fmt.Fprintf(&b, "not comparable (compared with --force): %s\n", plain(d))
	}
	b.WriteByte('\n')
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tlength\tmetric\tbaseline\tcurrent\tchange\tthreshold\tverdict")
	for _, c := range r.Changes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", plain(c.Target), c.lengthText(), c.Metric,
			c.valueText(c.Baseline, 0), c.valueText(c.Current, 1), c.deltaText(), orDash(c.Threshold), c.verdictText())
	}
	tw.Flush()
	b.WriteByte('\n')
	b.WriteString(r.Headline())
	b.WriteByte('\n')
	for _, c := range r.Regressions() {
		fmt.Fprintf(&b, "  %s\n", plain(c.sentence()))
	}
	for _, u := range r.Unmeasured {
		fmt.Fprintf(&b, "  not measured: %s\n", plain(u.String()))
	}
	return b.String()
}

// Headline says the verdict in one line.
func (r *Regression) Headline() string {
	n := len(r.Regressions())
	switch {
	case n == 0 && len(r.Unmeasured) == 0:
		return "no regression"
	case n == 0:
		return fmt.Sprintf("no regression in the figures, but %d target(s) not measured", len(r.Unmeasured))
	case n == 1:
		return "1 regression"
	}
	return fmt.Sprintf("%d regressions", n)
}

// method says how changes are judged.
func (r *Regression) method() string {
	return fmt.Sprintf("accuracy and error rate: two-sided %s (%s when an expected count is below %d) at α = %g; latency changes under %s are not counted",
		TestZ, TestFisher, fisherBelow, r.Alpha, formatSeconds(r.LatencyFloor))
}

// WriteRegressionMarkdown writes the comparison as Markdown fit for a
// pull-request comment or a CI job summary: the verdict, the regressions,
// and every figure in a folded table.
func WriteRegressionMarkdown(w io.Writer, r *Regression) error {
	var b strings.Builder
	icon := "✅"
	if r.Regressed() {
		icon = "❌"
	}
	fmt.Fprintf(&b, "## %s needlestorm compare: %s\n\n", icon, r.Headline())
	fmt.Fprintf(&b, "| | run |\n|---|---|\n| baseline | %s |\n| current | %s |\n\n", md(r.Baseline.describe()), md(r.Current.describe()))
	fmt.Fprintf(&b, "Thresholds: %s. Judged: %s.\n\n", md(thresholdList(r.Thresholds)), md(r.method()))
	if len(r.Differences) > 0 {
		b.WriteString("**Not comparable**, compared with `--force`:\n\n")
		for _, d := range r.Differences {
			fmt.Fprintf(&b, "- %s\n", md(d))
		}
		b.WriteByte('\n')
	}
	if len(r.Unmeasured) > 0 {
		b.WriteString("**Not measured:**\n\n")
		for _, u := range r.Unmeasured {
			fmt.Fprintf(&b, "- %s\n", md(u.String()))
		}
		b.WriteByte('\n')
	}
	if regs := r.Regressions(); len(regs) > 0 {
		b.WriteString("### Regressions\n\n")
		writeChangeTable(&b, regs, false)
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "<details><summary>All %d figures</summary>\n\n", len(r.Changes))
	writeChangeTable(&b, r.Changes, true)
	b.WriteString("\n</details>\n")
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("writing the comparison: %w", err)
	}
	return nil
}

// writeChangeTable writes changes as a Markdown table.
func writeChangeTable(b *strings.Builder, changes []Change, withVerdict bool) {
	b.WriteString("| target | length | metric | baseline | current | change | threshold |")
	sep := "|---|---:|---|---:|---:|---:|---:|"
	if withVerdict {
		b.WriteString(" verdict |")
		sep += "---|"
	}
	b.WriteString("\n" + sep + "\n")
	for _, c := range changes {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |", md(c.Target), c.lengthText(), md(c.Metric),
			md(c.valueText(c.Baseline, 0)), md(c.valueText(c.Current, 1)), md(c.deltaText()), md(orDash(c.Threshold)))
		if withVerdict {
			fmt.Fprintf(b, " %s |", c.verdictIcon())
		}
		b.WriteByte('\n')
	}
}

// WriteRegressionJSON writes the comparison as indented JSON (schema
// needlestorm.regression/v1).
func WriteRegressionJSON(w io.Writer, r *Regression) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("writing the comparison: %w", err)
	}
	return nil
}

// describe names a run for people: where it came from and how it ended.
func (f *Figures) describe() string {
	var parts []string
	if f.Run.Status != "" {
		parts = append(parts, f.Run.Status)
	}
	if !f.Run.StartedAt.IsZero() {
		parts = append(parts, "started "+f.Run.StartedAt.UTC().Format(time.RFC3339))
	}
	if f.Run.Version != "" {
		parts = append(parts, strings.TrimSpace(f.Run.Tool+" "+f.Run.Version))
	}
	s := f.Source + " (" + f.Kind
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, ", ")
	}
	return s + ")"
}

func thresholdList(ts []RegressionThreshold) string {
	if len(ts) == 0 {
		return "none"
	}
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.String()
	}
	return strings.Join(parts, ", ")
}

func (c Change) lengthText() string {
	if c.Length == 0 {
		return "all"
	}
	return formatLength(c.Length)
}

// valueText writes one side's value in the metric's unit; side is 0 for
// the baseline, 1 for the current run (for the counts).
func (c Change) valueText(v *float64, side int) string {
	if v == nil {
		if c.Metric == CmpMaxRate {
			return "none"
		}
		return "-"
	}
	switch {
	case isProportion(c.Metric):
		s := fmt.Sprintf("%.2f", *v)
		if c.Counts != nil {
			s += fmt.Sprintf(" (%d/%d)", c.Counts[2*side], c.Counts[2*side+1])
		}
		return s
	case isLatency(c.Metric):
		return formatSeconds(*v)
	case c.Metric == CmpMaxRate:
		return formatRate(*v)
	case c.Metric == CmpEffectiveContext:
		return formatLength(int(*v))
	}
	return formatMoney(*v, c.Currency)
}

func (c Change) deltaText() string {
	if c.Delta == nil {
		return "-"
	}
	if c.Unit == "pt" {
		s := fmt.Sprintf("%+.1fpt", *c.Delta)
		if c.PValue != nil {
			s += fmt.Sprintf(" (p = %.2g)", *c.PValue)
		}
		return s
	}
	return fmt.Sprintf("%+.1f%%", *c.Delta)
}

func (c Change) verdictText() string {
	if c.Note != "" && c.Status != ChangeOK && c.Status != ChangeInfo {
		return c.Status + ": " + plain(c.Note)
	}
	return c.Status
}

func (c Change) verdictIcon() string {
	switch c.Status {
	case ChangeRegressed:
		return "❌ regressed"
	case ChangeImproved:
		return "✅ improved"
	case ChangeNoise:
		return "〰️ within noise"
	}
	return md(c.Status)
}

// sentence says one change in words, such as "sim at 4096 tokens:
// accuracy 1.00 → 0.50 (-50.0pt (p = 1.3e-05), threshold 5pt)".
func (c Change) sentence() string {
	where := c.Target
	if c.Length > 0 {
		where += " at " + formatLength(c.Length) + " tokens"
	}
	if c.Load != "" {
		where += ", " + c.Load
	}
	s := fmt.Sprintf("%s: %s %s → %s (%s, threshold %s)", where, c.Metric, c.valueText(c.Baseline, 0), c.valueText(c.Current, 1), c.deltaText(), c.Threshold)
	if c.Note != "" {
		s += "; " + c.Note
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
