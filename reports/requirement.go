package reports

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/needlestorm/needlestorm/corpus"
)

// Requirement is what a deployment needs: prompts of Length tokens served
// at Rate requests per second, within latency bounds and, optionally, at an
// accuracy. The report names the cheapest target whose envelope covers it.
type Requirement struct {
	// Length is the prompt length in client tokens; required.
	Length int `json:"length" yaml:"length"`
	// Rate is requests per second; 0 asks only that some tested rate held.
	Rate float64 `json:"rate,omitempty" yaml:"rate"`
	// Latency bounds the covering point; empty means the run's own
	// latency objectives, which every passing point already holds.
	Latency []LatencyObjective `json:"latency,omitempty" yaml:"latency"`
	// Accuracy, when above the run's threshold, tightens it: the effective
	// context is recomputed at it and the covering point must reach it.
	// 0 means the run's threshold.
	Accuracy float64 `json:"accuracy,omitempty" yaml:"accuracy"`
}

// rateTolerance is how far a measured rate may fall short of a
// requirement's and still count: a step paced at 4/s can measure 3.98/s.
const rateTolerance = 0.01

// supportedRequirement lists what ParseRequirement accepts, for errors.
const supportedRequirement = "length (tokens, such as 32k), rate (requests per second, such as 4 or 4/s), accuracy (a fraction such as 0.9, or 90%) and latency bounds such as ttft_p95=2s or e2e_p99=30s"

// ParseRequirement parses a requirement written as
// "length=32k,rate=4,ttft_p95=2s,accuracy=0.9". length is required; the
// latency parts are parsed by ParseSLO.
func ParseRequirement(s string) (Requirement, error) {
	var r Requirement
	canon := func(name string) string {
		if name == "len" || name == "context" {
			return "length"
		}
		if name == "chunk_gaps" || strings.HasPrefix(name, "chunk_gaps_") {
			return "chunk_gap" + strings.TrimPrefix(name, "chunk_gaps")
		}
		return name
	}
	err := forEachPair(s, "requirement part", "length=32k or rate=4", canon, func(name, value string) error {
		switch name {
		case "length":
			if strings.ContainsAny(value, " \t") {
				return fmt.Errorf("requirement length=%s: write one length such as 32k", value)
			}
			ls, err := corpus.ParseLengths(value)
			if err != nil {
				return fmt.Errorf("requirement length=%s: %w", value, err)
			}
			r.Length = ls[0]
		case "rate":
			v, err := parseRequiredRate(value)
			if err != nil {
				return fmt.Errorf("requirement rate=%s: %w", value, err)
			}
			r.Rate = v
		case "accuracy":
			v, err := parseRate(value)
			if err != nil || v == 0 {
				return fmt.Errorf("requirement accuracy=%s: give a fraction above 0 and at most 1, such as 0.9 (or 90%%)", value)
			}
			r.Accuracy = v
		case "error_rate":
			return fmt.Errorf("requirement part error_rate: a requirement bounds length, rate, latency and accuracy; the error rate is an objective of the run (give it with --slo)")
		default:
			metric, _, _ := strings.Cut(name, "_p")
			if !slices.Contains([]string{MetricTTFT, MetricTPOT, MetricE2E, MetricChunkGap}, metric) {
				return fmt.Errorf("unknown requirement part %q: supported are %s", name, supportedRequirement)
			}
			o, err := ParseSLO(name + "=" + value)
			if err != nil {
				return fmt.Errorf("requirement: %w", err)
			}
			r.Latency = append(r.Latency, o.Latency...)
		}
		return nil
	})
	if err != nil {
		return Requirement{}, err
	}
	if err := r.Validate(); err != nil {
		return Requirement{}, err
	}
	return r, nil
}

// parseRequiredRate reads requests per second: "4", "4/s" or "0.5/s".
func parseRequiredRate(value string) (float64, error) {
	num := strings.TrimSpace(strings.TrimSuffix(value, "/s"))
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || strings.ContainsAny(num, "xXpP_") {
		return 0, fmt.Errorf("not a number of requests per second (write it like 4 or 4/s)")
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		return 0, fmt.Errorf("the rate must be above zero")
	}
	return v, nil
}

// Validate checks a requirement given as a value (from a campaign file).
func (r Requirement) Validate() error {
	if r.Length <= 0 {
		return fmt.Errorf("a requirement needs a length: write it like length=32k,rate=4")
	}
	if r.Rate < 0 || math.IsNaN(r.Rate) || math.IsInf(r.Rate, 0) {
		return fmt.Errorf("requirement rate %v: give requests per second above zero, or leave it out", r.Rate)
	}
	if r.Accuracy < 0 || r.Accuracy > 1 || math.IsNaN(r.Accuracy) {
		return fmt.Errorf("requirement accuracy %v: give a fraction above 0 and at most 1, such as 0.9", r.Accuracy)
	}
	for _, l := range r.Latency {
		if _, err := parseLatency(l.Name(), formatSeconds(l.Max)); err != nil || l.Max <= 0 || math.IsInf(l.Max, 0) {
			return fmt.Errorf("requirement latency %s: give a metric ttft, tpot, e2e or chunk_gap, a percentile 50, 90, 95 or 99 and a bound above zero", l.Name())
		}
	}
	return nil
}

// String is the requirement in the form ParseRequirement reads, exactly.
func (r Requirement) String() string {
	parts := []string{"length=" + corpus.FormatLength(r.Length)}
	if r.Rate > 0 {
		parts = append(parts, "rate="+strconv.FormatFloat(r.Rate, 'g', -1, 64))
	}
	for _, l := range r.Latency {
		parts = append(parts, l.Name()+"="+strconv.FormatFloat(l.Max, 'g', -1, 64)+"s")
	}
	if r.Accuracy > 0 {
		parts = append(parts, "accuracy="+strconv.FormatFloat(r.Accuracy, 'g', -1, 64))
	}
	return strings.Join(parts, ",")
}

// Describe says the requirement in words: "length 32k at 4/s, ttft_p95 <=
// 2s".
func (r Requirement) Describe() string {
	var b strings.Builder
	b.WriteString("length " + corpus.FormatLength(r.Length))
	if r.Rate > 0 {
		b.WriteString(" at " + formatRate(r.Rate))
	}
	for _, l := range r.Latency {
		fmt.Fprintf(&b, ", %s <= %s", l.Name(), formatSeconds(l.Max))
	}
	if r.Accuracy > 0 {
		fmt.Fprintf(&b, ", accuracy >= %.2f", r.Accuracy)
	}
	return b.String()
}

// Candidate is one target judged against a Requirement.
type Candidate struct {
	Target string `json:"target"`
	Model  string `json:"model,omitempty"`
	Covers bool   `json:"covers"`
	// Rank is the place among the covering targets, 1 for the choice; 0
	// for a target that does not cover the requirement.
	Rank int `json:"rank,omitempty"`
	// Reasons say why a target does not cover the requirement, such as
	// "effective context 4k < 32k" or "max rate 2/s < 4/s at 32k".
	Reasons []string `json:"reasons,omitempty"`
	// EffectiveContextLength is the target's, at the requirement's
	// accuracy when that is stricter than the run's.
	EffectiveContextLength int `json:"effective_context_length"`
	// Length is the tested length the verdict was read at: the shortest
	// tested length at or above the requirement's where the target covers
	// it, else the shortest tested length at or above it; 0 when no such
	// length was tested.
	Length int `json:"length,omitempty"`
	// MaxRate is the highest passing rate at Length; nil when none held.
	MaxRate *float64 `json:"max_rate"`
	// At is the covering point: the lightest passing point at Length whose
	// rate reaches the requirement's and whose latency and accuracy are
	// within its bounds. Its Cost is what ranks covering targets.
	At *EnvelopePoint `json:"at,omitempty"`
}

// costPerRequest returns the candidate's cost per request, if known.
func (c Candidate) costPerRequest() (float64, bool) {
	if c.At == nil || c.At.Cost == nil {
		return 0, false
	}
	return c.At.Cost.PerRequest, true
}

// Ranking names.
const (
	RankedByCost = "cost per request at the covering point, then cost per correct answer, then max rate"
	RankedByRate = "max rate, then latency at the covering point (cost unknown: not every covering target has a price)"
)

// Choose judges every target of env against req and ranks the ones that
// cover it (see the package documentation). It returns the candidates,
// covering ones first, best first, then the others by name, and what the
// covering ones were ranked by ("" when none covers).
func Choose(env *Envelope, req Requirement) ([]Candidate, string) {
	out := make([]Candidate, 0, len(env.Targets))
	for _, et := range env.Targets {
		out = append(out, judgeTarget(et, req, env.Objectives))
	}
	covering := 0
	allPriced := true
	for _, c := range out {
		if c.Covers {
			covering++
			if _, ok := c.costPerRequest(); !ok {
				allPriced = false
			}
		}
	}
	rankedBy := RankedByRate
	if allPriced {
		rankedBy = RankedByCost
	}
	latency := req.Latency
	if len(latency) == 0 {
		latency = env.Objectives.Latency
	}
	slices.SortStableFunc(out, func(a, b Candidate) int {
		if a.Covers != b.Covers {
			if a.Covers {
				return -1
			}
			return 1
		}
		if !a.Covers {
			return cmp.Compare(a.Target, b.Target)
		}
		if allPriced {
			ca, _ := a.costPerRequest()
			cb, _ := b.costPerRequest()
			if c := cmp.Compare(ca, cb); c != 0 {
				return c
			}
			if c := comparePerCorrect(a.At.Cost.PerCorrect, b.At.Cost.PerCorrect); c != 0 {
				return c
			}
		}
		if c := cmp.Compare(*b.MaxRate, *a.MaxRate); c != 0 {
			return c
		}
		if c := cmp.Compare(rankLatency(a.At, latency), rankLatency(b.At, latency)); c != 0 {
			return c
		}
		return cmp.Compare(a.Target, b.Target)
	})
	for i := range covering {
		out[i].Rank = i + 1
	}
	if covering == 0 {
		rankedBy = ""
	}
	return out, rankedBy
}

// comparePerCorrect orders costs per correct answer, unknown (no correct
// answer) last.
func comparePerCorrect(a, b *float64) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return cmp.Compare(*a, *b)
}

// rankLatency is the latency a ranking without prices breaks ties on: the
// first latency bound's percentile at the point, else ttft p95.
func rankLatency(p *EnvelopePoint, latency []LatencyObjective) float64 {
	q, pct := p.TTFT, 95
	if len(latency) > 0 {
		q, pct = p.quantiles(latency[0].Metric), latency[0].Percentile
	}
	if q.N == 0 {
		return math.Inf(1)
	}
	return q.Get(pct)
}

func (p *EnvelopePoint) quantiles(metric string) Quantiles {
	switch metric {
	case MetricTTFT:
		return p.TTFT
	case MetricTPOT:
		return p.TPOT
	case MetricE2E:
		return p.E2E
	case MetricChunkGap:
		return p.ChunkGap
	}
	return Quantiles{}
}

// judgeTarget decides whether one target covers req.
func judgeTarget(et EnvelopeTarget, req Requirement, obj Objectives) Candidate {
	c := Candidate{Target: et.Target, Model: et.Model, EffectiveContextLength: et.EffectiveContextLength}
	limitedBy := et.LimitedBy
	threshold := et.AccuracyThreshold
	if req.Accuracy > threshold {
		threshold = req.Accuracy
		c.EffectiveContextLength, limitedBy, _ = et.EffectiveAt(threshold)
	}
	latency := req.Latency
	if len(latency) == 0 {
		latency = obj.Latency
	}
	L := corpus.FormatLength(req.Length)
	var contextReason string
	if c.EffectiveContextLength < req.Length {
		contextReason = fmt.Sprintf("effective context %s < %s (%s)", formatLengthShort(c.EffectiveContextLength), L, limitedBy)
	}

	var firstReasons []string
	tested := false
	for _, el := range et.Lengths {
		if el.Length < req.Length {
			continue
		}
		at, maxRate, reasons := coverAt(el, req, latency, threshold)
		if !tested {
			tested = true
			c.Length, c.MaxRate, firstReasons = el.Length, maxRate, reasons
		}
		if at != nil && contextReason == "" {
			c.Covers, c.Length, c.MaxRate, c.At, c.Reasons = true, el.Length, maxRate, at, nil
			return c
		}
	}
	if !tested {
		longest := "none"
		if n := len(et.Lengths); n > 0 {
			longest = corpus.FormatLength(et.Lengths[n-1].Length)
		}
		c.Reasons = append(c.Reasons, fmt.Sprintf("no tested length >= %s (longest tested %s): the run cannot say", L, longest))
		return c
	}
	if contextReason != "" {
		c.Reasons = append(c.Reasons, contextReason)
	}
	c.Reasons = append(c.Reasons, firstReasons...)
	return c
}

// coverAt looks for the covering point at one tested length. It returns
// the point (nil when none covers), the length's max passing rate, and why
// it does not cover.
func coverAt(el EnvelopeLength, req Requirement, latency []LatencyObjective, threshold float64) (*EnvelopePoint, *float64, []string) {
	at := " at " + corpus.FormatLength(el.Length)
	hp := HighestPassing(el.Points)
	if hp < 0 {
		why := "no tested rate held every objective" + at
		if len(el.Points) > 0 {
			p := el.Points[0]
			why += fmt.Sprintf(" (lightest, %s: %s)", formatRate(p.Rate), strings.Join(p.Reasons, "; "))
		}
		return nil, nil, []string{why}
	}
	maxRate := el.Points[hp].Rate
	need := req.Rate * (1 - rateTolerance)
	if maxRate < need {
		return nil, &maxRate, []string{fmt.Sprintf("max rate %s < %s%s", formatRate(maxRate), formatRate(req.Rate), at)}
	}
	var first []string
	for j := 0; j <= hp; j++ {
		p := el.Points[j]
		if p.Rate < need {
			continue
		}
		var reasons []string
		for _, l := range latency {
			q := p.quantiles(l.Metric)
			if q.N == 0 {
				reasons = append(reasons, fmt.Sprintf("%s not observed%s, %s", l.Name(), at, formatRate(p.Rate)))
				continue
			}
			if v := q.Get(l.Percentile); v > l.Max {
				reasons = append(reasons, fmt.Sprintf("%s %s > %s%s, %s", l.Name(), formatSeconds(v), formatSeconds(l.Max), at, formatRate(p.Rate)))
			}
		}
		if p.Accuracy < threshold {
			reasons = append(reasons, fmt.Sprintf("accuracy %.2f < %.2f%s, %s", p.Accuracy, threshold, at, formatRate(p.Rate)))
		}
		if len(reasons) == 0 {
			return &p, &maxRate, nil
		}
		if first == nil {
			first = reasons
		}
	}
	return nil, &maxRate, first
}

// formatLengthShort writes a length like corpus.FormatLength, "none" for 0.
func formatLengthShort(n int) string {
	if n == 0 {
		return "none"
	}
	return corpus.FormatLength(n)
}

// formatMoney writes an amount: "$0.0012" for USD, "0.0012 EUR" otherwise.
func formatMoney(v float64, currency string) string {
	s := strconv.FormatFloat(roundSig(v, 3), 'f', -1, 64)
	switch currency {
	case "USD", "usd":
		return "$" + s
	case "":
		return s
	}
	return s + " " + currency
}

// requirementAnswer says in one line which target covers req.
func requirementAnswer(req Requirement, cands []Candidate, rankedBy string) string {
	if len(cands) == 0 {
		return "no target to judge for " + req.Describe()
	}
	best := cands[0]
	if !best.Covers {
		var why []string
		for _, c := range cands {
			why = append(why, c.Target+": "+strings.Join(c.Reasons, "; "))
		}
		return fmt.Sprintf("no target covers %s (%s)", req.Describe(), strings.Join(why, " / "))
	}
	if rankedBy == RankedByCost {
		return fmt.Sprintf("cheapest target for %s: %s (%s/request)", req.Describe(), best.Target, formatMoney(best.At.Cost.PerRequest, best.At.Cost.Currency))
	}
	return fmt.Sprintf("best target for %s: %s (cost unknown: no prices for every covering target; ranked by max rate %s, then latency)", req.Describe(), best.Target, formatMaxRate(best.MaxRate))
}
