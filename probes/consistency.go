package probes

import (
	"cmp"
	"slices"
)

// CaseAnswer is one answer to one Case.
type CaseAnswer struct {
	CaseID string
	Answer string
}

// Consistency is how a model's answers to one Case agree over its repeats.
type Consistency struct {
	CaseID string `json:"case_id"`
	// Answers is the number of answers (repeats) seen.
	Answers int `json:"answers"`
	// Distinct is the number of different normalised answers; an empty
	// answer counts as one.
	Distinct int `json:"distinct"`
	// Agreement is the share of answers equal to the modal answer.
	Agreement float64 `json:"agreement"`
	// Modal is the most frequent normalised answer (the lexically first
	// among equally frequent ones).
	Modal string `json:"modal"`
}

// ConsistencyOf groups answers by Case and measures their agreement,
// comparing answers on normalised text (see Normalize). The result is sorted
// by CaseID.
func ConsistencyOf(answers []CaseAnswer) []Consistency {
	counts := map[string]map[string]int{}
	for _, a := range answers {
		m := counts[a.CaseID]
		if m == nil {
			m = map[string]int{}
			counts[a.CaseID] = m
		}
		m[Normalize(a.Answer)]++
	}
	out := make([]Consistency, 0, len(counts))
	for id, m := range counts {
		c := Consistency{CaseID: id, Distinct: len(m)}
		best := -1
		for ans, n := range m {
			c.Answers += n
			if n > best || (n == best && ans < c.Modal) {
				best, c.Modal = n, ans
			}
		}
		c.Agreement = float64(best) / float64(c.Answers)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Consistency) int { return cmp.Compare(a.CaseID, b.CaseID) })
	return out
}
