package corpus

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// ErrNoPreamble is wrapped by WithNonce's error when a Case has no
// cache-busting preamble to replace: it was built with SharedPrefix, or made
// by other means than a Builder.
var ErrNoPreamble = errors.New("the case has no cache-busting preamble")

// The cache-busting preamble: preambleLead, words joined by "-", preambleEnd.
const (
	preambleLead = "Archive reference "
	preambleEnd  = ".\n\n"
	// maxPreambleBytes bounds the search for the preamble's end, so that a
	// long prompt without one is not scanned.
	maxPreambleBytes = 512
	// maxPreambleWords bounds the words a preamble may have (the Builder
	// writes five); it keeps the counting below in 64 bits.
	maxPreambleWords = 10
	// joinProbe is how many bytes after the preamble WithNonce re-encodes
	// to prove the join clean.
	joinProbe = 64
)

// makePreamble builds the preamble text of words.
func makePreamble(words []string) string {
	return preambleLead + strings.Join(words, "-") + preambleEnd
}

// preambleTable holds the token counts of the preamble words: counts[0][i]
// is the count of " " + preambleWords[i] (the first word, after
// "reference"), counts[1][i] that of "-" + preambleWords[i] (the others).
// Each is one pre-tokenizer piece in both encodings (an optional
// non-letter followed by letters), so a preamble's count is the sum of its
// words' counts plus the fixed lead and end (fixed).
//
// additive says that was checked for every word in both places, once
// (preambleCounts): the pre-tokenizer cuts a preamble before the space of
// its first word, before every "-" and before the final ".", whatever the
// letters between (a piece of letters ends at the first non-letter, and
// "-", " " and "." each start the next piece), so a check of each word in
// each place proves the count of every combination of them, and renonce
// need not count its choice again.
type preambleTable struct {
	counts   [2][]int
	fixed    int
	additive bool
}

// preambleCounts returns t's preamble word counts, computed on first use.
func (t *Tokenizer) preambleCounts() *preambleTable {
	t.preambleOnce.Do(func() {
		for form, sep := range []string{" ", "-"} {
			t.preamble.counts[form] = make([]int, len(preambleWords))
			for i, w := range preambleWords {
				t.preamble.counts[form][i] = t.Count(sep + w)
			}
		}
		tab := &t.preamble
		tab.fixed = t.Count(strings.TrimSuffix(preambleLead, " ")) + t.Count(preambleEnd)
		tab.additive = true
		first := preambleWords[0]
		for i, w := range preambleWords {
			if t.Count(makePreamble([]string{w})) != tab.fixed+tab.counts[0][i] ||
				t.Count(makePreamble([]string{first, w})) != tab.fixed+tab.counts[0][0]+tab.counts[1][i] {
				tab.additive = false
				break
			}
		}
	})
	return &t.preamble
}

// WithNonce returns a copy of c whose cache-busting preamble words are
// replaced by words drawn from (c.Seed, c.ID, n), so that every request of
// one Case can send a different prompt and no server prefix cache can serve
// a repeat from its first tokens.
//
// The new preamble has exactly as many tokens as the old one: its words are
// chosen among those whose token counts add up to the old words' count, and
// the choice is proved by encoding the new preamble and the join after it
// (the preamble ends with ".\n\n" before a character that is not a line
// break, where the pre-tokenizer always splits). So PromptTokens, Length,
// NeedleTokenIndex, the depths, the expected values and every other field
// hold for the copy; only the user content's first few words differ.
//
// For a given Case the words are a bijection of n modulo the number of word
// choices with the right count (tens of millions for the Builder's five
// words): distinct nonces below that number give distinct preambles. The
// same (Case, n) always gives the same prompt.
//
// The user content is copied once; the other fields are shared with c (the
// Messages slice itself is new). A Case without a preamble (SharedPrefix,
// or made by hand) gives an error wrapping ErrNoPreamble.
func (c *Case) WithNonce(n uint64) (Case, error) {
	nr, err := c.Noncer()
	if err != nil {
		return Case{}, err
	}
	return nr.Case(n)
}

// Noncer makes the re-nonced copies of one Case (WithNonce): it finds the
// Case's preamble and works out its choice of words once, so that each copy
// costs only the choice and the copy of the user content. A sender that
// sends one Case many times keeps one. It is safe for concurrent use and
// must not outlive changes to its Case.
type Noncer struct {
	c     *Case
	tok   *Tokenizer
	ui    int
	end   int
	plan  *noncePlan
	probe string
}

// Noncer returns c's Noncer, or WithNonce's error for a Case without a
// usable preamble.
func (c *Case) Noncer() (*Noncer, error) {
	ui, words, end, err := c.preamble()
	if err != nil {
		return nil, fmt.Errorf("case %s: %w", c.ID, err)
	}
	tok, err := GetTokenizer(c.Encoding)
	if err != nil {
		return nil, fmt.Errorf("case %s: %w", c.ID, err)
	}
	content := c.Messages[ui].Content
	probe := joinProbeOf(content[end:])
	plan, err := tok.noncePlan(content[:end], words, seedOf(c.Seed, "nonce", c.ID), probe)
	if err != nil {
		return nil, fmt.Errorf("case %s: %w", c.ID, err)
	}
	return &Noncer{c: c, tok: tok, ui: ui, end: end, plan: plan, probe: probe}, nil
}

// Case returns the Case with the preamble of nonce n (see WithNonce).
func (nr *Noncer) Case(n uint64) (Case, error) {
	r, err := nr.Renonce(n)
	if err != nil {
		return Case{}, err
	}
	return r.Apply(nr.c), nil
}

// Renonce returns how the Case with the preamble of nonce n differs from
// the Noncer's Case, without making the copy: a sender that writes the
// prompt into a request itself (endpoint's targets) applies it there and
// saves a copy of the prompt per request.
func (nr *Noncer) Renonce(n uint64) (Renonce, error) {
	pre, err := renonce(nr.tok, nr.plan, nr.probe, n)
	if err != nil {
		return Renonce{}, fmt.Errorf("case %s: %w", nr.c.ID, err)
	}
	return Renonce{Message: nr.ui, End: nr.end, Preamble: pre}, nil
}

// Renonce is one re-nonced prompt of a Case, as a change to it: message
// Message's first End bytes (the old cache-busting preamble) are replaced
// by Preamble. Everything else of the Case holds for the re-nonced one
// (see WithNonce).
type Renonce struct {
	Message  int
	End      int
	Preamble string
}

// Apply returns the re-nonced copy of c: WithNonce's Case. It copies the
// user content once; the other fields are shared with c (the Messages
// slice itself is new).
func (r Renonce) Apply(c *Case) Case {
	content := c.Messages[r.Message].Content
	var sb strings.Builder
	sb.Grow(len(r.Preamble) + len(content) - r.End)
	sb.WriteString(r.Preamble)
	sb.WriteString(content[r.End:])
	out := *c
	out.Messages = append([]Message(nil), c.Messages...)
	out.Messages[r.Message].Content = sb.String()
	return out
}

// joinProbeOf is the start of the text after a preamble that renonce
// re-encodes to prove the join clean: joinProbe bytes, cut back to whole
// characters.
func joinProbeOf(rest string) string {
	probe := rest[:min(len(rest), joinProbe)]
	for len(probe) > 0 && !utf8.ValidString(probe) {
		probe = probe[:len(probe)-1]
	}
	return probe
}

// preamble finds c's preamble: the index of the user message that starts
// with it, its words, and its length in bytes.
func (c *Case) preamble() (ui int, words []string, end int, err error) {
	if c.SharedPrefix {
		return 0, nil, 0, fmt.Errorf("%w: it was built with a shared prefix", ErrNoPreamble)
	}
	ui = -1
	for i, m := range c.Messages {
		if m.Role == "user" {
			ui = i
			break
		}
	}
	if ui < 0 {
		return 0, nil, 0, fmt.Errorf("%w: it has no user message", ErrNoPreamble)
	}
	s := c.Messages[ui].Content
	if !strings.HasPrefix(s, preambleLead) {
		return 0, nil, 0, fmt.Errorf("%w: its user message does not start with %q", ErrNoPreamble, preambleLead)
	}
	head := s[len(preambleLead):min(len(s), maxPreambleBytes)]
	j := strings.Index(head, preambleEnd)
	if j < 0 {
		return 0, nil, 0, fmt.Errorf("%w: the %q line does not end with %q", ErrNoPreamble, preambleLead, preambleEnd)
	}
	words = strings.Split(head[:j], "-")
	if len(words) > maxPreambleWords {
		return 0, nil, 0, fmt.Errorf("%w: its preamble has %d words, more than %d", ErrNoPreamble, len(words), maxPreambleWords)
	}
	for _, w := range words {
		if !asciiLetters(w) {
			return 0, nil, 0, fmt.Errorf("%w: its preamble word %q is not made of letters", ErrNoPreamble, w)
		}
	}
	end = len(preambleLead) + j + len(preambleEnd)
	if end < len(s) && (s[end] == '\n' || s[end] == '\r') {
		// The line breaks would join the preamble's last pre-token piece.
		return 0, nil, 0, fmt.Errorf("its preamble is followed by a line break, so it does not end at a token boundary and cannot be replaced exactly")
	}
	return ui, words, end, nil
}

func asciiLetters(w string) bool {
	if w == "" {
		return false
	}
	for i := 0; i < len(w); i++ {
		if c := w[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// renonce returns the preamble for nonce n of plan p: as many words as
// the old preamble has, drawn from preambleWords, with its token count, and
// proved to join probe (the text after it) cleanly. A proven plan's first
// choice is right by construction (see preambleTable and noncePlan);
// otherwise each choice is counted, and the next tried if it is off.
func renonce(tok *Tokenizer, p *noncePlan, probe string, n uint64) (string, error) {
	k := p.k
	form := func(i int) int { return min(i, 1) }
	tab := tok.preambleCounts()
	hi, lo := bits.Mul64(p.a, n%p.total)
	index := (bits.Rem64(hi, lo, p.total) + p.b) % p.total

	var chosenArr [maxPreambleWords]string
	chosen := chosenArr[:k]
	for range 8 {
		s, x := p.target, index
		for i := range k {
			for wi, c := range tab.counts[form(i)] {
				if c > s {
					continue
				}
				if m := p.way(i+1, s-c); x >= m {
					x -= m
					continue
				}
				chosen[i] = preambleWords[wi]
				s -= c
				break
			}
		}
		pre := makePreamble(chosen)
		if p.proven {
			return pre, nil
		}
		if cnt := tok.Count(pre); cnt == p.want && tok.joinsCleanly(pre, probe, cnt, p.probeCount) {
			return pre, nil
		}
		index = (index + 1) % p.total
	}
	return "", fmt.Errorf("could not find preamble words of exactly %d tokens (internal error)", p.want)
}

// noncePlan is what renonce needs of one Case that does not change with
// the nonce: the old words' token count (target), ways (ways[i][s] is the
// number of word choices for slots i..k-1 whose counts add up to s; at most
// 64^10 < 2^64), the bijection index = (a*n + b) mod total with
// gcd(a, total) = 1, keyed by the Case, and the counts of the old preamble
// and of the probe after it. Computing it takes most of WithNonce's time
// on short prompts, and a run sends each Case many times, so it is kept.
//
// proven says every choice of the plan is right without counting it: the
// words are additive (preambleTable), the old preamble's count is the
// fixed part plus its words' (so target is the count to keep), and the old
// preamble joins the probe cleanly. The join depends on the preamble's end
// alone, ".\n\n" after letters, which every choice shares: the last piece
// of a preamble is that end whatever its words, and the pieces after it
// are the probe's.
type noncePlan struct {
	k, target        int
	ways             []uint64 // (k+1) rows of target+1
	total, a, b      uint64
	want, probeCount int
	proven           bool
}

func (p *noncePlan) way(i, s int) uint64 { return p.ways[i*(p.target+1)+s] }

// noncePlanKey identifies a plan: the tokenizer, the Case's nonce seed, its
// old preamble and the probe after it.
type noncePlanKey struct {
	tok        *Tokenizer
	key        uint64
	old, probe string
}

// Bounds of the plan cache: a plan is a few hundred bytes; past
// maxNoncePlans (a run of that many distinct Cases) new plans are
// computed and not kept.
const maxNoncePlans = 1 << 14

var (
	noncePlans     sync.Map // noncePlanKey -> *noncePlan
	noncePlansKept atomic.Int64
)

// noncePlan returns the plan of the preamble old (of words) before probe,
// for the nonce seed key.
func (t *Tokenizer) noncePlan(old string, words []string, key uint64, probe string) (*noncePlan, error) {
	if p, ok := noncePlans.Load(noncePlanKey{t, key, old, probe}); ok {
		return p.(*noncePlan), nil
	}
	tab := t.preambleCounts()
	k := len(words)
	form := func(i int) int { return min(i, 1) }
	target := 0
	for i, w := range words {
		sep := "-"
		if i == 0 {
			sep = " "
		}
		target += t.Count(sep + w)
	}
	p := &noncePlan{k: k, target: target, ways: make([]uint64, (k+1)*(target+1))}
	row := func(i int) []uint64 { return p.ways[i*(target+1) : (i+1)*(target+1)] }
	row(k)[0] = 1
	for i := k - 1; i >= 0; i-- {
		cur, next := row(i), row(i+1)
		for s := 0; s <= target; s++ {
			for _, c := range tab.counts[form(i)] {
				if c <= s {
					cur[s] += next[s-c]
				}
			}
		}
	}
	p.total = row(0)[target]
	if p.total == 0 {
		return nil, fmt.Errorf("no preamble words add up to the %d tokens of %q (internal error)", target, old)
	}
	r := newRNG(key)
	p.a = 1
	for range 64 {
		if x := r.next() % p.total; gcd(x, p.total) == 1 {
			p.a = x
			break
		}
	}
	p.b = r.next() % p.total
	p.want = t.Count(old)
	p.probeCount = t.Count(probe)
	p.proven = tab.additive && p.want == tab.fixed+target && t.joinsCleanly(old, probe, p.want, p.probeCount)
	if noncePlansKept.Load() < maxNoncePlans {
		if _, loaded := noncePlans.LoadOrStore(noncePlanKey{t, key, strings.Clone(old), strings.Clone(probe)}, p); !loaded {
			noncePlansKept.Add(1)
		}
	}
	return p, nil
}

// joinsCleanly reports whether Count(a+b) is Count(a) + Count(b), given
// as na and nb. For ASCII text of the fast cl100k_base encoder it proves
// it without encoding: the pre-tokenizer splits a+b into a's own pieces
// (each ends where it ends in a alone) and then b's (it only looks ahead,
// so from len(a) on it splits as in b alone), and a count is the sum of
// its pieces' counts. Other text is counted.
func (t *Tokenizer) joinsCleanly(a, b string, na, nb int) bool {
	if !t.fast || !isASCII(a) || !isASCII(b) {
		return t.Count(a+b) == na+nb
	}
	if a == "" || b == "" {
		return true
	}
	ab := a + b
	i, j := 0, 0 // piece ends in a alone, and in a+b
	for i < len(a) {
		i, j = cl100kPiece(a, i), cl100kPiece(ab, j)
		if i != j {
			return false
		}
	}
	return true
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
