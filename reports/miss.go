package reports

import (
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"slices"
	"strings"

	"github.com/needlestorm/needlestorm/probes"
)

// MissUnclassified counts the model's misses whose record carries no miss
// kind: recorded by an older version, or attributed otherwise while the
// run was live (the kind is found from the prompt, which records do not
// hold, so a report cannot find it afterwards).
const MissUnclassified = "unclassified"

// MinTrendMisses is the fewest misses each end of an axis (a length, a
// load stage) must have for the report to say whether hallucinations rise
// along it; MissTrendAlpha the p-value below which the rise is stated.
const (
	MinTrendMisses = 20
	MissTrendAlpha = 0.05
)

// missKinds are the kinds of the split in the order shown.
func missKinds() []string {
	out := make([]string, 0, len(probes.MissKinds)+1)
	for _, k := range probes.MissKinds {
		out = append(out, string(k))
	}
	return append(out, MissUnclassified)
}

// MissSplit is why one target's model missed: its misses (wrong answers
// attributed model_missed, warm-up and open-ended cases left out) by kind
// (see probes.Miss), over the run and per length, depth and load stage.
type MissSplit struct {
	Target string `json:"target"`
	// MissRow holds the run's figures.
	MissRow
	ByLength []MissRow `json:"by_length"`
	ByDepth  []MissRow `json:"by_depth"`
	ByStage  []MissRow `json:"by_stage"`
	// ByTask splits by task: a dataset case's task type, else the
	// built-in task (single, multikey...).
	ByTask []MissRow `json:"by_task"`
	// Trends say where hallucinations rise with length or with load (see
	// MissTrend); empty when the samples are too small or the rise is not
	// significant.
	Trends []MissTrend `json:"trends,omitempty"`
	// TrendNote says why no rise is stated for an axis with several
	// groups: too few misses, or no significant rise.
	TrendNote string `json:"trend_note,omitempty"`
}

// MissRow is the split of one group of requests. Requests are the scored
// requests (n), Misses those the model missed; Counts has each kind's
// misses and Shares its share of Misses.
type MissRow struct {
	Length     int                `json:"length,omitempty"`
	Depth      *float64           `json:"depth,omitempty"`
	Stage      *int               `json:"stage,omitempty"`
	StageLabel string             `json:"stage_label,omitempty"`
	StageRate  float64            `json:"stage_rate,omitempty"`
	Task       string             `json:"task,omitempty"`
	Requests   int                `json:"requests"`
	Misses     int                `json:"misses"`
	Counts     map[string]int     `json:"counts"`
	Shares     map[string]float64 `json:"shares"`
}

// MissTrend is a significant rise of the hallucinated share of misses
// from the low end of an axis to its high end. The ends are the shortest
// and longest lengths (Axis "length"), or the stages of lowest and highest
// achieved rate (Axis "load"), that have at least MinTrendMisses misses
// each; the test is ProportionTest of hallucinated misses over misses at
// the two ends, stated when p < MissTrendAlpha.
type MissTrend struct {
	Axis     string  `json:"axis"`
	From     string  `json:"from"`
	To       string  `json:"to"`
	FromRow  MissRow `json:"from_row"`
	ToRow    MissRow `json:"to_row"`
	PValue   float64 `json:"p_value"`
	Test     string  `json:"test"`
	Sentence string  `json:"sentence"`
}

// missKindOf is a scored record's miss kind for the split, "" when the
// report does not put the miss on the model.
func missKindOf(sc *scored) string {
	if sc.a.Attribution != probes.AttrModelMissed {
		return ""
	}
	return cmp.Or(sc.a.Miss, MissUnclassified)
}

// missSplits makes each target's split; nil when no target's model missed.
func missSplits(recs []scored, targets []string, stages stageInfos) []MissSplit {
	by := map[string][]*scored{}
	for i := range recs {
		sc := &recs[i]
		if sc.rec.Warmup || sc.rec.Open() || sc.a.Attribution == probes.AttrUnscored {
			continue
		}
		by[sc.rec.Target] = append(by[sc.rec.Target], sc)
	}
	var out []MissSplit
	for _, name := range targets {
		g := by[name]
		ms := MissSplit{Target: name, MissRow: missRow(g)}
		if ms.Misses == 0 {
			continue
		}
		ms.ByLength = missRows(g, func(sc *scored) float64 { return float64(sc.rec.Length) }, func(r *MissRow, sc *scored) { r.Length = sc.rec.Length })
		ms.ByDepth = missRows(g, func(sc *scored) float64 { return sc.rec.Depth }, func(r *MissRow, sc *scored) { d := sc.rec.Depth; r.Depth = &d })
		ms.ByStage = missRows(g, func(sc *scored) float64 { return float64(sc.rec.Stage) }, func(r *MissRow, sc *scored) {
			st := sc.rec.Stage
			r.Stage, r.StageLabel = &st, sc.rec.StageLabel
			if info := stages[stageKey{name, st}]; info != nil {
				r.StageRate = info.info.Rate
			}
		})
		var notes []string
		note := func(axis, why string) {
			if why != "" && why != "-" {
				notes = append(notes, axis+": "+why)
			}
		}
		t, why := missTrend(ms.ByLength, func(r MissRow) string { return formatLengthShort(r.Length) + " tokens" })
		if why == "" {
			t.Axis = "length"
			ms.Trends = append(ms.Trends, t)
		}
		note("length", why)
		ms.ByTask = missTaskRows(g)
		byLoad := slices.Clone(ms.ByStage)
		slices.SortStableFunc(byLoad, func(a, b MissRow) int { return cmp.Compare(a.StageRate, b.StageRate) })
		t, why = missTrend(byLoad, stageName)
		if why == "" {
			t.Axis = "load"
			ms.Trends = append(ms.Trends, t)
		}
		note("load", why)
		if len(notes) > 0 {
			ms.TrendNote = "No rise of hallucinations stated (" + strings.Join(notes, "; ") + ")."
		}
		for i := range ms.Trends {
			ms.Trends[i].Sentence = trendSentence(name, ms.Trends[i])
		}
		out = append(out, ms)
	}
	return out
}

// stageName names a stage row: its label and achieved rate.
func stageName(r MissRow) string {
	s := "stage " + r.StageLabel
	if r.StageRate > 0 {
		s += " (" + formatRate(r.StageRate) + " achieved)"
	}
	return s
}

// missRow is the split of a group of requests.
func missRow(g []*scored) MissRow {
	r := MissRow{Requests: len(g), Counts: map[string]int{}, Shares: map[string]float64{}}
	for _, sc := range g {
		if k := missKindOf(sc); k != "" {
			r.Misses++
			r.Counts[k]++
		}
	}
	for k, n := range r.Counts {
		r.Shares[k] = float64(n) / float64(r.Misses)
	}
	return r
}

// missRows splits g by key, in key order; label fills in a row's key.
func missRows(g []*scored, key func(*scored) float64, label func(*MissRow, *scored)) []MissRow {
	groups := map[float64][]*scored{}
	for _, sc := range g {
		groups[key(sc)] = append(groups[key(sc)], sc)
	}
	keys := make([]float64, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]MissRow, 0, len(keys))
	for _, k := range keys {
		r := missRow(groups[k])
		label(&r, groups[k][0])
		out = append(out, r)
	}
	return out
}

// missTaskRows splits g by task (a dataset case's task type, else its
// task), in order of first appearance.
func missTaskRows(g []*scored) []MissRow {
	groups := map[string][]*scored{}
	var order []string
	for _, sc := range g {
		k := cmp.Or(sc.rec.TaskType, sc.rec.Task)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], sc)
	}
	out := make([]MissRow, 0, len(order))
	for _, k := range order {
		r := missRow(groups[k])
		r.Task = k
		out = append(out, r)
	}
	return out
}

// missTableRow is one row of a target's miss table: the axis, the group
// and its split.
type missTableRow struct {
	By, Group string
	Row       MissRow
}

// missTable is a target's miss table: the rows by length, depth, load
// stage and task (an axis with a single group is left out: the run's row
// says it), then the run's.
func missTable(ms MissSplit) []missTableRow {
	var out []missTableRow
	add := func(by string, rows []MissRow, group func(MissRow) string) {
		if len(rows) < 2 {
			return
		}
		for _, r := range rows {
			out = append(out, missTableRow{by, group(r), r})
		}
	}
	add("length", ms.ByLength, func(r MissRow) string { return formatLengthShort(r.Length) })
	add("depth", ms.ByDepth, func(r MissRow) string { return fmt.Sprintf("%g%%", *r.Depth) })
	add("load", ms.ByStage, stageName)
	add("task", ms.ByTask, func(r MissRow) string { return r.Task })
	return append(out, missTableRow{"all", "all", ms.MissRow})
}

// missTrend tests whether the hallucinated share of misses rises from the
// first row with at least MinTrendMisses misses to the last (rows in axis
// order). It returns the rise, or why none is stated: "" for an axis of
// one group (nothing to compare), else too few misses, no rise, or a rise
// that is not significant.
func missTrend(rows []MissRow, name func(MissRow) string) (MissTrend, string) {
	if len(rows) < 2 {
		return MissTrend{}, "-"
	}
	var ends []MissRow
	for _, r := range rows {
		if r.Misses >= MinTrendMisses {
			ends = append(ends, r)
		}
	}
	if len(ends) < 2 {
		return MissTrend{}, fmt.Sprintf("fewer than two groups with %d misses or more", MinTrendMisses)
	}
	lo, hi := ends[0], ends[len(ends)-1]
	h := string(probes.MissHallucinated)
	if hi.Shares[h] <= lo.Shares[h] {
		return MissTrend{}, fmt.Sprintf("no rise from %s to %s", name(lo), name(hi))
	}
	p, test := ProportionTest(lo.Counts[h], lo.Misses, hi.Counts[h], hi.Misses)
	if p >= MissTrendAlpha {
		return MissTrend{}, fmt.Sprintf("%s to %s: %s against %s of misses, p = %.2g, not significant", name(lo), name(hi), formatShare(lo.Shares[h]), formatShare(hi.Shares[h]), p)
	}
	return MissTrend{From: name(lo), To: name(hi), FromRow: lo, ToRow: hi, PValue: p, Test: test}, ""
}

func trendSentence(target string, t MissTrend) string {
	h := string(probes.MissHallucinated)
	perReq := func(r MissRow) float64 { return float64(r.Counts[h]) / float64(max(r.Requests, 1)) }
	return fmt.Sprintf("Hallucinations rise with %s for %s: %s of misses at %s (%d of %d) against %s at %s (%d of %d), p = %.2g (%s); %s of all requests against %s.",
		t.Axis, target,
		formatShare(t.FromRow.Shares[h]), t.From, t.FromRow.Counts[h], t.FromRow.Misses,
		formatShare(t.ToRow.Shares[h]), t.To, t.ToRow.Counts[h], t.ToRow.Misses,
		t.PValue, t.Test, formatShare(perReq(t.FromRow)), formatShare(perReq(t.ToRow)))
}

// missIntro says what the split rests on.
const missIntro = "The model's misses (wrong answers attributed model_missed) by kind: partial (some of several expected values), distractor (a value the prompt gives for another key, or another label), not_found (says it cannot find it, or nothing), hallucinated (a value of the asked kind found nowhere in the prompt), other. Shares are of the misses; n is the scored requests of the row."

// missTrendRule states when a trend is stated.
var missTrendRule = fmt.Sprintf("A rise of hallucinations with length or load is stated when the two ends compared (the shortest and longest length, or the stages of lowest and highest rate, with at least %d misses each) differ with p < %g.", MinTrendMisses, MissTrendAlpha)

// missCell is a count and its share, "-" for none.
func missCell(r MissRow, kind string) string {
	if r.Counts[kind] == 0 {
		return "-"
	}
	return fmt.Sprintf("%d (%s)", r.Counts[kind], formatShare(r.Shares[kind]))
}

// shownMissKinds are the kinds to show for splits: every kind of
// probes.MissKinds, and unclassified when some split has it.
func shownMissKinds(splits []MissSplit) []string {
	kinds := missKinds()
	for _, ms := range splits {
		if ms.Counts[MissUnclassified] > 0 {
			return kinds
		}
	}
	return kinds[:len(kinds)-1]
}

// writeMissMarkdown writes the section of summary.md on why the model
// missed, when it did.
func writeMissMarkdown(b *strings.Builder, s *Summary) {
	if len(s.Misses) == 0 {
		return
	}
	kinds := shownMissKinds(s.Misses)
	b.WriteString("\n## Why the model missed\n\n")
	b.WriteString(missIntro + " " + missTrendRule + "\n")
	for _, ms := range s.Misses {
		fmt.Fprintf(b, "\n### %s: %d misses of %d requests\n\n", md(ms.Target), ms.Misses, ms.Requests)
		for _, t := range ms.Trends {
			fmt.Fprintf(b, "**%s**\n\n", md(t.Sentence))
		}
		if ms.TrendNote != "" {
			fmt.Fprintf(b, "%s\n\n", md(ms.TrendNote))
		}
		fmt.Fprintf(b, "| by | group | n | misses | %s |\n|---|---|---:|---:|%s\n", strings.Join(kinds, " | "), strings.Repeat("---:|", len(kinds)))
		for _, tr := range missTable(ms) {
			fmt.Fprintf(b, "| %s | %s | %d | %d |", tr.By, md(tr.Group), tr.Row.Requests, tr.Row.Misses)
			for _, k := range kinds {
				fmt.Fprintf(b, " %s |", missCell(tr.Row, k))
			}
			b.WriteString("\n")
		}
	}
}

// writeMissText writes one line per target whose model missed: the split
// of its misses and any rise of hallucinations.
func writeMissText(b *strings.Builder, s *Summary) {
	if len(s.Misses) > 0 {
		b.WriteString("\n")
	}
	for _, ms := range s.Misses {
		var parts []string
		for _, k := range shownMissKinds(s.Misses) {
			if n := ms.Counts[k]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d (%s)", k, n, formatShare(ms.Shares[k])))
			}
		}
		line := fmt.Sprintf("%s missed %d of %d: %s", plain(ms.Target), ms.Misses, ms.Requests, strings.Join(parts, ", "))
		for _, t := range ms.Trends {
			line += fmt.Sprintf("; hallucinations rise with %s (%s to %s, p = %.2g)", t.Axis, formatShare(t.FromRow.Shares[string(probes.MissHallucinated)]), formatShare(t.ToRow.Shares[string(probes.MissHallucinated)]), t.PValue)
		}
		b.WriteString(line + "\n")
	}
}

//go:embed miss.html.tmpl
var missTemplateText string

var missTemplate = template.Must(template.New("misses").Funcs(template.FuncMap{
	"cell":  missCell,
	"table": missTable,
}).Parse(missTemplateText))

// missHTML renders the section of report.html on why the model missed
// (empty when it did not); html/template escapes every name.
func missHTML(s *Summary) (template.HTML, error) {
	if len(s.Misses) == 0 {
		return "", nil
	}
	var b strings.Builder
	err := missTemplate.Execute(&b, struct {
		S     *Summary
		Kinds []string
		Intro string
	}{s, shownMissKinds(s.Misses), missIntro + " " + missTrendRule})
	if err != nil {
		return "", fmt.Errorf("report.html, misses: %w", err)
	}
	return template.HTML(b.String()), nil //nolint:gosec // produced by html/template
}
