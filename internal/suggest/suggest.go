package suggest

import "strings"

// Closest returns the name among known nearest to s, compared without case,
// or "" when none is near enough to be a likely misspelling: at most
// max(2, len(s)/3) edits away (a swap of two neighbouring letters is one
// edit), or known starting with s when s has two letters or more.
func Closest(s string, known []string) string {
	s = strings.ToLower(s)
	best, bestD := "", -1
	for _, k := range known {
		d := Distance(s, strings.ToLower(k))
		if len(s) >= 2 && strings.HasPrefix(strings.ToLower(k), s) {
			d = min(d, 1)
		}
		if bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	if bestD < 0 || bestD > max(2, len(s)/3) {
		return ""
	}
	return best
}

// Distance is the edit distance of a and b (insertions, deletions,
// substitutions and swaps of two neighbouring letters; the optimal string
// alignment distance), over runes.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
