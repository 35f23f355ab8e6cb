package reports

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/needlestorm/needlestorm/probes"
)

// TaskTypeSummary is one target's figures on one task type of the user's
// own dataset, over its non-warm-up requests.
type TaskTypeSummary struct {
	Target   string `json:"target"`
	TaskType string `json:"task_type"`
	// Cases is the number of distinct dataset cases answered; Scored the
	// requests with expected answers, Open those without (open-ended,
	// compared between targets but not scored).
	Cases  int `json:"cases"`
	Scored int `json:"scored"`
	Open   int `json:"open"`
	// Stats are over the scored requests (accuracy with its Wilson
	// interval, latency, errors, cost and cost per correct answer); over
	// the open ones when none was scored, whose accuracy then means
	// nothing.
	Stats
	// Agreement is the mean agreement of normalised answers over the
	// cases answered more than once (0 when none was).
	Agreement       float64         `json:"agreement"`
	RepeatedCases   int             `json:"repeated_cases"`
	Stages          []TaskTypeStage `json:"stages,omitempty"`
	MaxRate         *float64        `json:"max_rate"`
	MaxRateStage    string          `json:"max_rate_stage,omitempty"`
	ThresholdPassed bool            `json:"threshold_passed"`
	// Pads are the accuracy per pad length and depth when the task
	// type's cases were padded (see taskTypePads); HoldsTo the longest
	// pad length that held the threshold (0 when none did).
	Pads    []TaskTypePad `json:"pads,omitempty"`
	HoldsTo int           `json:"holds_to,omitempty"`
}

// TaskTypeStage is a task type's accuracy in one stage: its envelope along
// the rate axis.
type TaskTypeStage struct {
	Stage      int     `json:"stage"`
	StageLabel string  `json:"stage_label"`
	StageRate  float64 `json:"stage_rate"`
	Requests   int     `json:"requests"`
	Correct    int     `json:"correct"`
	Accuracy   float64 `json:"accuracy"`
	// AccuracyCI is the Wilson 95% interval.
	AccuracyCI [2]float64 `json:"accuracy_ci95"`
	TTFT       Quantiles  `json:"ttft"`
	E2E        Quantiles  `json:"e2e"`
	// Pass is accuracy at or above the threshold and an error rate within
	// the objective.
	Pass bool `json:"pass"`
}

// taskTypeSummaries groups the dataset records (non-warm-up) by target and
// task type, targets in name order and task types in order of first
// appearance. MaxRate is the highest stage rate at which the task type's
// accuracy held the threshold (and the error rate its objective): the
// task type's envelope along the rate axis, nil when no stage held it.
func taskTypeSummaries(recs []scored, stages stageInfos, opts Options) []TaskTypeSummary {
	type key struct{ target, taskType string }
	groups := map[key][]*scored{}
	var order []key
	for i := range recs {
		sc := &recs[i]
		r := sc.rec
		if r.Warmup || r.TaskType == "" {
			continue
		}
		k := key{r.Target, r.TaskType}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], sc)
	}
	first := map[string]int{}
	for i, k := range order {
		if _, ok := first[k.taskType]; !ok {
			first[k.taskType] = i
		}
	}
	slices.SortStableFunc(order, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.target, b.target), cmp.Compare(first[a.taskType], first[b.taskType]))
	})
	threshold := opts.Objectives.AccuracyThreshold()
	var out []TaskTypeSummary
	for _, k := range order {
		g := groups[k]
		var scoredG, openG []*scored
		ids := map[string]bool{}
		for _, sc := range g {
			ids[sc.rec.CaseID] = true
			if sc.rec.Open() {
				openG = append(openG, sc)
			} else {
				scoredG = append(scoredG, sc)
			}
		}
		ts := TaskTypeSummary{Target: k.target, TaskType: k.taskType, Cases: len(ids), Scored: len(scoredG), Open: len(openG)}
		if len(scoredG) > 0 {
			ts.Stats = computeStats(scoredG, 0, opts, k.target)
		} else {
			ts.Stats = computeStats(openG, 0, opts, k.target)
		}
		ts.Agreement, ts.RepeatedCases = meanAgreement(g)
		ts.Stages = taskTypeStages(scoredG, stages, opts, threshold)
		for _, st := range ts.Stages {
			if st.Pass && (ts.MaxRate == nil || st.StageRate > *ts.MaxRate) {
				r := st.StageRate
				ts.MaxRate, ts.MaxRateStage = &r, st.StageLabel
			}
		}
		ts.ThresholdPassed = ts.Scored > 0 && ts.Accuracy >= threshold
		ts.Pads, ts.HoldsTo = taskTypePads(scoredG, opts, threshold)
		out = append(out, ts)
	}
	return out
}

// taskTypeStages splits a task type's scored requests by stage.
func taskTypeStages(g []*scored, stages stageInfos, opts Options, threshold float64) []TaskTypeStage {
	by := map[int][]*scored{}
	var idx []int
	for _, sc := range g {
		if _, ok := by[sc.rec.Stage]; !ok {
			idx = append(idx, sc.rec.Stage)
		}
		by[sc.rec.Stage] = append(by[sc.rec.Stage], sc)
	}
	slices.Sort(idx)
	var out []TaskTypeStage
	for _, i := range idx {
		sg := by[i]
		st := computeStats(sg, 0, opts, sg[0].rec.Target)
		row := TaskTypeStage{
			Stage: i, StageLabel: sg[0].rec.StageLabel, Requests: st.Requests, Correct: st.Correct,
			Accuracy: st.Accuracy, AccuracyCI: st.AccuracyCI, TTFT: st.TTFT, E2E: st.E2E,
		}
		if info := stages[stageKey{sg[0].rec.Target, i}]; info != nil {
			row.StageRate = info.info.Rate
		}
		row.Pass = st.Accuracy >= threshold && (opts.Objectives.ErrorRate == nil || st.ErrorRate <= *opts.Objectives.ErrorRate)
		out = append(out, row)
	}
	return out
}

// meanAgreement is the mean agreement of the normalised answers of the
// cases answered more than once, and how many such cases there were.
func meanAgreement(g []*scored) (float64, int) {
	answers := make([]probes.CaseAnswer, 0, len(g))
	for _, sc := range g {
		if sc.rec.ErrorClass != "" {
			continue
		}
		answers = append(answers, probes.CaseAnswer{CaseID: sc.rec.CaseID, Answer: sc.rec.Answer, Whole: true})
	}
	sum, n := 0.0, 0
	for _, c := range probes.ConsistencyOf(answers) {
		if c.Answers > 1 {
			sum += c.Agreement
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

// writeTaskTypesMarkdown writes the per-task-type section of summary.md,
// when the run holds dataset cases.
func writeTaskTypesMarkdown(b *strings.Builder, s *Summary) {
	if len(s.TaskTypes) == 0 {
		return
	}
	b.WriteString("\n## Task types (your dataset)\n\n")
	fmt.Fprintf(b, "Accuracy is over the cases with expected answers (threshold %s); open-ended cases are counted apart. Max rate is the highest stage rate at which the task type held the threshold.\n\n", formatShare(s.Objectives.AccuracyThreshold()))
	b.WriteString("| target | task type | cases | scored | open | accuracy (95% CI) | TTFT p50 | e2e p95 | errors | cost / correct | agreement | max rate |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, t := range s.TaskTypes {
		acc := "-"
		if t.Scored > 0 {
			acc = fmt.Sprintf("%s (%s–%s)", formatShare(t.Accuracy), formatShare(t.AccuracyCI[0]), formatShare(t.AccuracyCI[1]))
		}
		agree := "-"
		if t.RepeatedCases > 0 {
			agree = formatShare(t.Agreement)
		}
		fmt.Fprintf(b, "| %s | %s | %d | %d | %d | %s | %s | %s | %d | %s | %s | %s |\n",
			md(t.Target), md(t.TaskType), t.Cases, t.Scored, t.Open, acc,
			formatQuantile(t.TTFT, 50), formatQuantile(t.E2E, 95), t.Errors, perCorrectText(t.Cost), agree, formatMaxRate(t.MaxRate))
	}
}

// perCorrectText is the cost per correct answer, "-" when unknown.
func perCorrectText(c *Cost) string {
	if c == nil || c.PerCorrect == nil {
		return "-"
	}
	return formatMoney(*c.PerCorrect, c.Currency)
}
