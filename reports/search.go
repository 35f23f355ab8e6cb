package reports

import (
	"encoding/json"
	"strings"

	"github.com/needlestorm/needlestorm/run"
)

// searchSteps reads the envelope search's own step results from a
// manifest's targets list (entries with "name" and "search", as campaigns
// write them), keyed by target and stage index. A manifest without any
// gives nil.
func searchSteps(m *run.Manifest) map[string]map[int]run.SearchStepResult {
	if m == nil || len(m.Targets) == 0 {
		return nil
	}
	var targets []struct {
		Name   string             `json:"name"`
		Search []run.SearchResult `json:"search"`
	}
	if json.Unmarshal(m.Targets, &targets) != nil {
		return nil
	}
	var out map[string]map[int]run.SearchStepResult
	for _, t := range targets {
		for _, res := range t.Search {
			for _, st := range res.Steps {
				if out == nil {
					out = map[string]map[int]run.SearchStepResult{}
				}
				if out[t.Name] == nil {
					out[t.Name] = map[int]run.SearchStepResult{}
				}
				out[t.Name][st.Stage] = st
			}
		}
	}
	return out
}

// applySearchVerdicts makes the report agree with the search about the
// steps it ended early: such a step was clearly failing (errors, or a ttft
// that kept rising), and the few records it left may look fine when judged
// alone, so its point fails with the search's reason. Points are judged
// before the envelope is built from them.
func applySearchVerdicts(points []Point, steps map[string]map[int]run.SearchStepResult) {
	for i := range points {
		p := &points[i]
		st, ok := steps[p.Target][p.Stage]
		if ok && st.Unresolved && len(p.Unresolved) == 0 {
			p.Unresolved = []string{"the search could not tell: " + strings.TrimSpace(st.Reason)}
		}
		if !ok || !st.EndedEarly {
			continue
		}
		reason := "the search ended this step early"
		if st.Reason != "" {
			reason += ": " + strings.TrimSpace(st.Reason)
		}
		p.Pass = false
		p.Reasons = append([]string{reason}, p.Reasons...)
	}
}
