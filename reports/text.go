package reports

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// Text is a one-screen summary for a terminal: the run's status, the
// objectives, the envelope per target and where report.html is.
func (s *Summary) Text() string {
	var b strings.Builder
	writeRunText(&b, s)
	writeBottlenecksText(&b, s)
	for _, et := range s.Envelope.Targets {
		writeEnvelopeText(&b, s, et)
		for _, ts := range s.Targets {
			if ts.Target == et.Target {
				writeTargetNotesText(&b, s, ts)
				writeStagesText(&b, ts)
			}
		}
	}
	writeMissText(&b, s)
	writeServerMetricsText(&b, s)
	if s.Answer != "" {
		fmt.Fprintf(&b, "\n%s\n", plain(s.Answer))
	}
	if p, ok := s.Files[HTMLFile]; ok {
		fmt.Fprintf(&b, "\nreport: %s\n", p)
	}
	return b.String()
}

// writeRunText writes the run's status (in capitals when it did not
// complete), how long it took, its note, the objectives and the spend.
func writeRunText(b *strings.Builder, s *Summary) {
	status := s.Run.Status
	if !s.Run.Complete {
		status = strings.ToUpper(status)
	}
	took := ""
	if r := s.Run; !r.StartedAt.IsZero() && r.EndedAt.After(r.StartedAt) {
		took = " in " + r.EndedAt.Sub(r.StartedAt).Round(100*time.Millisecond).String()
	}
	if s.Run.Missing > 0 {
		fmt.Fprintf(b, "run %s: %d records (%d warm-up) of the %d the manifest counts%s\n", status, s.Run.Records, s.Run.Warmup, int64(s.Run.Records)+s.Run.Missing, took)
	} else {
		fmt.Fprintf(b, "run %s: %d records (%d warm-up)%s\n", status, s.Run.Records, s.Run.Warmup, took)
	}
	if s.Run.Note != "" {
		fmt.Fprintf(b, "note: %s\n", s.Run.Note)
	}
	fmt.Fprintf(b, "objectives: %s\n", s.Objectives.Describe())
	if s.Spend != nil {
		fmt.Fprintf(b, "spent: %s in all%s\n", plain(formatMoney(*s.Spend, s.Currency)), warmupIncluded(s.Run.Warmup))
	}
}

// writeEnvelopeText writes one target's effective context and a table of
// its lengths: the highest rate that held, the figures there, and the
// first rate that failed.
func writeEnvelopeText(b *strings.Builder, s *Summary, et EnvelopeTarget) {
	model := ""
	if et.Model != "" {
		model = " (" + et.Model + ")"
	}
	eff := formatLength(et.EffectiveContextLength) + " tokens"
	if et.EffectiveContextLength == 0 {
		eff = "none"
	}
	if len(et.Lengths) == 0 && et.LimitedBy == NoNeedleEnvelope {
		fmt.Fprintf(b, "\n%s%s: %s\n", plain(et.Target), plain(model), et.LimitedBy)
		return
	}
	fmt.Fprintf(b, "\n%s%s: effective context %s (%s)\n", plain(et.Target), plain(model), eff, et.LimitedBy)
	tw := tabwriter.NewWriter(b, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  length\taccuracy\t%s\tttft p95\te2e p95\tcost/request\tfirst failure\n", s.Envelope.MaxRateLabel())
	for _, el := range et.Lengths {
		ttft, e2e, cost := "-", "-", "-"
		if el.At != nil {
			ttft, e2e, cost = formatQuantile(el.At.TTFT, 95), formatQuantile(el.At.E2E, 95), formatCost(el.At.Cost)
		}
		fail := ""
		for _, p := range el.Points {
			if !p.Pass {
				fail = fmt.Sprintf("%s: %s", formatRate(p.Rate), plain(strings.Join(p.Reasons, "; ")))
				break
			}
		}
		fmt.Fprintf(tw, "  %d\t%.2f\t%s\t%s\t%s\t%s\t%s\n", el.Length, el.Accuracy, el.MaxRateText(), ttft, e2e, cost, fail)
	}
	tw.Flush()
	for _, el := range et.Lengths {
		if el.Unresolved != "" {
			fmt.Fprintf(b, "  length %d: %s\n", el.Length, plain(el.Unresolved))
		}
	}
	if note := s.Envelope.MixNote(); note != "" {
		fmt.Fprintf(b, "  %s\n", note)
	}
}

// writeTargetNotesText writes what else there is to say about a target:
// its spend, truncation, prefix cache and consistency.
func writeTargetNotesText(b *strings.Builder, s *Summary, ts TargetSummary) {
	if ts.Spend != nil {
		fmt.Fprintf(b, "  spent %s%s\n", plain(formatMoney(*ts.Spend, s.Currency)), warmupIncluded(ts.Warmup))
	}
	if sent := canceledSentence(ts); sent != "" {
		fmt.Fprintf(b, "  %s\n", sent)
	}
	if sent := truncationSentence(ts); sent != "" {
		fmt.Fprintf(b, "  %s\n", sent)
	}
	if sent := cacheSentence(ts); sent != "" {
		fmt.Fprintf(b, "  %s\n", sent)
	}
	if c := ts.Consistency; c.Cases > 0 {
		noun := "cases"
		if c.Cases == 1 {
			noun = "case"
		}
		fmt.Fprintf(b, "  %s: %d %s answered more than once, mean agreement %.2f, mean distinct answers %.2f (compared on the values given)\n",
			c.Label, c.Cases, noun, c.MeanAgreement, c.MeanDistinct)
	}
}

// plain replaces control characters (escape sequences from a model or
// target name would drive the terminal) with spaces.
func plain(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
