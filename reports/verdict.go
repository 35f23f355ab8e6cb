package reports

import (
	"fmt"
	"slices"
	"strings"
)

// Verdict is what a run's figures say to a CI gate: whether anything could
// be measured, and whether the objectives held.
type Verdict struct {
	// Measured is false when no request was measured, or when every
	// measured request of some target failed: there are no figures to
	// judge, only an endpoint (or a configuration) to fix.
	Measured bool `json:"measured"`
	// Held is true when every gating objective held (see Summary.Verdict).
	Held bool `json:"held"`
	// Failures say, one line each, what could not be measured or did not
	// hold.
	Failures []string `json:"failures,omitempty"`
}

// Verdict judges the run for a gate. A run is measured when it has
// measured (non-warm-up) requests and no target saw every one of its
// requests fail. A measured run holds when:
//
//   - with a requirement, some target covers it (the requirement is the
//     question the run answers; targets that miss it are expected);
//   - otherwise, for an explicit schedule, every (target, stage, length)
//     point holds every gating objective (those not marked gate: false);
//   - for an envelope search, every tested length held the objectives at
//     some rate (the search's failing steps are how it finds the edge).
func (s *Summary) Verdict() Verdict {
	v := Verdict{Measured: true}
	if len(s.Targets) == 0 {
		return Verdict{Failures: []string{"no request was measured"}}
	}
	for _, ts := range s.Targets {
		switch {
		case ts.Requests == 0:
			v.Measured = false
			v.Failures = append(v.Failures, fmt.Sprintf("%s: no request was measured (warm-up only)", ts.Target))
		case ts.Errors == ts.Requests:
			v.Measured = false
			v.Failures = append(v.Failures, fmt.Sprintf("%s: every one of its %d requests failed (%s)",
				ts.Target, ts.Requests, formatCounts(ts.ErrorClasses, nil)))
		}
	}
	if !v.Measured {
		return v
	}
	if req := s.Requirement; req != nil {
		if s.Choice == nil {
			v.Failures = append(v.Failures, "requirement "+req.String()+" not covered: "+s.Answer)
		}
		v.Held = len(v.Failures) == 0
		return v
	}
	gating := s.Objectives.gating()
	ths := thresholds(s.Points, s.Objectives)
	for _, ts := range s.Targets {
		if isSearch(ts) {
			v.Failures = append(v.Failures, searchFailures(s.Envelope, ts.Target)...)
			continue
		}
		th := ths[ts.Target]
		if !s.Objectives.Gates("accuracy") {
			th = threshold{} // an accuracy of 0 passes
		}
		for _, p := range s.Points {
			if p.Target != ts.Target {
				continue
			}
			if reasons := checkPoint(p.Stats, gating, th); len(reasons) > 0 {
				v.Failures = append(v.Failures, fmt.Sprintf("%s at %s tokens, %s: %s",
					p.Target, formatLength(p.Length), p.StageLabel, strings.Join(reasons, "; ")))
			}
		}
		v.Failures = append(v.Failures, datasetFailures(s, ts.Target, gating)...)
	}
	v.Held = len(v.Failures) == 0
	return v
}

// gating returns the objectives with the ungated ones left out (the
// accuracy threshold stays: the caller drops it when ungated).
func (o Objectives) gating() Objectives {
	g := Objectives{Accuracy: o.Accuracy, AccuracyRelative: o.AccuracyRelative}
	for _, l := range o.Latency {
		if o.Gates(l.Name()) {
			g.Latency = append(g.Latency, l)
		}
	}
	if o.ErrorRate != nil && o.Gates("error_rate") {
		g.ErrorRate = o.ErrorRate
	}
	return g
}

// isSearch reports whether a target's stages were the steps of an envelope
// search.
func isSearch(ts TargetSummary) bool {
	return slices.ContainsFunc(ts.Steps, func(st Step) bool { return st.Phase != "" })
}

// searchFailures lists the lengths at which a searched target held the
// objectives at no rate.
func searchFailures(env *Envelope, target string) []string {
	if env == nil {
		return nil
	}
	var out []string
	for _, et := range env.Targets {
		if et.Target != target {
			continue
		}
		for _, el := range et.Lengths {
			if el.MaxRate != nil {
				continue
			}
			why := "no rate held the objectives"
			if len(el.Points) > 0 && len(el.Points[0].Reasons) > 0 {
				why += " (at " + formatRate(el.Points[0].Rate) + ": " + strings.Join(el.Points[0].Reasons, "; ") + ")"
			}
			out = append(out, fmt.Sprintf("%s at %s tokens: %s", target, formatLength(el.Length), why))
		}
	}
	return out
}
