package reports

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// datasetPoints returns the figures of the scored dataset records of every
// (target, stage), not yet judged.
func (t *tally) datasetPoints(opts Options) []Point {
	var out []Point
	for k, group := range t.byDatasetStage {
		st := &t.stages[k].info
		longest := 0
		for _, sc := range group {
			longest = max(longest, sc.rec.Length)
		}
		out = append(out, Point{
			Target: k.target, Model: t.models[k.target], Stage: k.stage, StageLabel: st.Label,
			Length: longest, StageRate: st.Rate, AskedRate: st.AskedRate, SentRate: st.SentRate, CompletedRate: st.CompletedRate,
			ClientBottleneck: st.ClientBottleneck,
			Stats:            computeStats(group, t.stages.perRequest(k), opts, k.target),
		})
	}
	slices.SortFunc(out, func(a, b Point) int {
		return cmp.Or(cmp.Compare(a.Target, b.Target), cmp.Compare(a.Stage, b.Stage))
	})
	return out
}

// judgeDatasetPoints sets Pass and Reasons on every dataset point, against
// the absolute accuracy threshold (a relative one is relative to the
// needles' shortest length, which the user's own cases do not have).
func judgeDatasetPoints(points []Point, obj Objectives) {
	th := threshold{abs: obj.AccuracyThreshold()}
	for i := range points {
		p := &points[i]
		p.Reasons = checkPoint(p.Stats, obj, th)
		p.Pass = len(p.Reasons) == 0
	}
}

// datasetFailures lists the stages at which a target's dataset requests
// missed a gating objective, for the verdict.
func datasetFailures(s *Summary, target string, gating Objectives) []string {
	th := threshold{abs: gating.AccuracyThreshold()}
	if !s.Objectives.Gates("accuracy") {
		th = threshold{}
	}
	var out []string
	for _, p := range s.DatasetPoints {
		if p.Target != target {
			continue
		}
		if reasons := checkPoint(p.Stats, gating, th); len(reasons) > 0 {
			out = append(out, fmt.Sprintf("%s on your dataset, %s: %s", p.Target, p.StageLabel, strings.Join(reasons, "; ")))
		}
	}
	return out
}
