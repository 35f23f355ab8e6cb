package probes

import (
	"strings"

	"github.com/needlestorm/needlestorm/corpus"
)

// capCWE applies the rule of the cwe task (corpus.TaskCWE) to a match:
// the expected words are matched as whole words, case-insensitive, and
// recall is the share of them present (MatchAnswer), so an answer that
// adds a few wrong words keeps the recall of its right ones. But an answer
// that names more than corpus.CWEMaxCandidates(n) (2n) distinct words of
// the cwe vocabulary, for n expected words, lists rather than chooses: it
// scores nothing (not correct, recall 0, no word found). Words of the
// answer outside the vocabulary ("the", "most", "common") never count
// towards the cap.
func capCWE(m Match, expected []string, answer string) Match {
	if len(expected) == 0 || cweCandidates(answer) <= corpus.CWEMaxCandidates(len(expected)) {
		return m
	}
	return Match{Null: m.Null}
}

// cweCandidates is the number of distinct cwe vocabulary words in answer.
func cweCandidates(answer string) int {
	seen := map[string]bool{}
	for _, w := range strings.Fields(Normalize(answer)) {
		if corpus.IsCWEWord(w) {
			seen[w] = true
		}
	}
	return len(seen)
}
