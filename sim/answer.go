package sim

import (
	"strings"

	"github.com/needlestorm/needlestorm/corpus"
)

// answer is what the server says to a prompt and how it decided.
type answer struct {
	text string
	// asks is the number of keys asked; right how many were answered right.
	asks, right int
	// accuracy is the lowest probability of a right answer among the asks
	// whose needle survived (1 when none did).
	accuracy float64
}

// compose answers from what the server read in the kept text of length
// tokens, with queued requests ahead on arrival. Each asked key is answered
// right with probability Accuracy(length, depth, queued), where depth is
// where its first value sits in text; a key whose needle was cut is never
// answered right. A wrong answer gives part of the values (several values
// only), a distractor's value, or says the key cannot be found.
func (c Config) compose(r corpus.Reading, text string, length, queued int, rnd *rng) answer {
	if r.Task == corpus.TaskLatent { // harder tasks answer with their own curves
		return c.composeLatent(r, text, length, queued, rnd)
	}
	a := answer{asks: len(r.Asks), accuracy: 1}
	if len(r.Asks) == 0 {
		a.text = "I could not find a question to answer in the text."
		return a
	}
	var b strings.Builder
	for i, ask := range r.Asks {
		if i > 0 {
			b.WriteByte(' ')
		}
		u := rnd.float64()
		mode := rnd.float64()
		pick := rnd.next()
		if len(ask.Values) > 0 {
			p := c.Accuracy(length, depthOf(text, ask.Values[0]), queued)
			a.accuracy = min(a.accuracy, p)
			if u < p {
				a.right++
				sayValues(&b, ask.Key, ask.Values)
				continue
			}
			if len(ask.Values) > 1 && mode < 1.0/3 {
				k := 1 + int(pick%uint64(len(ask.Values)-1))
				sayValues(&b, ask.Key, ask.Values[:k])
				continue
			}
		}
		if d := distractor(r.Distractors, ask.Values, pick); d != "" && mode < 2.0/3 {
			sayValues(&b, ask.Key, []string{d})
			continue
		}
		b.WriteString("I cannot find the value for ")
		b.WriteString(ask.Key)
		b.WriteString(" in the text.")
	}
	a.text = b.String()
	return a
}

// depthOf is where value first appears in text, as a fraction of its length
// (0.5 when it does not appear).
func depthOf(text, value string) float64 {
	i := strings.Index(text, value)
	if i < 0 || len(text) == 0 {
		return 0.5
	}
	return float64(i) / float64(len(text))
}

// distractor picks a distractor value that is not one of the right values.
func distractor(ds, right []string, pick uint64) string {
	if len(ds) == 0 {
		return ""
	}
	start := int(pick % uint64(len(ds)))
	for i := range ds {
		d := ds[(start+i)%len(ds)]
		ok := true
		for _, v := range right {
			if d == v {
				ok = false
				break
			}
		}
		if ok {
			return d
		}
	}
	return ""
}

func sayValues(b *strings.Builder, key string, values []string) {
	if len(values) == 1 {
		b.WriteString("The value for ")
		b.WriteString(key)
		b.WriteString(" is ")
		b.WriteString(values[0])
		b.WriteByte('.')
		return
	}
	b.WriteString("The values for ")
	b.WriteString(key)
	b.WriteString(" are ")
	for i, v := range values {
		switch {
		case i == len(values)-1:
			b.WriteString(" and ")
		case i > 0:
			b.WriteString(", ")
		}
		b.WriteString(v)
	}
	b.WriteByte('.')
}

// filler pads answers up to Config.OutputTokens; it holds no digits so it
// cannot be mistaken for a value.
const filler = " I hope this helps."

// outputTokens returns the tokens of text padded with filler up to target
// tokens (no padding when target is 0 or already reached).
func outputTokens(enc *corpus.Tokenizer, text string, target int) []int {
	toks := enc.Encode(text)
	if len(toks) >= target {
		return toks
	}
	pad := enc.Encode(filler)
	for len(toks) < target {
		toks = append(toks, pad...)
	}
	return toks[:target]
}
