package reports

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// TaskTypePad is a task type's accuracy at one pad length and depth: its
// cases buried in a haystack of that many client tokens (see
// corpus.Padding), over the scored requests.
type TaskTypePad struct {
	// PadTo is the prompt length; 0 for the cases as written.
	PadTo int `json:"pad_to"`
	// Depth is where the content went, in percent of the haystack;
	// AllDepths marks the row over every depth of the length.
	Depth     float64 `json:"depth"`
	AllDepths bool    `json:"all_depths,omitempty"`
	Requests  int     `json:"requests"`
	Correct   int     `json:"correct"`
	Accuracy  float64 `json:"accuracy"`
	// AccuracyCI is the Wilson 95% interval.
	AccuracyCI [2]float64 `json:"accuracy_ci95"`
	Errors     int        `json:"errors"`
}

// taskTypePads splits a task type's scored requests by pad length and
// depth: the cases as written first, then each length, shortest first,
// with a row over all its depths when it has several. It returns nil when
// none was padded, and the longest pad length at which accuracy over all
// depths, and at every shorter length and as written, held the threshold
// (0 when none did).
func taskTypePads(g []*scored, opts Options, threshold float64) ([]TaskTypePad, int) {
	type key struct {
		pad   int
		depth float64
	}
	by := map[key][]*scored{}
	byPad := map[int][]*scored{}
	padded := false
	for _, sc := range g {
		r := sc.rec
		k := key{r.PadTo, r.Depth}
		if r.PadTo == 0 {
			k.depth = 0
		} else {
			padded = true
		}
		by[k] = append(by[k], sc)
		byPad[k.pad] = append(byPad[k.pad], sc)
	}
	if !padded {
		return nil, 0
	}
	keys := make([]key, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.pad, b.pad), cmp.Compare(a.depth, b.depth)) })
	row := func(pad int, depth float64, all bool, grp []*scored) TaskTypePad {
		st := computeStats(grp, 0, opts, grp[0].rec.Target)
		return TaskTypePad{PadTo: pad, Depth: depth, AllDepths: all, Requests: st.Requests, Correct: st.Correct, Accuracy: st.Accuracy, AccuracyCI: st.AccuracyCI, Errors: st.Errors}
	}
	var out []TaskTypePad
	holds, held := 0, true
	for i, k := range keys {
		out = append(out, row(k.pad, k.depth, false, by[k]))
		if i+1 < len(keys) && keys[i+1].pad == k.pad {
			continue // more depths of this length
		}
		all := row(k.pad, 0, true, byPad[k.pad])
		if i > 0 && keys[i-1].pad == k.pad {
			out = append(out, all) // the length over its several depths
		}
		held = held && all.Accuracy >= threshold
		if held && k.pad > 0 {
			holds = k.pad
		}
	}
	return out, holds
}

// writeTaskTypePadsMarkdown writes the task types' accuracy per pad length
// and depth, when the run padded dataset cases.
func writeTaskTypePadsMarkdown(b *strings.Builder, s *Summary) {
	if !hasPads(s.TaskTypes) {
		return
	}
	b.WriteString("\n### Task types by padded length\n\n")
	fmt.Fprintf(b, "Your cases buried in the haystack at exact prompt lengths (client tokens) and depths (percent of the haystack before the content); \"as written\" is the cases unpadded. Holds up to: the longest length at which accuracy over all depths, and at every shorter length, is at or above the threshold (%s).\n\n", formatShare(s.Objectives.AccuracyThreshold()))
	b.WriteString("| target | task type | pad to | depth | n | accuracy (95% CI) | errors |\n| --- | --- | ---: | ---: | ---: | --- | ---: |\n")
	for _, t := range s.TaskTypes {
		for _, p := range t.Pads {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %d | %s (%s–%s) | %d |\n", md(t.Target), md(t.TaskType), padLengthText(p.PadTo), padDepthText(p), p.Requests,
				formatShare(p.Accuracy), formatShare(p.AccuracyCI[0]), formatShare(p.AccuracyCI[1]), p.Errors)
		}
	}
	b.WriteString("\n")
	for _, t := range s.TaskTypes {
		if len(t.Pads) > 0 {
			fmt.Fprintf(b, "- %s, %s: %s\n", md(t.Target), md(t.TaskType), md(t.HoldsToText()))
		}
	}
}

// HoldsToText says up to which padded length the task type held the
// threshold.
func (t TaskTypeSummary) HoldsToText() string {
	if t.HoldsTo == 0 {
		return "holds at no padded length"
	}
	return "holds up to " + formatLengthShort(t.HoldsTo) + " tokens"
}

// padLengthText is a pad length for tables: "as written" for 0.
func padLengthText(n int) string {
	if n == 0 {
		return "as written"
	}
	return formatLengthShort(n)
}

// padDepthText is a pad row's depth for tables.
func padDepthText(p TaskTypePad) string {
	switch {
	case p.PadTo == 0:
		return "-"
	case p.AllDepths:
		return "all"
	}
	return fmt.Sprintf("%g%%", p.Depth)
}

// hasPads reports whether any task type was padded.
func hasPads(ts []TaskTypeSummary) bool {
	return slices.ContainsFunc(ts, func(t TaskTypeSummary) bool { return len(t.Pads) > 0 })
}
