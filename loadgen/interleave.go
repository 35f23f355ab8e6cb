package loadgen

import "github.com/needlestorm/needlestorm/corpus"

// Interleave returns cases reordered so that a stage sends every length
// early, every task within a length, and every depth within a task:
// round-robin over the lengths in the order they first appear, each
// length's cases taken round-robin over their tasks, and each task's over
// its depths (keeping the order within a depth). A matrix lists its cases
// length by length and task by task, so a stage that ends before the whole
// list is sent would otherwise send only the shortest lengths (at 1/s for
// 3 s, three 1k prompts and no 4k one) or only the first task. The result
// holds every case once; cases of one length, task and depth come out as
// they went in.
func Interleave(cases []corpus.Case) []corpus.Case {
	byLength := groupBy(cases, func(c *corpus.Case) int { return c.Length })
	if len(byLength) < 2 && len(cases) > 0 {
		// One length: still spread its tasks and depths.
		return spreadTasks(cases)
	}
	groups := make([][]corpus.Case, len(byLength))
	for i, g := range byLength {
		groups[i] = spreadTasks(g)
	}
	return roundRobin(groups, len(cases))
}

// spreadTasks orders one length's cases round-robin over their tasks, each
// task's round-robin over its depths.
func spreadTasks(cases []corpus.Case) []corpus.Case {
	byTask := groupBy(cases, func(c *corpus.Case) string { return c.Task })
	groups := make([][]corpus.Case, len(byTask))
	for i, g := range byTask {
		groups[i] = roundRobin(groupBy(g, func(c *corpus.Case) float64 { return c.Depth }), len(g))
	}
	return roundRobin(groups, len(cases))
}

// groupBy splits cases by key, groups in the order their keys first
// appear, each group in the order given.
func groupBy[K comparable](cases []corpus.Case, key func(*corpus.Case) K) [][]corpus.Case {
	idx := map[K]int{}
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
