package sim

import (
	"strings"

	"github.com/needlestorm/needlestorm/corpus"
)

// prompt is a request's message contents as the server counts them: each
// content tokenized on its own, the counts summed (as the client counts a
// Case), the contents joined by "\n" for reading.
type prompt struct {
	contents []string
	segs     [][]int
	total    int
}

func tokenize(enc *corpus.Tokenizer, contents []string) prompt {
	p := prompt{contents: contents, segs: make([][]int, len(contents))}
	for i, c := range contents {
		p.segs[i] = enc.Encode(c)
		p.total += len(p.segs[i])
	}
	return p
}

// span is a half-open range [from, to) of token indexes of the whole prompt.
type span struct{ from, to int }

// keep returns the spans of the prompt a server with room for limit tokens
// keeps under overflow mode; the whole prompt when it fits.
func (p prompt) keep(limit int, mode string) []span {
	n := p.total
	if n <= limit {
		return []span{{0, n}}
	}
	limit = max(limit, 0)
	switch mode {
	case OverflowTruncateRight:
		return []span{{0, limit}}
	case OverflowTruncateMiddle:
		head := limit / 2
		return []span{{0, head}, {n - (limit - head), n}}
	default: // truncate_left
		return []span{{n - limit, n}}
	}
}

// text decodes the kept spans: the pieces of each content that survive,
// joined by "\n". With one span covering everything it is the contents
// joined, with no decoding.
func (p prompt) text(tok *corpus.Tokenizer, kept []span) string {
	if len(kept) == 1 && kept[0].from == 0 && kept[0].to == p.total {
		return strings.Join(p.contents, "\n")
	}
	var b strings.Builder
	first := true
	for _, s := range kept {
		off := 0
		for _, seg := range p.segs {
			lo, hi := max(s.from, off), min(s.to, off+len(seg))
			if lo < hi {
				if !first {
					b.WriteByte('\n')
				}
				first = false
				b.WriteString(tok.Decode(seg[lo-off : hi-off]))
			}
			off += len(seg)
		}
	}
	return b.String()
}

// count is the number of tokens in spans.
func count(spans []span) int {
	n := 0
	for _, s := range spans {
		n += s.to - s.from
	}
	return n
}
