package route

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/needlestorm/needlestorm/internal/termsafe"
	"github.com/needlestorm/needlestorm/reports"
)

// Candidate is one target judged against one job.
type Candidate struct {
	Target string
	Model  string
	// Tier is the target's tier as the routing file gives it; "" when it
	// does not.
	Tier Tier
	// Covers is true when the target meets every need of the job.
	Covers bool
	// Rank is the place among the covering targets, 1 for the chosen one;
	// 0 for a target that does not cover the job.
	Rank int
	// Reasons say why a target does not cover the job.
	Reasons []string
	// Judged is the reports package's verdict on the job's requirement
	// (context, rate, latency, accuracy): the length it was read at, the
	// covering point and the max rate there.
	Judged reports.Candidate
	// LimitedBy says what limits the target's effective context at the
	// job's accuracy.
	LimitedBy string
	// Measurement is the envelope the verdict was read from.
	Measurement *Measurement
	// TaskType is the target's measured figures on the job's dataset task
	// type (Job.DatasetTaskType), nil when it has none with expected
	// answers: then the job's accuracy is judged on the needle envelope.
	TaskType *reports.EnvelopeTaskType
	// AccuracyNote says what the job's accuracy was judged on, when the
	// job names a task type: "accuracy on your extraction cases 0.92 (95%
	// CI 0.80–0.97, n=40) >= 0.90", or that the target measured none.
	AccuracyNote string
}

// Length is the tested length the verdict was read at; nil when the
// target tested none at or above the job's context.
func (c *Candidate) Length() *reports.EnvelopeLength {
	for i := range c.Measurement.Target.Lengths {
		if el := &c.Measurement.Target.Lengths[i]; el.Length == c.Judged.Length {
			return el
		}
	}
	return nil
}

// Ceiling reports whether the max rate at the verdict's length is only the
// highest rate tried, and so a lower bound.
func (c *Candidate) Ceiling() bool {
	el := c.Length()
	return el != nil && el.Ceiling
}

// CostPerRequest is the cost of one request at the covering point, when
// the target has a price.
func (c *Candidate) CostPerRequest() (float64, bool) {
	if at := c.Judged.At; at != nil && at.Cost != nil {
		return at.Cost.PerRequest, true
	}
	return 0, false
}

// CostPerCorrect is the cost of one correct answer at the covering point,
// when the target has a price and answered some right.
func (c *Candidate) CostPerCorrect() (float64, bool) {
	if at := c.Judged.At; at != nil && at.Cost != nil && at.Cost.PerCorrect != nil {
		return *at.Cost.PerCorrect, true
	}
	return 0, false
}

// Latency is the latency a job ranks targets by, at the covering point:
// the job's ttft_p95 objective's metric when it has one, else e2e p95 when
// it bounds that, else ttft p95. +Inf when unobserved.
func (c *Candidate) Latency(j Job) float64 {
	at := c.Judged.At
	if at == nil {
		return math.Inf(1)
	}
	q := at.TTFT
	if j.TTFTP95 == 0 && j.E2EP95 > 0 {
		q = at.E2E
	}
	if q.N == 0 {
		return math.Inf(1)
	}
	return q.P95
}

// LatencyName names Latency's metric for a job.
func LatencyName(j Job) string {
	if j.TTFTP95 == 0 && j.E2EP95 > 0 {
		return "e2e p95"
	}
	return "ttft p95"
}

// Decision is one job's routing: every target judged, the covering ones
// ranked.
type Decision struct {
	Job Job
	// Tier is the tier the job needs ("" for any).
	Tier Tier
	// Candidates are every target: the covering ones first, best first,
	// then the others by name.
	Candidates []Candidate
	// RankedBy says how the covering targets were ranked.
	RankedBy string
}

// Chosen is the target that serves the job; nil when none covers it.
func (d *Decision) Chosen() *Candidate {
	if len(d.Candidates) > 0 && d.Candidates[0].Covers {
		return &d.Candidates[0]
	}
	return nil
}

// Covered reports whether some target covers the job.
func (d *Decision) Covered() bool { return d.Chosen() != nil }

// Fallbacks are the covering targets kept behind the chosen one, in order:
// at most the job's fallback count.
func (d *Decision) Fallbacks() []*Candidate {
	var out []*Candidate
	for i := 1; i < len(d.Candidates) && len(out) < d.Job.FallbackCount(); i++ {
		if !d.Candidates[i].Covers {
			break
		}
		out = append(out, &d.Candidates[i])
	}
	return out
}

// Ranking descriptions (Decision.RankedBy).
const (
	RankedCheapest = "cost per correct answer at the covering point (unknown cost last), then latency"
	RankedFastest  = "latency at the covering point, then cost per correct answer (unknown cost last)"
)

// decide judges every target of the fleet against job.
func decide(job Job, file *File, fleet *Fleet) Decision {
	d := Decision{Job: job, Tier: job.JobTier(), RankedBy: RankedCheapest}
	if job.Preference() == PreferFastest {
		d.RankedBy = RankedFastest
	}
	for i := range fleet.Targets {
		d.Candidates = append(d.Candidates, judge(job, d.Tier, file, &fleet.Targets[i]))
	}
	slices.SortStableFunc(d.Candidates, func(a, b Candidate) int {
		if a.Covers != b.Covers {
			if a.Covers {
				return -1
			}
			return 1
		}
		if !a.Covers {
			return cmp.Compare(a.Target, b.Target)
		}
		cost := cmp.Compare(costKey(&a), costKey(&b))
		lat := cmp.Compare(a.Latency(job), b.Latency(job))
		if job.Preference() == PreferFastest {
			return cmp.Or(lat, cost, cmp.Compare(a.Target, b.Target))
		}
		return cmp.Or(cost, lat, cmp.Compare(a.Target, b.Target))
	})
	for i := range d.Candidates {
		if d.Candidates[i].Covers {
			d.Candidates[i].Rank = i + 1
		}
	}
	return d
}

// costKey is the cost a candidate ranks by; +Inf when unknown.
func costKey(c *Candidate) float64 {
	if v, ok := c.CostPerCorrect(); ok {
		return v
	}
	return math.Inf(1)
}

// judge decides whether one measured target covers job.
func judge(job Job, tier Tier, file *File, m *Measurement) Candidate {
	et := m.Target
	c := Candidate{Target: et.Target, Model: et.Model, Measurement: m}
	if info, ok := file.Targets[et.Target]; ok {
		c.Tier = info.Tier
	}
	if tier != "" {
		switch {
		case c.Tier == "":
			c.Reasons = append(c.Reasons, fmt.Sprintf("tier unknown: the job needs a %s model; give targets.%s.tier in the routing file", tier, et.Target))
		case !c.Tier.Serves(tier):
			c.Reasons = append(c.Reasons, fmt.Sprintf("a %s model: the job needs %s or larger", c.Tier, tier))
		}
	}
	req := job.Requirement()
	c.TaskType, c.AccuracyNote = taskTypeOf(job, &et)
	needleAccuracy := max(et.AccuracyThreshold, float64(job.Accuracy))
	if c.TaskType != nil {
		// The job's accuracy is the task type's to give; the needle
		// envelope still gives context, rate and latency at the run's
		// own threshold.
		req.Accuracy, needleAccuracy = 0, et.AccuracyThreshold
	}
	env := &reports.Envelope{Schema: reports.EnvelopeSchema, Objectives: m.Objectives, StagesMixLengths: m.StagesMixLengths, Targets: []reports.EnvelopeTarget{et}}
	judged, _ := reports.Choose(env, req)
	c.Judged = judged[0]
	_, c.LimitedBy, _ = et.EffectiveAt(needleAccuracy)
	if !c.Judged.Covers {
		c.Reasons = append(c.Reasons, c.Judged.Reasons...)
	}
	if c.TaskType != nil {
		if need := taskTypeNeed(job, c.TaskType); c.TaskType.Accuracy < need {
			c.Reasons = append(c.Reasons, fmt.Sprintf("accuracy on your %s cases %.2f < %.2f (95%% CI %.2f–%.2f, n=%d)",
				termsafe.Line(c.TaskType.TaskType), c.TaskType.Accuracy, need, c.TaskType.AccuracyCI[0], c.TaskType.AccuracyCI[1], c.TaskType.Scored))
		}
	}
	if c.Judged.Covers {
		c.Reasons = append(c.Reasons, budgetReasons(job, &c)...)
	}
	c.Covers = len(c.Reasons) == 0
	return c
}

// taskTypeNeed is the accuracy a job needs on its task type: its own, or
// the run's threshold when that is higher (as on the needle path).
func taskTypeNeed(job Job, tt *reports.EnvelopeTaskType) float64 {
	return max(tt.AccuracyThreshold, float64(job.Accuracy))
}

// taskTypeOf finds the job's dataset task type among the target's, and
// says what the job's accuracy is judged on. Like the needle path, the
// point estimate is compared with the accuracy needed; its interval and
// the requests behind it are given beside it. A job naming only a task
// gets no note on a target that measured no dataset task type at all.
func taskTypeOf(job Job, et *reports.EnvelopeTarget) (*reports.EnvelopeTaskType, string) {
	name := job.DatasetTaskType()
	if name == "" {
		return nil, ""
	}
	tt := et.TaskType(name)
	name = termsafe.Line(name) // a hand-built job may hold anything: the note goes into YAML comments
	switch {
	case tt == nil && job.TaskType == "" && len(et.TaskTypes) == 0:
		// A needle-only run and a job that names only a task (a tier):
		// nothing to say beyond today's needle judgment.
		return nil, ""
	case tt == nil:
		return nil, fmt.Sprintf("no %s cases of your dataset measured on %s: accuracy judged on the needle envelope", name, et.Target)
	case tt.Scored == 0:
		return nil, fmt.Sprintf("your %s cases on %s had no expected answers (%d open-ended): accuracy judged on the needle envelope", name, et.Target, tt.Open)
	}
	note := fmt.Sprintf("accuracy on your %s cases %.2f (95%% CI %.2f–%.2f, n=%d", name, tt.Accuracy, tt.AccuracyCI[0], tt.AccuracyCI[1], tt.Scored)
	if tt.Cases != tt.Scored {
		note += fmt.Sprintf(", %d cases", tt.Cases)
	}
	note += ")"
	if need := taskTypeNeed(job, tt); tt.Accuracy >= need {
		note += fmt.Sprintf(" >= %.2f", need)
	} else {
		note += fmt.Sprintf(" < %.2f", need)
	}
	if tt.MaxRate != nil {
		note += fmt.Sprintf("; held up to %s (stage %s)", Rate(*tt.MaxRate), tt.MaxRateStage)
	}
	if tt.HoldsTo > 0 {
		note += fmt.Sprintf("; held padded to %d tokens", tt.HoldsTo)
	}
	return tt, note
}

// budgetReasons says how a covering point breaks the job's budget.
func budgetReasons(job Job, c *Candidate) []string {
	b := job.Budget
	if b.PerRequest == 0 && b.PerMonth == 0 {
		return nil
	}
	cost, ok := c.CostPerRequest()
	if !ok {
		return []string{"no price: the budget cannot be checked (give the target's prices in its campaign)"}
	}
	var out []string
	if b.PerRequest > 0 && cost > float64(b.PerRequest) {
		out = append(out, fmt.Sprintf("cost %s/request > budget %s/request", money(cost), money(float64(b.PerRequest))))
	}
	if month := cost * float64(job.Rate) * SecondsPerMonth; b.PerMonth > 0 && month > float64(b.PerMonth) {
		out = append(out, fmt.Sprintf("cost %s/month at %s > budget %s/month", money(month), job.Rate, money(float64(b.PerMonth))))
	}
	return out
}

// money writes an amount with three significant digits.
func money(v float64) string {
	if v == 0 {
		return "0"
	}
	return fmt.Sprintf("%.3g", v)
}
