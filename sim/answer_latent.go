package sim

import (
	"strings"

	"github.com/needlestorm/needlestorm/corpus"
)

// composeLatent answers a latent question (corpus.TaskLatent): the right
// character with probability LatentAccuracy at the needle's depth, and
// otherwise the likeliest confusion, another character of the text (a
// distractor), or, when the text names none, that no character has been
// there. A needle cut by truncation is never answered right. Canary asks
// follow Accuracy, as in compose.
func (c Config) composeLatent(r corpus.Reading, text string, length, queued int, rnd *rng) answer {
	a := answer{asks: len(r.Asks), accuracy: 1}
	var b strings.Builder
	for i, ask := range r.Asks {
		if i > 0 {
			b.WriteByte(' ')
		}
		u, pick := rnd.float64(), rnd.next()
		if len(ask.Values) > 0 {
			p := c.LatentAccuracy(length, depthOf(text, ask.Values[0]), queued)
			if ask.Canary {
				p = c.Accuracy(length, depthOf(text, ask.Values[0]), queued)
			}
			a.accuracy = min(a.accuracy, p)
			if u < p {
				a.right++
				sayLatent(&b, ask, ask.Values[0])
				continue
			}
		}
		if d := distractor(r.Distractors, ask.Values, pick); d != "" && !ask.Canary {
			sayLatent(&b, ask, d)
			continue
		}
		if ask.Canary {
			b.WriteString("I cannot find the value for " + ask.Key + " in the text.")
		} else {
			b.WriteString("No character in the text has been to " + ask.Key + ".")
		}
	}
	a.text = b.String()
	return a
}

func sayLatent(b *strings.Builder, ask corpus.Ask, value string) {
	if ask.Canary {
		sayValues(b, ask.Key, []string{value})
		return
	}
	b.WriteString("The character who has been to ")
	b.WriteString(ask.Key)
	b.WriteString(" is ")
	b.WriteString(value)
	b.WriteByte('.')
}
