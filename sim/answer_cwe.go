package sim

import (
	"strings"

	"github.com/needlestorm/needlestorm/corpus"
)

// composeCWE answers a cwe question (corpus.TaskCWE): each of the most
// common words the server read in the kept list is named with
// probability CWEAccuracy, and a word it misses is replaced by one of the
// list's less common words (the plausible confusion), so a wrong answer
// has some of the right words and some wrong ones, never more words than
// asked. The answer is right when every word is named. Canary asks
// follow Accuracy; answer.accuracy is the per-word probability.
func (c Config) composeCWE(r corpus.Reading, text string, length, queued int, rnd *rng) answer {
	a := answer{asks: len(r.Asks), accuracy: 1}
	var b strings.Builder
	for i, ask := range r.Asks {
		if i > 0 {
			b.WriteByte(' ')
		}
		if ask.Canary {
			u := rnd.float64()
			if len(ask.Values) > 0 {
				p := c.Accuracy(length, depthOf(text, ask.Values[0]), queued)
				a.accuracy = min(a.accuracy, p)
				if u < p {
					a.right++
					sayValues(&b, ask.Key, ask.Values)
					continue
				}
			}
			b.WriteString("I cannot find the value for " + ask.Key + " in the text.")
			continue
		}
		if len(ask.Values) == 0 {
			b.WriteString("I cannot find a list of words in the text.")
			continue
		}
		p := c.CWEAccuracy(length, queued)
		a.accuracy = min(a.accuracy, p)
		spare := append([]string(nil), r.Distractors...)
		words := make([]string, 0, len(ask.Values))
		all := true
		for _, v := range ask.Values {
			if rnd.float64() < p {
				words = append(words, v)
				continue
			}
			all = false
			if len(spare) > 0 {
				k := rnd.intn(len(spare))
				words = append(words, spare[k])
				spare = append(spare[:k], spare[k+1:]...)
			}
		}
		if all {
			a.right++
		}
		b.WriteString("The most common words in the list are: ")
		if len(words) == 0 {
			b.WriteString("none that I can tell")
		}
		b.WriteString(strings.Join(words, ", "))
		b.WriteByte('.')
	}
	a.text = b.String()
	return a
}
