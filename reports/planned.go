package reports

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/needlestorm/needlestorm/run"
)

// What was planned and not sent. A run's manifest names the prompt lengths
// its corpus asked for; a length none of whose requests was measured (a
// stage that ended first, an interrupted run, a failing shard) was planned
// but not sent, and every output says so: the effective context is then
// the longest *tested* length, not the longest planned one. Per stage the
// same holds for a stage that should have sent every length (any run but
// an envelope search, whose steps each probe one length).

// plannedLengths are the lengths the manifest's corpus asked for, sorted;
// nil when it names none.
func plannedLengths(m *run.Manifest) []int {
	if m == nil || len(m.Corpus) == 0 {
		return nil
	}
	var c struct {
		Lengths []int `json:"lengths"`
	}
	if json.Unmarshal(m.Corpus, &c) != nil {
		return nil
	}
	out := slices.Clone(c.Lengths)
	slices.Sort(out)
	return slices.Compact(out)
}

// scheduleIsSearch reports whether the manifest's schedule is an envelope search.
func scheduleIsSearch(m *run.Manifest) bool {
	if m == nil || len(m.Schedule) == 0 {
		return false
	}
	var sched map[string]json.RawMessage
	return json.Unmarshal(m.Schedule, &sched) == nil && sched["search"] != nil
}

// addNotSent sets, per target, the planned lengths without a measured
// request (and per stage, outside a search), and says so in the
// envelope's limited-by.
func addNotSent(s *Summary, m *run.Manifest) {
	planned := plannedLengths(m)
	if len(planned) == 0 {
		return
	}
	perStage := !scheduleIsSearch(m)
	for i := range s.Targets {
		ts := &s.Targets[i]
		sent := map[int]bool{}
		byStage := map[int]map[int]bool{}
		for _, p := range s.Points {
			if p.Target != ts.Target || p.Requests == 0 {
				continue
			}
			sent[p.Length] = true
			if byStage[p.Stage] == nil {
				byStage[p.Stage] = map[int]bool{}
			}
			byStage[p.Stage][p.Length] = true
		}
		ts.NotSent = missing(planned, sent)
		if perStage {
			for j := range ts.Stages {
				st := &ts.Stages[j]
				st.NotSent = missing(planned, byStage[st.Stage])
			}
		}
		if s.Envelope == nil {
			continue
		}
		for j := range s.Envelope.Targets {
			et := &s.Envelope.Targets[j]
			if et.Target != ts.Target || len(ts.NotSent) == 0 {
				continue
			}
			et.NotSent = ts.NotSent
			et.LimitedBy += "; planned but never sent: " + formatLengths(ts.NotSent)
		}
	}
}

// missing are the planned lengths not in sent.
func missing(planned []int, sent map[int]bool) []int {
	var out []int
	for _, l := range planned {
		if !sent[l] {
			out = append(out, l)
		}
	}
	return out
}

// formatLengths writes lengths as "4k, 16k".
func formatLengths(ls []int) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = formatLengthShort(l)
	}
	return strings.Join(parts, ", ")
}

// NotSentWarnings are one sentence per target (and stage) that did not
// send every planned length.
func (s *Summary) NotSentWarnings() []string {
	var out []string
	for _, ts := range s.Targets {
		if len(ts.NotSent) > 0 {
			out = append(out, ts.Target+": planned but never sent (0 requests): "+formatLengths(ts.NotSent)+" tokens")
		}
		for _, st := range ts.Stages {
			if len(st.NotSent) > 0 && !slices.Equal(st.NotSent, ts.NotSent) {
				out = append(out, ts.Target+", stage "+strconv.Itoa(st.Stage)+" ("+st.Label+"): planned but not sent in this stage: "+formatLengths(st.NotSent)+" tokens")
			}
		}
	}
	return out
}
