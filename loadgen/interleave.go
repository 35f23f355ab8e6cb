package loadgen

import "github.com/needlestorm/needlestorm/corpus"

// Interleave returns cases reordered so that a stage sends every length
// early, and every depth within a length: round-robin over the lengths in
// the order they first appear, each length's cases themselves taken
// round-robin over their depths (keeping the order within a depth). A
// matrix lists its cases length by length, so a stage that ends before the
// whole list is sent would otherwise send only the shortest lengths (at
// 1/s for 3 s, three 1k prompts and no 4k one). The result holds every
// case once; cases of one length and depth come out as they went in.
func Interleave(cases []corpus.Case) []corpus.Case {
	byLength := groupBy(cases, func(c *corpus.Case) float64 { return float64(c.Length) })
	if len(byLength) < 2 && len(cases) > 0 {
		// One length: still spread its depths.
		return roundRobin(groupBy(cases, func(c *corpus.Case) float64 { return c.Depth }), len(cases))
	}
	groups := make([][]corpus.Case, len(byLength))
	for i, g := range byLength {
		groups[i] = roundRobin(groupBy(g, func(c *corpus.Case) float64 { return c.Depth }), len(g))
	}
	return roundRobin(groups, len(cases))
}

// groupBy splits cases by key, groups in the order their keys first
// appear, each group in the order given.
func groupBy(cases []corpus.Case, key func(*corpus.Case) float64) [][]corpus.Case {
	idx := map[float64]int{}
	var groups [][]corpus.Case
	for i := range cases {
		k := key(&cases[i])
		j, ok := idx[k]
		if !ok {
			j = len(groups)
			idx[k] = j
			groups = append(groups, nil)
		}
		groups[j] = append(groups[j], cases[i])
	}
	return groups
}

// roundRobin takes one case from each group in turn until all n are taken.
func roundRobin(groups [][]corpus.Case, n int) []corpus.Case {
	out := make([]corpus.Case, 0, n)
	for i := 0; len(out) < n; i++ {
		for _, g := range groups {
			if i < len(g) {
				out = append(out, g[i])
			}
		}
	}
	return out
}
