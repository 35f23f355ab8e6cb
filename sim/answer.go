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
// answered right. A wrong answer is of a kind drawn from WrongMix among
// those the text allows: part of the values (several values only), a
// distractor's value, a statement that the key cannot be found, or an
// invented value of the asked kind that appears nowhere in text.
func (c Config) compose(r corpus.Reading, text string, length, queued int, rnd *rng) answer {
	switch r.Task { // the harder tasks answer with their own curves
	case corpus.TaskLatent:
		return c.composeLatent(r, text, length, queued, rnd)
	case corpus.TaskCWE:
		return c.composeCWE(r, text, length, queued, rnd)
	}
	a := answer{asks: len(r.Asks), accuracy: 1}
	if len(r.Asks) == 0 {
		a.text = "I could not find a question to answer in the text."
		return a
	}
	mix := c.wrongMix()
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
		}
		d := distractor(r.Distractors, ask.Values, pick)
		switch mix.pick([4]bool{len(ask.Values) > 1, d != "", true, true}, mode) {
		case WrongPartial:
			k := 1 + int(pick%uint64(len(ask.Values)-1))
			sayValues(&b, ask.Key, ask.Values[:k])
		case WrongDistractor:
			sayValues(&b, ask.Key, []string{d})
		case WrongHallucinated:
			sayValues(&b, ask.Key, []string{invent(ask.Values, r.Distractors, text, pick)})
		default:
			b.WriteString("I cannot find the value for ")
			b.WriteString(ask.Key)
			b.WriteString(" in the text.")
		}
	}
	a.text = b.String()
	return a
}

// invent makes a value of the kind of like (the asked key's values, else
// the distractors: digits of the same count, a version 4 uuid, or a
// lower-case word) that appears nowhere in text, from pick. With no value
// to go by it makes a seven-digit number.
func invent(like, others []string, text string, pick uint64) string {
	proto := "1000000"
	if len(like) > 0 {
		proto = like[0]
	} else if len(others) > 0 {
		proto = others[0]
	}
	kind := inventDigits
	switch {
	case corpus.IsUUID(proto):
		kind = inventUUID
	case !allDigitsString(proto):
		kind = inventWord
		text = strings.ToLower(text)
	}
	x := pick
	v := ""
	for range 16 {
		x = splitmix(x)
		switch kind {
		case inventUUID:
			v = uuidFrom(x, splitmix(x^0x9e3779b97f4a7c15))
		case inventWord:
			v = wordFrom(x)
		default:
			v = digitsFrom(x, max(len(proto), 1))
		}
		if !strings.Contains(text, v) {
			break
		}
	}
	return v
}

const (
	inventDigits = iota
	inventUUID
	inventWord
)

// splitmix is one step of the SplitMix64 generator: a bijective mix of x.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func digitsFrom(x uint64, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + x%10)
		x /= 10
		if x == 0 {
			x = splitmix(uint64(i) + 1)
		}
	}
	if n > 1 && b[0] == '0' {
		b[0] = '1' + byte(x%9)
	}
	return string(b)
}

func uuidFrom(x, y uint64) string {
	const hex = "0123456789abcdef"
	var b [36]byte
	j := 0
	for i := range b {
		switch i {
		case 8, 13, 18, 23:
			b[i] = '-'
			continue
		}
		w := x
		if j >= 16 {
			w = y
		}
		b[i] = hex[w>>(4*(j%16))&15]
		j++
	}
	b[14] = '4'
	b[19] = hex[8+y>>62]
	return string(b[:])
}

// wordFrom makes a pronounceable lower-case word of three syllables.
func wordFrom(x uint64) string {
	const cons, vows = "bdfgklmnprstvz", "aeiou"
	var b strings.Builder
	for range 3 {
		b.WriteByte(cons[x%uint64(len(cons))])
		x /= uint64(len(cons))
		b.WriteByte(vows[x%uint64(len(vows))])
		x /= uint64(len(vows))
	}
	b.WriteByte(cons[x%uint64(len(cons))])
	return b.String()
}

func allDigitsString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
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
