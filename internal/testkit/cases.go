package testkit

import (
	"fmt"

	"github.com/needlestorm/needlestorm/corpus"
)

// Cases returns n hand-made Cases with no prompt text, for targets that do
// not read one: Case i is "case-i", a single-needle Case of 1000·(i+1)
// tokens at depth 50 (landed at 49.5, token 10·i), expecting "4000+i", with
// the canaries "h" and "t".
func Cases(n int) []corpus.Case {
	cs := make([]corpus.Case, n)
	for i := range cs {
		cs[i] = corpus.Case{
			ID: fmt.Sprintf("case-%d", i), Task: corpus.TaskSingle, Length: 1000 * (i + 1), PromptTokens: 1000 * (i + 1),
			Depth: 50, ActualDepth: 49.5, NeedleTokenIndex: 10 * i, Expected: []string{fmt.Sprintf("%d", 4000+i)},
			Canaries: &corpus.Canaries{Head: "h", Tail: "t"},
		}
	}
	return cs
}
