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
	for _, section := range []func(*strings.Builder, *Summary){
		writeRunMarkdown,
		writeEnvelopeMarkdown,
		writeCostMarkdown,
		writeAttributionMarkdown,
		writeConsistencyMarkdown,
		writeTaskTypesMarkdown,
		writeTaskTypePadsMarkdown,
		writeABMarkdown,
		writeMissMarkdown,
		writeTasksMarkdown,
		writePointsMarkdown,
		writeStagesMarkdown,
		writeServerMetricsMarkdown,
	} {
		section(&b, s)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing summary.md: %w", err)
	}
	return nil
}

// writeRunMarkdown writes the title and the run in a list: status, times,
// notes and warnings, objectives, what was spent.
func writeRunMarkdown(b *strings.Builder, s *Summary) {
	b.WriteString("# needlestorm report\n\n")
	fmt.Fprintf(b, "- status: **%s**, %d records (%d warm-up, left out of the figures)\n", md(s.Run.Status), s.Run.Records, s.Run.Warmup)
	if !s.Run.StartedAt.IsZero() {
		fmt.Fprintf(b, "- started %s", s.Run.StartedAt.Format("2006-01-02 15:04:05 MST"))
		if !s.Run.EndedAt.IsZero() {
			fmt.Fprintf(b, ", ended %s", s.Run.EndedAt.Format("2006-01-02 15:04:05 MST"))
		}
		b.WriteString("\n")
	}
	if s.Run.Note != "" {
		fmt.Fprintf(b, "- **note: %s**\n", md(s.Run.Note))
	}
	for _, ts := range s.Targets {
		if ts.CacheWarning != "" {
			fmt.Fprintf(b, "- **warning (%s): %s**\n", md(ts.Target), md(ts.CacheWarning))
		}
	}
	fmt.Fprintf(b, "- objectives: %s\n", md(s.Objectives.Describe()))
	if s.Spend != nil {
		fmt.Fprintf(b, "- spent: %s in all (every request%s)\n", md(formatMoney(*s.Spend, s.Currency)), strings.TrimSuffix(strings.Replace(warmupIncluded(s.Run.Warmup), " (", ", ", 1), ")"))
	}
}

// writeEnvelopeMarkdown writes the envelope section: the comparison of
// targets when there are several, the answer to the requirement when one
// was stated, then each target's envelope.
func writeEnvelopeMarkdown(b *strings.Builder, s *Summary) {
	b.WriteString("\n## Envelope\n")
	if len(s.Targets) > 1 {
		writeComparisonMarkdown(b, s)
	}
	if s.Requirement != nil {
		writeRequirementMarkdown(b, s)
	}
	writeSectionsMarkdown(b, s)
	for _, et := range s.Envelope.Targets {
		writeTargetEnvelopeMarkdown(b, s, et)
		for _, ts := range s.Targets {
			if ts.Target == et.Target && len(ts.Steps) > 0 {
				writeStepsMarkdown(b, ts.Steps)
			}
		}
	}
}

// writeTargetEnvelopeMarkdown writes one target's effective context length
// and its table of lengths: the highest rate that held every objective, the
// figures there, and why the other rates failed.
func writeTargetEnvelopeMarkdown(b *strings.Builder, s *Summary, et EnvelopeTarget) {
	fmt.Fprintf(b, "\n### %s", md(et.Target))
	if et.Model != "" {
		fmt.Fprintf(b, " (%s)", md(et.Model))
	}
	if len(et.Lengths) == 0 && et.LimitedBy == NoNeedleEnvelope {
		fmt.Fprintf(b, "\n\nNo needle envelope: every case measured was from your dataset (see Task types).\n")
		return
	}
	fmt.Fprintf(b, "\n\nEffective context length: **%s** tokens (%s; accuracy threshold %.2f", formatLength(et.EffectiveContextLength), md(et.LimitedBy), et.AccuracyThreshold)
	if et.BaselineAccuracy != nil {
		fmt.Fprintf(b, ", relative to accuracy %.2f at the shortest length", *et.BaselineAccuracy)
	}
	b.WriteString(").\n\n")
	fmt.Fprintf(b, "| length | accuracy | %s | ttft p95 |", s.Envelope.MaxRateLabel())
	b.WriteString(" e2e p95 | accuracy there | cost/request | cost/1k correct | failures |\n|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, el := range et.Lengths {
		ttft, e2e, acc, cost, k := "-", "-", "-", "-", "-"
		if el.At != nil {
			ttft, e2e, acc, cost, k = formatQuantile(el.At.TTFT, 95), formatQuantile(el.At.E2E, 95), fmt.Sprintf("%.2f", el.At.Accuracy), formatCost(el.At.Cost), formatPer1k(el.At.Cost)
		}
		var fails []string
		for _, p := range el.Points {
			if !p.Pass {
				fails = append(fails, fmt.Sprintf("%s: %s", formatRate(p.Rate), strings.Join(p.Reasons, "; ")))
			}
		}
		fmt.Fprintf(b, "| %d | %.2f | %s | %s | %s | %s | %s | %s | %s |\n", el.Length, el.Accuracy, el.MaxRateText(), ttft, e2e, acc, md(cost), md(k), md(strings.Join(fails, " / ")))
	}
	for _, el := range et.Lengths {
		if el.Unresolved != "" {
			fmt.Fprintf(b, "\nLength %d: %s.\n", el.Length, md(el.Unresolved))
		}
	}
	if note := s.Envelope.MixNote(); note != "" {
		fmt.Fprintf(b, "\n%s\n", md(note))
	}
}

// writeStepsMarkdown writes a target's search steps, per length in the
// order they ran.
func writeStepsMarkdown(b *strings.Builder, steps []Step) {
	b.WriteString("\nSearch steps (per length, in the order they ran):\n\n| length | stage | phase | rate | requests | result |\n|---:|---|---|---:|---:|---|\n")
	for _, st := range steps {
		res := "pass"
		if !st.Pass {
			res = "fail: " + strings.Join(st.Reasons, "; ")
		}
		if len(st.Unresolved) > 0 {
			res += " (unresolved: " + strings.Join(st.Unresolved, "; ") + ")"
		}
		phase := st.Phase
		if phase == "" {
			phase = "-"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %d | %s |\n", formatLengthShort(st.Length), md(st.StageLabel), md(phase), formatRate(st.Rate), st.Requests, md(res))
	}
}

// writeCostMarkdown writes what each target cost, when the run was priced.
func writeCostMarkdown(b *strings.Builder, s *Summary) {
	if s.Spend == nil {
		return
	}
	b.WriteString("\n## Cost\n\n| target | spent (every request, warm-up too) | measured requests | per request | per correct answer |\n|---|---:|---:|---:|---:|\n")
	for _, ts := range s.Targets {
		if ts.Spend == nil || ts.Cost == nil {
			fmt.Fprintf(b, "| %s | no price | - | - | - |\n", md(ts.Target))
			continue
		}
		perCorrect := "-"
		if ts.Cost.PerCorrect != nil {
			perCorrect = formatMoney(*ts.Cost.PerCorrect, ts.Cost.Currency)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", md(ts.Target), md(formatMoney(*ts.Spend, s.Currency)), md(formatMoney(ts.Cost.Total, ts.Cost.Currency)), md(formatCost(ts.Cost)), md(perCorrect))
	}
}

// writeAttributionMarkdown writes why answers were wrong: a row of
// attribution counts per target, then per target its template overhead,
// what its server truncated and how much it served from its prefix cache.
func writeAttributionMarkdown(b *strings.Builder, s *Summary) {
	b.WriteString("\n## Why answers were wrong\n\n| target | requests | accuracy (95% CI) | ")
	order := attributionOrder()
	b.WriteString(strings.Join(order, " | "))
	b.WriteString(" | errors |\n|---|---:|---:|")
	b.WriteString(strings.Repeat("---:|", len(order)))
	b.WriteString("---|\n")
	for _, ts := range s.Targets {
		fmt.Fprintf(b, "| %s | %d | %.2f (%.2f-%.2f) |", md(ts.Target), ts.Requests, ts.Accuracy, ts.AccuracyCI[0], ts.AccuracyCI[1])
		for _, a := range order {
			fmt.Fprintf(b, " %d |", ts.Attribution[a])
		}
		fmt.Fprintf(b, " %s |\n", md(formatCounts(ts.ErrorClasses, nil)))
	}
	for _, ts := range s.Targets {
		writeTargetNotesMarkdown(b, ts)
	}
}

// writeTargetNotesMarkdown writes one target's list item under the
// attribution table: overhead, truncation, prefix cache.
func writeTargetNotesMarkdown(b *strings.Builder, ts TargetSummary) {
	overhead := "not measured (no server token counts)"
	if ts.OverheadKnown {
		overhead = fmt.Sprintf("%d tokens", ts.Overhead)
	}
	fmt.Fprintf(b, "\n- %s: template overhead %s.", md(ts.Target), overhead)
	if sent := canceledSentence(ts); sent != "" {
		fmt.Fprintf(b, " %s.", sent)
	}
	if sent := truncationSentence(ts); sent != "" {
		fmt.Fprintf(b, " %s", sent)
	}
	if ts.PromptTokens > 0 {
		fmt.Fprintf(b, " Prefix cache: %s of prompt tokens (%d of %d) served from the server's cache.", formatShare(ts.CachedShare), ts.CachedTokens, ts.PromptTokens)
	}
	if ts.CacheWarning != "" {
		fmt.Fprintf(b, " **Warning: %s.**", md(ts.CacheWarning))
	}
	b.WriteString("\n")
}

// writeConsistencyMarkdown writes how consistent each target's answers to
// the same case were.
func writeConsistencyMarkdown(b *strings.Builder, s *Summary) {
	b.WriteString("\n## Consistency\n\n| target | measured | cases answered more than once | mean agreement | mean distinct answers |\n|---|---|---:|---:|---:|\n")
	for _, ts := range s.Targets {
		c := ts.Consistency
		if c.Cases == 0 {
			fmt.Fprintf(b, "| %s | %s | 0 | - | - |\n", md(ts.Target), md(c.Label))
			continue
		}
		fmt.Fprintf(b, "| %s | %s | %d | %.2f | %.2f |\n", md(ts.Target), md(c.Label), c.Cases, c.MeanAgreement, c.MeanDistinct)
	}
	b.WriteString("\nAnswers are compared on the values they give (the expected values found, plus other values of the same kind; canaries left out), not on their wording.\n")
}

// writePointsMarkdown writes every (target, stage, length) point with its
// figures and verdict.
func writePointsMarkdown(b *strings.Builder, s *Summary) {
	if len(s.Points) == 0 && len(s.TaskTypes) > 0 {
		b.WriteString("\n## Points (target, stage, length)\n\nNo needle points: every request measured was a case of your dataset (see Task types).\n")
		return
	}
	b.WriteString("\n## Points (target, stage, length)\n\n| target | stage | rate | length | requests | accuracy (95% CI) | recall | ttft p50 | ttft p95 | e2e p95 | error rate | cached prompt | goodput | correct goodput | cost/request | cost/correct | pass |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, p := range s.Points {
		pass := "pass"
		if !p.Pass {
			pass = "fail: " + strings.Join(p.Reasons, "; ")
		}
		perCorrect := "-"
		if p.Cost != nil && p.Cost.PerCorrect != nil {
			perCorrect = formatMoney(*p.Cost.PerCorrect, p.Cost.Currency)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %d | %d | %.2f (%.2f-%.2f) | %.2f | %s | %s | %s | %.3g | %s | %s | %s | %s | %s | %s |\n",
			md(p.Target), md(p.StageLabel), formatRate(p.StageRate), p.Length, p.Requests, p.Accuracy, p.AccuracyCI[0], p.AccuracyCI[1], p.Recall,
			formatQuantile(p.TTFT, 50), formatQuantile(p.TTFT, 95), formatQuantile(p.E2E, 95), p.ErrorRate, formatCachedShare(p.Stats),
			formatRate(p.Goodput), formatRate(p.CorrectGoodput), md(formatCost(p.Cost)), md(perCorrect), md(pass))
	}
	b.WriteString("\nCached prompt: the share of server-counted prompt tokens served from the server's prefix cache. Per-cell figures (by depth) are in summary.json and report.html; every request is in records.csv.\n")
}

// writeComparisonMarkdown writes the envelope comparison: a row per
// target, a column per length tested on any target.
func writeComparisonMarkdown(b *strings.Builder, s *Summary) {
	lengths := s.ComparisonLengths()
	b.WriteString("\nTargets compared. Per length: max rate (ttft p95 / e2e p95, accuracy, cost/request, cost/1k correct) at that rate.\n\n| target | effective context | spent |")
	for _, l := range lengths {
		fmt.Fprintf(b, " %s |", formatLengthShort(l))
	}
	b.WriteString("\n|---|---:|---:|")
	b.WriteString(strings.Repeat("---|", len(lengths)))
	b.WriteString("\n")
	for _, r := range comparisonRows(s) {
		spent := "-"
		if r.T.Spend != nil {
			spent = formatMoney(*r.T.Spend, s.Currency)
		}
		fmt.Fprintf(b, "| %s | %s | %s |", md(r.E.Target), formatLengthShort(r.E.EffectiveContextLength), md(spent))
		for _, c := range r.Cells {
			switch {
			case !c.Tested:
				b.WriteString(" not tested |")
			case c.L.At == nil:
				fmt.Fprintf(b, " none (accuracy %.2f) |", c.L.Accuracy)
			default:
				at := c.L.At
				fmt.Fprintf(b, " %s (%s / %s, %.2f, %s, %s) |", formatMaxRate(c.L.MaxRate), formatQuantile(at.TTFT, 95), formatQuantile(at.E2E, 95), at.Accuracy, md(formatCost(at.Cost)), md(formatPer1k(at.Cost)))
			}
		}
		b.WriteString("\n")
	}
}

// writeRequirementMarkdown writes the answer to the stated requirement and
// the ranking behind it.
func writeRequirementMarkdown(b *strings.Builder, s *Summary) {
	fmt.Fprintf(b, "\n## Requirement: %s\n\n", md(s.Requirement.Describe()))
	if s.Choice != nil {
		fmt.Fprintf(b, "**%s**\n\n", md(s.Answer))
	} else {
		fmt.Fprintf(b, "**No target covers %s.**\n\n", md(s.Requirement.Describe()))
	}
	b.WriteString("| rank | target | covers | effective context | length | max rate | covering point | ttft p95 | e2e p95 | accuracy | cost/request | cost/1k correct | why not |\n|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, c := range s.Candidates {
		rank, covers := "-", "no"
		if c.Rank > 0 {
			rank, covers = fmt.Sprint(c.Rank), "yes"
		}
		length := "-"
		if c.Length > 0 {
			length = formatLengthShort(c.Length)
		}
		point, ttft, e2e, acc, cost, k := "-", "-", "-", "-", "-", "-"
		if c.At != nil {
			point, ttft, e2e, acc, cost, k = formatRate(c.At.Rate), formatQuantile(c.At.TTFT, 95), formatQuantile(c.At.E2E, 95), fmt.Sprintf("%.2f", c.At.Accuracy), formatCost(c.At.Cost), formatPer1k(c.At.Cost)
			if c.At.Cost == nil {
				cost = "unknown"
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", rank, md(c.Target), covers, formatLengthShort(c.EffectiveContextLength), length,
			formatMaxRate(c.MaxRate), point, ttft, e2e, acc, md(cost), md(k), md(strings.Join(c.Reasons, "; ")))
	}
	b.WriteString("\nA target covers the requirement when the length is within its effective context and, at a tested length at or above it (only lengths actually tested count), a rate at or above the required one held every objective, with latency and accuracy there within the requirement's bounds.")
	if s.RankedBy != "" {
		fmt.Fprintf(b, " Covering targets are ranked by %s.", md(s.RankedBy))
	}
	b.WriteString("\n")
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
