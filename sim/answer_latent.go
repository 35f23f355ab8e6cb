package sim

import (
	"strings"

	"github.com/needlestorm/needlestorm/corpus"
)

// composeLatent answers a latent question (corpus.TaskLatent): the right
// character with probability LatentAccuracy at the needle's depth, and
// otherwise a wrong answer of a kind drawn from WrongMix, as compose does:
// another character of the text (a distractor, when the text names one),
// that no character has been there (not_found), or an invented name found
// nowhere in the text (hallucinated); a latent question asks for one
// character, so never partial. A needle cut by truncation is never
// answered right. Canary asks follow Accuracy, as in compose.
func (c Config) composeLatent(r corpus.Reading, text string, length, queued int, rnd *rng) answer {
	a := answer{asks: len(r.Asks), accuracy: 1}
	mix := c.wrongMix()
	var b strings.Builder
	for i, ask := range r.Asks {
		if i > 0 {
			b.WriteByte(' ')
		}
		u, mode, pick := rnd.float64(), rnd.float64(), rnd.next()
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
		if ask.Canary {
			b.WriteString("I cannot find the value for " + ask.Key + " in the text.")
			continue
		}
		d := distractor(r.Distractors, ask.Values, pick)
		switch mix.pick([4]bool{false, d != "", true, true}, mode) {
		case WrongDistractor:
			sayLatent(&b, ask, d)
		case WrongHallucinated:
			sayLatent(&b, ask, inventName(ask.Values, r.Distractors, text, pick))
		default:
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

// inventName makes a character's name that appears nowhere in text: an
// invented word (see invent), capitalised as the table's names are.
func inventName(like, others []string, text string, pick uint64) string {
	w := invent(like, others, text, pick)
	if w == "" {
		return w
	}
	return strings.ToUpper(w[:1]) + w[1:]
}
