package campaign

import (
	"slices"
	"strings"
	"sync"

	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
)

// newStepJudge judges an envelope search's step the way the report judges a
// point: reports.Build over the step's records gives the step's point
// (target, stage, length) with its latency percentiles, error rate and
// accuracy, passed or failed against the objectives, with the reasons.
//
// A relative accuracy threshold needs the target's own accuracy at its
// shortest length, which a single step does not hold: the judge takes the
// accuracy of the first step it judges (the shortest length at the start
// rate, since the search goes shortest length first) as that base, and
// judges every step against threshold × base. A judge is made per target.
func newStepJudge(obj reports.Objectives) loadgen.StepJudge {
	var mu sync.Mutex
	var base *float64
	return func(step loadgen.SearchStep, recs []run.Record) loadgen.StepVerdict {
		if len(recs) == 0 {
			return loadgen.StepVerdict{Reason: "no request of the step completed"}
		}
		o := obj
		mu.Lock()
		if o.AccuracyRelative && base != nil {
			o.AccuracyRelative = false
			o.Accuracy = o.AccuracyThreshold() * *base
		}
		mu.Unlock()
		// Build re-judges records in place: judge a copy.
		s, err := reports.Build(nil, slices.Clone(recs), reports.Options{Objectives: o})
		if err != nil {
			return loadgen.StepVerdict{Reason: "the step could not be judged: " + err.Error()}
		}
		for _, p := range s.Points {
			if p.Stage != step.Stage || p.Length != step.Length {
				continue
			}
			mu.Lock()
			if obj.AccuracyRelative && base == nil {
				a := p.Accuracy
				base = &a
			}
			mu.Unlock()
			if len(p.Unresolved) > 0 {
				// Too few requests for a percentile, or a client behind
				// its schedule: the step cannot tell.
				return loadgen.StepVerdict{Unresolved: true, Reason: strings.Join(p.Unresolved, "; ")}
			}
			return loadgen.StepVerdict{Pass: p.Pass, Reason: strings.Join(p.Reasons, "; ")}
		}
		for _, p := range s.DatasetPoints {
			if p.Stage == step.Stage {
				// A step of the user's own cases alone.
				return loadgen.StepVerdict{Pass: p.Pass, Reason: strings.Join(p.Reasons, "; ")}
			}
		}
		return loadgen.StepVerdict{Reason: "the step's records hold no measured request (warm-up only)"}
	}
}
