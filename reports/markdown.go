package reports

import (
	"fmt"
	"io"
	"strings"
	"unicode"
)

// WriteMarkdown writes summary.md: the run, the objectives, the envelope per
// target, why answers were wrong, consistency and every point.
func WriteMarkdown(w io.Writer, s *Summary) error {
	var b strings.Builder
	b.WriteString("# needlestorm report\n\n")
	fmt.Fprintf(&b, "- status: **%s**, %d records (%d warm-up, left out of the figures)\n", md(s.Run.Status), s.Run.Records, s.Run.Warmup)
	if !s.Run.StartedAt.IsZero() {
		fmt.Fprintf(&b, "- started %s", s.Run.StartedAt.Format("2006-01-02 15:04:05 MST"))
		if !s.Run.EndedAt.IsZero() {
			fmt.Fprintf(&b, ", ended %s", s.Run.EndedAt.Format("2006-01-02 15:04:05 MST"))
		}
		b.WriteString("\n")
	}
	if s.Run.Note != "" {
		fmt.Fprintf(&b, "- **note: %s**\n", md(s.Run.Note))
	}
	fmt.Fprintf(&b, "- objectives: %s\n", md(s.Objectives.Describe()))

	b.WriteString("\n## Envelope\n")
	for _, et := range s.Envelope.Targets {
		fmt.Fprintf(&b, "\n### %s", md(et.Target))
		if et.Model != "" {
			fmt.Fprintf(&b, " (%s)", md(et.Model))
		}
		fmt.Fprintf(&b, "\n\nEffective context length: **%s** tokens (%s; accuracy threshold %.2f", formatLength(et.EffectiveContextLength), md(et.LimitedBy), et.AccuracyThreshold)
		if et.BaselineAccuracy != nil {
			fmt.Fprintf(&b, ", relative to accuracy %.2f at the shortest length", *et.BaselineAccuracy)
		}
		b.WriteString(").\n\n")
		b.WriteString("| length | accuracy | max rate | ttft p95 | e2e p95 | accuracy there | cost/request | failures |\n|---:|---:|---:|---:|---:|---:|---:|---|\n")
		for _, el := range et.Lengths {
			ttft, e2e, acc, cost := "-", "-", "-", "-"
			if el.At != nil {
				ttft, e2e, acc, cost = formatQuantile(el.At.TTFT, 95), formatQuantile(el.At.E2E, 95), fmt.Sprintf("%.2f", el.At.Accuracy), formatCost(el.At.Cost)
			}
			var fails []string
			for _, p := range el.Points {
				if !p.Pass {
					fails = append(fails, fmt.Sprintf("%s: %s", formatRate(p.Rate), strings.Join(p.Reasons, "; ")))
				}
			}
			fmt.Fprintf(&b, "| %d | %.2f | %s | %s | %s | %s | %s | %s |\n", el.Length, el.Accuracy, formatMaxRate(el.MaxRate), ttft, e2e, acc, md(cost), md(strings.Join(fails, " / ")))
		}
	}

	b.WriteString("\n## Why answers were wrong\n\n| target | requests | accuracy (95% CI) | ")
	order := attributionOrder()
	b.WriteString(strings.Join(order, " | "))
	b.WriteString(" | errors |\n|---|---:|---:|")
	b.WriteString(strings.Repeat("---:|", len(order)))
	b.WriteString("---|\n")
	for _, ts := range s.Targets {
		fmt.Fprintf(&b, "| %s | %d | %.2f (%.2f-%.2f) |", md(ts.Target), ts.Requests, ts.Accuracy, ts.AccuracyCI[0], ts.AccuracyCI[1])
		for _, a := range order {
			fmt.Fprintf(&b, " %d |", ts.Attribution[a])
		}
		fmt.Fprintf(&b, " %s |\n", md(formatCounts(ts.ErrorClasses, nil)))
	}
	for _, ts := range s.Targets {
		overhead := "not measured (no server token counts)"
		if ts.OverheadKnown {
			overhead = fmt.Sprintf("%d tokens", ts.Overhead)
		}
		fmt.Fprintf(&b, "\n- %s: template overhead %s.", md(ts.Target), overhead)
		if sent := truncationSentence(ts); sent != "" {
			fmt.Fprintf(&b, " %s", sent)
		}
		b.WriteString("\n")
	}

	b.WriteString("\n## Consistency over repeats\n\n| target | cases repeated | mean agreement | mean distinct answers |\n|---|---:|---:|---:|\n")
	for _, ts := range s.Targets {
		c := ts.Consistency
		if c.Cases == 0 {
			fmt.Fprintf(&b, "| %s | 0 | - | - |\n", md(ts.Target))
			continue
		}
		fmt.Fprintf(&b, "| %s | %d | %.2f | %.2f |\n", md(ts.Target), c.Cases, c.MeanAgreement, c.MeanDistinct)
	}

	b.WriteString("\n## Points (target, stage, length)\n\n| target | stage | rate | length | requests | accuracy (95% CI) | recall | ttft p50 | ttft p95 | e2e p95 | error rate | goodput | correct goodput | pass |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, p := range s.Points {
		pass := "pass"
		if !p.Pass {
			pass = "fail: " + strings.Join(p.Reasons, "; ")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %.2f (%.2f-%.2f) | %.2f | %s | %s | %s | %.3g | %s | %s | %s |\n",
			md(p.Target), md(p.StageLabel), formatRate(p.StageRate), p.Length, p.Requests, p.Accuracy, p.AccuracyCI[0], p.AccuracyCI[1], p.Recall,
			formatQuantile(p.TTFT, 50), formatQuantile(p.TTFT, 95), formatQuantile(p.E2E, 95), p.ErrorRate,
			formatRate(p.Goodput), formatRate(p.CorrectGoodput), md(pass))
	}
	b.WriteString("\nPer-cell figures (by depth) are in summary.json and report.html; every request is in records.csv.\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing summary.md: %w", err)
	}
	return nil
}

// md makes text safe inside a Markdown table cell: control characters become
// spaces and characters Markdown or HTML would interpret are escaped.
func md(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsControl(r):
			b.WriteByte(' ')
		case strings.ContainsRune("\\`*_[]<>|#", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
