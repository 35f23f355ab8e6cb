package reports

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/needlestorm/needlestorm/probes"
)

// attributionOrder is the order attribution labels are shown in.
func attributionOrder() []string {
	return []string{
		probes.AttrCorrect, probes.AttrServerTruncated, probes.AttrRejected, probes.AttrCutOff,
		probes.AttrRefused, probes.AttrError, probes.AttrModelMissed, probes.AttrUnscored,
	}
}

func formatRate(r float64) string {
	if r == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3g/s", r)
}

func formatMaxRate(r *float64) string {
	if r == nil {
		return "none"
	}
	return formatRate(*r)
}

// formatQuantile writes a latency percentile, "-" when not observed.
func formatQuantile(q Quantiles, p int) string {
	return formatQuantileN(q, p)
}

func formatCost(c *Cost) string {
	if c == nil {
		return "-"
	}
	return formatMoney(c.PerRequest, c.Currency)
}

func formatLength(l int) string {
	if l == 0 {
		return "none"
	}
	return fmt.Sprintf("%d", l)
}

// formatCounts writes a count map as "a 3, b 1", in the given order first
// and the rest sorted.
func formatCounts(m map[string]int, order []string) string {
	var parts []string
	seen := map[string]bool{}
	for _, k := range order {
		seen[k] = true
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !seen[k] && m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// canceledSentence says how many of a target's requests needlestorm
// itself canceled, or "" when none.
func canceledSentence(ts TargetSummary) string {
	switch ts.Canceled {
	case 0:
		return ""
	case 1:
		return "1 request was canceled by needlestorm itself (an interrupt), not by the target: it is left out of accuracy and error rate"
	}
	return fmt.Sprintf("%d requests were canceled by needlestorm itself (an interrupt), not by the target: they are left out of accuracy and error rate", ts.Canceled)
}

// truncationSentence says in words what the servers dropped, or "" when
// nothing was.
func truncationSentence(ts TargetSummary) string {
	t := ts.Truncation
	if t.Wrong == 0 && t.CorrectAnyway == 0 {
		return ""
	}
	var b strings.Builder
	if t.Wrong > 0 {
		fmt.Fprintf(&b, "%d wrong answers came from prompts the server truncated", t.Wrong)
		if len(t.Cut) == 1 && t.Cut[probes.CutUnknown] > 0 {
			b.WriteString(" (which end was cut is unknown: turn on canaries to tell)")
		} else {
			fmt.Fprintf(&b, " (cut end: %s)", formatCounts(t.Cut, []string{probes.CutHead, probes.CutTail, probes.CutBoth, probes.CutUnknown}))
		}
		if t.NeedleLost > 0 {
			fmt.Fprintf(&b, "; in %d of them the needle was in the dropped part, so the server never showed it to the model", t.NeedleLost)
		}
		b.WriteString(": these are not the model's misses")
		if ts.CutEnd != "" {
			fmt.Fprintf(&b, ". The server drops the %s of a prompt it cannot take (shown by the canaries)", ts.CutEnd)
		}
	}
	if t.CorrectAnyway > 0 {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%d answers were right although the prompt was truncated", t.CorrectAnyway)
	}
	b.WriteString(".")
	return b.String()
}

// formatPer1k writes the cost of 1000 correct answers, "-" when unknown.
func formatPer1k(c *Cost) string {
	v := per1k(c)
	if v == nil {
		return "-"
	}
	return formatMoney(*v, c.Currency)
}

// formatShare writes a fraction as a percentage: one decimal below 10%,
// none above ("4.2%", "37%").
func formatShare(f float64) string {
	if f < 0.1 {
		return fmt.Sprintf("%.1f%%", f*100)
	}
	return fmt.Sprintf("%.0f%%", f*100)
}

// cacheSentence says how much of a target's prompt went through the
// server's prefix cache: the warning when there is one, otherwise a plain
// figure when at least 1% was cached, otherwise "".
func cacheSentence(ts TargetSummary) string {
	switch {
	case ts.CacheWarning != "":
		return "warning: " + ts.CacheWarning + "."
	case ts.CachedShare >= 0.01:
		return formatShare(ts.CachedShare) + " of prompt tokens were served from the server's prefix cache."
	}
	return ""
}

// formatCachedShare is a group's cached share of prompt tokens, or "-" when
// the server counted none.
func formatCachedShare(st Stats) string {
	if st.PromptTokens == 0 {
		return "-"
	}
	return formatShare(st.CachedShare)
}
