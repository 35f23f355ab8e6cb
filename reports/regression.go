package reports

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// RegressionSchema names the version of the comparison's JSON format.
const RegressionSchema = "needlestorm.regression/v1"

// Statuses of a Change.
const (
	// ChangeRegressed: worse beyond its threshold (and, for a share of
	// requests, significantly so).
	ChangeRegressed = "regressed"
	// ChangeNoise: worse beyond its threshold, but not significantly: the
	// difference is within sampling noise.
	ChangeNoise = "within noise"
	// ChangeImproved: better beyond the threshold's size (significantly,
	// for a share of requests).
	ChangeImproved = "improved"
	// ChangeOK: within the threshold.
	ChangeOK = "ok"
	// ChangeInfo: shown only; no threshold gates it.
	ChangeInfo = "not gated"
	// ChangeMissing: measured in only one of the runs, or in neither.
	ChangeMissing = "not measured"
)

// RegressionOptions say how to compare a run with its baseline.
type RegressionOptions struct {
	// Thresholds gate the metrics they name; the rest are shown only. Nil
	// means ParseRegressionThresholds("") (the defaults).
	Thresholds []RegressionThreshold
	// Alpha is the significance level of the proportion tests (0:
	// DefaultAlpha).
	Alpha float64
	// LatencyFloor is the smallest latency change that counts (0:
	// DefaultLatencyFloor; negative: none).
	LatencyFloor time.Duration
	// Force compares runs that are not comparable, listing what differs.
	Force bool
}

// Regression is a run compared with its baseline.
type Regression struct {
	Schema     string                `json:"schema"`
	Baseline   *Figures              `json:"baseline"`
	Current    *Figures              `json:"current"`
	Thresholds []RegressionThreshold `json:"thresholds"`
	Alpha      float64               `json:"alpha"`
	// LatencyFloor is in seconds.
	LatencyFloor float64 `json:"latency_floor"`
	// Differences are what made the runs not comparable, when Force
	// compared them anyway.
	Differences []string `json:"differences,omitempty"`
	// Unmeasured lists the current run's targets that measured nothing
	// (every request failed), and targets of the baseline it lacks.
	Unmeasured []Unmeasured `json:"unmeasured,omitempty"`
	Changes    []Change     `json:"changes"`
}

// Unmeasured is a target the current run has no figures for.
type Unmeasured struct {
	Target string `json:"target"`
	Reason string `json:"reason"`
}

// String is "target: reason".
func (u Unmeasured) String() string { return u.Target + ": " + u.Reason }

// Change is one metric of one target (and length) in both runs.
type Change struct {
	Target string `json:"target"`
	// Length is 0 for a target-wide metric (effective_context).
	Length int    `json:"length,omitempty"`
	Metric string `json:"metric"`
	// Baseline and Current are the values (accuracy and error rate as
	// fractions, latency in seconds, max rate in requests per second,
	// effective context in tokens, cost in the run's currency); nil when
	// not measured.
	Baseline *float64 `json:"baseline"`
	Current  *float64 `json:"current"`
	// Delta is the change: in points for a share of requests, in percent
	// for the rest; nil when either value is missing (or the baseline is
	// 0 for a percent change).
	Delta *float64 `json:"delta"`
	// Unit is "pt" or "%".
	Unit string `json:"unit"`
	// PValue and Test are the proportion test's, for accuracy and the
	// error rate.
	PValue *float64 `json:"p_value,omitempty"`
	Test   string   `json:"test,omitempty"`
	// Counts are the successes and trials behind a proportion: baseline
	// then current.
	Counts *[4]int `json:"counts,omitempty"`
	// Currency labels a cost.
	Currency string `json:"currency,omitempty"`
	// Load is the stage a latency was taken at (the lightest tested).
	Load      string `json:"load,omitempty"`
	Threshold string `json:"threshold,omitempty"`
	Status    string `json:"status"`
	Note      string `json:"note,omitempty"`
}

// Regressed reports whether any change regressed or the current run left
// a target unmeasured.
func (r *Regression) Regressed() bool { return len(r.Regressions()) > 0 || len(r.Unmeasured) > 0 }

// Regressions are the changes that regressed.
func (r *Regression) Regressions() []Change {
	var out []Change
	for _, c := range r.Changes {
		if c.Status == ChangeRegressed {
			out = append(out, c)
		}
	}
	return out
}

// CompareRuns compares the current run's figures with the baseline's: per
// target and length, the accuracy and error rate (in points, each tested
// with ProportionTest over every request at that length), the max rate
// held, the ttft, tpot and e2e percentiles at the lightest load tested
// (percent) and the cost per correct answer; per target the effective
// context length. Runs that are not comparable (see Differences) are
// refused with a *NotComparableError unless opts.Force.
func CompareRuns(base, cur *Figures, opts RegressionOptions) (*Regression, error) {
	if opts.Thresholds == nil {
		th, err := ParseRegressionThresholds("")
		if err != nil {
			return nil, err
		}
		opts.Thresholds = th
	}
	if opts.Alpha == 0 {
		opts.Alpha = DefaultAlpha
	}
	if !(opts.Alpha > 0 && opts.Alpha < 1) {
		return nil, fmt.Errorf("significance level %v: give a probability between 0 and 1, such as 0.05", opts.Alpha)
	}
	if opts.LatencyFloor == 0 {
		opts.LatencyFloor = DefaultLatencyFloor
	}
	r := &Regression{Schema: RegressionSchema, Baseline: base, Current: cur, Thresholds: opts.Thresholds, Alpha: opts.Alpha,
		LatencyFloor: max(opts.LatencyFloor, 0).Seconds(), Changes: []Change{}}
	if diff := Differences(base, cur); len(diff) > 0 {
		if !opts.Force {
			return nil, &NotComparableError{Differences: diff}
		}
		r.Differences = diff
	}
	c := comparer{opts: opts, byMetric: map[string]RegressionThreshold{}}
	for _, t := range opts.Thresholds {
		c.byMetric[t.Metric] = t
	}
	for _, name := range targetNames(&base.Env, &cur.Env) {
		bt, ct := envTarget(&base.Env, name), envTarget(&cur.Env, name)
		switch {
		case ct == nil:
			r.Unmeasured = append(r.Unmeasured, Unmeasured{name, "in the baseline, not in the current run"})
			continue
		case bt == nil:
			continue // new in the current run: nothing to compare with
		case !measuredAny(ct):
			r.Unmeasured = append(r.Unmeasured, Unmeasured{name, "every request of the current run failed"})
		}
		r.Changes = append(r.Changes, c.target(bt, ct)...)
	}
	return r, nil
}

// comparer holds what comparing each metric needs.
type comparer struct {
	opts     RegressionOptions
	byMetric map[string]RegressionThreshold
}

// latencyMetrics are the latency percentiles a comparison shows, plus
// any other percentile a threshold names.
func (c comparer) latencyMetrics() []string {
	var out []string
	for _, m := range []string{MetricTTFT, MetricTPOT, MetricE2E, MetricChunkGap} {
		for _, p := range []int{50, 90, 95, 99} {
			name := fmt.Sprintf("%s_p%d", m, p)
			_, named := c.byMetric[name]
			if named || (m != MetricChunkGap && p != 90) {
				out = append(out, name)
			}
		}
	}
	return out
}

// target compares one target's figures.
func (c comparer) target(bt, ct *EnvelopeTarget) []Change {
	out := []Change{c.relative(bt.Target, 0, CmpEffectiveContext, ptrTo(float64(bt.EffectiveContextLength)), ptrTo(float64(ct.EffectiveContextLength)), "")}
	lengths := lengthsOf2(bt, ct)
	for _, l := range lengths {
		bl, cl := lengthOf(*bt, l), lengthOf(*ct, l)
		bs, cs := pool(bl), pool(cl)
		out = append(out,
			c.proportion(bt.Target, l, CmpAccuracy, bs.correct, bs.requests, cs.correct, cs.requests),
			c.proportion(bt.Target, l, CmpErrorRate, bs.errors, bs.requests, cs.errors, cs.requests),
			c.relative(bt.Target, l, CmpMaxRate, maxRateOf(bl), maxRateOf(cl), ""))
		note, load := "", ""
		if bp, cp := lightestPoint(bl), lightestPoint(cl); bp != nil && cp != nil && bp.StageLabel != cp.StageLabel {
			note = fmt.Sprintf("lightest load differs: %s in the baseline, %s now", bp.StageLabel, cp.StageLabel)
		} else if bp != nil {
			load = bp.StageLabel
		}
		for _, m := range c.latencyMetrics() {
			ch := c.relative(bt.Target, l, m, latencyOf(bl, m), latencyOf(cl, m), note)
			ch.Load = load
			out = append(out, ch)
		}
		cost := c.relative(bt.Target, l, CmpCostPerCorrect, bs.costPerCorrect(), cs.costPerCorrect(), "")
		cost.Currency = cmp.Or(cs.currency, bs.currency)
		out = append(out, cost)
	}
	return out
}

// proportion compares a share of requests (x of n) in points, with a
// significance test.
func (c comparer) proportion(target string, length int, metric string, bx, bn, cx, cn int) Change {
	ch := Change{Target: target, Length: length, Metric: metric, Unit: "pt"}
	th, gated := c.threshold(metric, &ch)
	if bn == 0 || cn == 0 {
		ch.Status = ChangeMissing
		if bn > 0 {
			ch.Baseline = ptrTo(float64(bx) / float64(bn))
		}
		if cn > 0 {
			ch.Current = ptrTo(float64(cx) / float64(cn))
		}
		return ch
	}
	b, cur := float64(bx)/float64(bn), float64(cx)/float64(cn)
	ch.Baseline, ch.Current = &b, &cur
	delta := 100 * (cur - b)
	ch.Delta = &delta
	ch.Counts = &[4]int{bx, bn, cx, cn}
	p, test := ProportionTest(bx, bn, cx, cn)
	ch.PValue, ch.Test = &p, test
	worse := delta
	if !worseIsUp(metric) {
		worse = -delta
	}
	significant := p < c.opts.Alpha
	bound := 0.0
	if th.Kind == ThresholdPoints {
		bound = th.Value
	}
	switch {
	case !gated:
		ch.Status = ChangeInfo
	case worse > bound && worse > 0:
		ch.Status = ChangeRegressed
		if !significant {
			ch.Status = ChangeNoise
			ch.Note = fmt.Sprintf("p = %.2g ≥ α = %g: not significant", p, c.opts.Alpha)
		}
	case -worse > bound && -worse > 0 && significant:
		ch.Status = ChangeImproved
	default:
		ch.Status = ChangeOK
	}
	return ch
}

// relative compares a value by its percent change.
func (c comparer) relative(target string, length int, metric string, b, cur *float64, note string) Change {
	ch := Change{Target: target, Length: length, Metric: metric, Unit: "%", Baseline: b, Current: cur, Note: note}
	th, gated := c.threshold(metric, &ch)
	if b == nil || cur == nil {
		ch.Status = ChangeMissing
		if metric == CmpMaxRate && gated {
			ch.Status = c.maxRateMissing(&ch, th)
		}
		return ch
	}
	var worse float64
	switch {
	case *b == 0 && *cur == 0:
		ch.Delta = ptrTo(0)
	case *b == 0:
		worse = math.Inf(1)
		if !worseIsUp(metric) {
			worse = math.Inf(-1)
		}
	default:
		d := 100 * (*cur - *b) / *b
		ch.Delta = &d
		worse = d
		if !worseIsUp(metric) {
			worse = -d
		}
	}
	bound := 0.0
	if th.Kind == ThresholdPercent {
		bound = th.Value
	}
	small := isLatency(metric) && math.Abs(*cur-*b) < c.opts.LatencyFloor.Seconds()
	switch {
	case !gated:
		ch.Status = ChangeInfo
	case small:
		ch.Status = ChangeOK
		if worse > bound {
			ch.Note = joinNotes(ch.Note, fmt.Sprintf("below the latency floor of %s", formatSeconds(c.opts.LatencyFloor.Seconds())))
		}
	case worse > bound && worse > 0:
		ch.Status = ChangeRegressed
	case -worse > bound && -worse > 0:
		ch.Status = ChangeImproved
	default:
		ch.Status = ChangeOK
	}
	return ch
}

// maxRateMissing judges a max rate held in only one run: none held now
// where the baseline held one is a regression of 100%; the other way an
// improvement.
func (c comparer) maxRateMissing(ch *Change, th RegressionThreshold) string {
	switch {
	case ch.Baseline != nil && ch.Current == nil:
		ch.Delta = ptrTo(-100)
		ch.Note = "no tested rate held the objectives in the current run"
		return ChangeRegressed
	case ch.Baseline == nil && ch.Current != nil:
		ch.Note = "no tested rate held the objectives in the baseline"
		return ChangeImproved
	}
	ch.Note = "no tested rate held the objectives in either run"
	return ChangeOK
}

// threshold returns metric's threshold and whether it gates, noting the
// bound on ch.
func (c comparer) threshold(metric string, ch *Change) (RegressionThreshold, bool) {
	th, ok := c.byMetric[metric]
	if !ok || th.Kind == ThresholdOff {
		return th, false
	}
	ch.Threshold = th.Bound()
	return th, true
}

// pooled are the counts of every point at one length.
type pooled struct {
	requests, correct, errors int
	cost                      float64
	priced                    bool
	currency                  string
}

// costPerCorrect is the pooled cost per correct answer; nil without a
// price or a correct answer.
func (p pooled) costPerCorrect() *float64 {
	if !p.priced || p.correct == 0 {
		return nil
	}
	return ptrTo(p.cost / float64(p.correct))
}

// pool sums the points of one length (accuracy and error rate are exact
// ratios of their point's requests).
func pool(el *EnvelopeLength) pooled {
	var p pooled
	if el == nil {
		return p
	}
	p.priced = len(el.Points) > 0
	for _, pt := range el.Points {
		p.requests += pt.Requests
		p.correct += int(math.Round(pt.Accuracy * float64(pt.Requests)))
		p.errors += int(math.Round(pt.ErrorRate * float64(pt.Requests)))
		if pt.Cost == nil {
			p.priced = false
			continue
		}
		p.cost += pt.Cost.Total
		p.currency = pt.Cost.Currency
	}
	return p
}

func maxRateOf(el *EnvelopeLength) *float64 {
	if el == nil || len(el.Points) == 0 {
		return nil
	}
	return el.MaxRate
}

// lightestPoint is the point of the lowest load (points are sorted
// lightest first).
func lightestPoint(el *EnvelopeLength) *EnvelopePoint {
	if el == nil || len(el.Points) == 0 {
		return nil
	}
	return &el.Points[0]
}

// latencyOf is a latency percentile (such as ttft_p95) at the lightest
// load; nil when not observed.
func latencyOf(el *EnvelopeLength, metric string) *float64 {
	p := lightestPoint(el)
	if p == nil {
		return nil
	}
	l, err := parseLatency(metric, "1s")
	if err != nil {
		return nil
	}
	var q Quantiles
	switch l.Metric {
	case MetricTTFT:
		q = p.TTFT
	case MetricTPOT:
		q = p.TPOT
	case MetricE2E:
		q = p.E2E
	case MetricChunkGap:
		q = p.ChunkGap
	}
	if q.N == 0 {
		return nil
	}
	return ptrTo(q.Get(l.Percentile))
}

// measuredAny reports whether a target has a request that did not fail.
func measuredAny(et *EnvelopeTarget) bool {
	for _, el := range et.Lengths {
		for _, p := range el.Points {
			if p.Requests > 0 && p.ErrorRate < 1 {
				return true
			}
		}
	}
	return false
}

// targetNames are the targets of both envelopes, sorted.
func targetNames(a, b *Envelope) []string {
	var out []string
	for _, env := range []*Envelope{a, b} {
		for _, et := range env.Targets {
			if !slices.Contains(out, et.Target) {
				out = append(out, et.Target)
			}
		}
	}
	slices.Sort(out)
	return out
}

func envTarget(env *Envelope, name string) *EnvelopeTarget {
	for i := range env.Targets {
		if env.Targets[i].Target == name {
			return &env.Targets[i]
		}
	}
	return nil
}

// lengthsOf2 are the lengths either target was tested at, ascending.
func lengthsOf2(a, b *EnvelopeTarget) []int {
	var out []int
	for _, et := range []*EnvelopeTarget{a, b} {
		for _, el := range et.Lengths {
			if !slices.Contains(out, el.Length) {
				out = append(out, el.Length)
			}
		}
	}
	slices.SortFunc(out, cmp.Compare)
	return out
}

func ptrTo(f float64) *float64 { return &f }
