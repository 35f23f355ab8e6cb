package corpus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Limits of a prompt's length in client tokens.
const (
	// MaxLength is the longest prompt the builder makes.
	MaxLength = 2_000_000
	// minHay is the smallest haystack (tokens) a prompt may have.
	minHay = 8
	// startSpread: each Case's haystack starts at a random cut within the
	// first startSpread tokens, so samples differ.
	startSpread = 16384
	// tailMargin: tokens kept beyond a haystack's end to draw the closing
	// partial sentence from.
	tailMargin = 4096
)

// Spec is the recipe of one Case.
type Spec struct {
	Task string `json:"task"`
	// Length is the prompt length in client tokens (system plus user
	// content).
	Length int `json:"length"`
	// Depth is the needle depth in percent of the haystack, 0 to 100.
	Depth  float64 `json:"depth"`
	Sample int     `json:"sample"`
	// ValueKind is number (default), uuid or word; chain always uses
	// five-digit numbers, latent character names and cwe list words.
	ValueKind string `json:"value_kind,omitempty"`
	// Keys is the number of distractor keys (multikey), values (multivalue),
	// keys (multiquery), hops (chain), distractor characters (latent) or
	// common words (cwe); 0 means the task default.
	Keys         int  `json:"keys,omitempty"`
	Canaries     bool `json:"canaries,omitempty"`
	SharedPrefix bool `json:"shared_prefix,omitempty"`
}

// ID is the Case identity of a spec: "single-8k-d25-s0".
func (s Spec) ID() string {
	return s.Task + "-" + FormatLength(s.Length) + "-d" + strconv.FormatFloat(s.Depth, 'f', -1, 64) + "-s" + strconv.Itoa(s.Sample)
}

// Builder makes Cases from one haystack, tokenized once for its encoding and
// seed; Build only slices token ranges of it and encodes the few short
// sentences it inserts. A Builder is safe for concurrent use.
type Builder struct {
	haystack string
	encoding string
	seed     int64
	tok      *Tokenizer
	store    *hayStore
	sysCount int
	dotCount int // tokens of ".\n\n" after a word
	verify   bool
	words    sync.Map // word -> wordCount
}

// BuilderOption configures a Builder.
type BuilderOption func(*Builder)

// Verify makes every Build re-count the whole prompt with the tokenizer and
// fail if the count is not the requested length. Build's own check encodes
// only the seams around what it inserts, which is exact by construction;
// Verify is the slow proof (about a second per million tokens).
func Verify(on bool) BuilderOption { return func(b *Builder) { b.verify = on } }

// NewBuilder prepares a haystack ("prose", "noise" or "dir:PATH"; ""
// means prose) for an encoding ("" means cl100k_base) and seed. A dir:
// haystack's folder is read here; text is generated and tokenized lazily,
// as far as the longest prompt asked so far needs.
func NewBuilder(haystack, encoding string, seed int64, opts ...BuilderOption) (*Builder, error) {
	if haystack == "" {
		haystack = DefaultHaystack
	}
	if encoding == "" {
		encoding = DefaultEncoding
	}
	tok, err := GetTokenizer(encoding)
	if err != nil {
		return nil, err
	}
	src, err := newSource(haystack, seed)
	if err != nil {
		return nil, err
	}
	b := &Builder{
		haystack: haystack,
		encoding: encoding,
		seed:     seed,
		tok:      tok,
		store:    newHayStore(tok, src),
		sysCount: tok.Count(SystemPrompt),
		dotCount: tok.Count("a.\n\n") - tok.Count("a"),
	}
	for _, o := range opts {
		o(b)
	}
	return b, nil
}

// Haystack is the builder's haystack name.
func (b *Builder) Haystack() string { return b.haystack }

// Encoding is the builder's encoding name.
func (b *Builder) Encoding() string { return b.encoding }

// Seed is the builder's seed.
func (b *Builder) Seed() int64 { return b.seed }

// Tokenizer is the builder's tokenizer.
func (b *Builder) Tokenizer() *Tokenizer { return b.tok }

// Prepare tokenizes enough haystack for prompts of up to maxLength tokens,
// so that later Builds only slice. It stops when ctx is done.
func (b *Builder) Prepare(ctx context.Context, maxLength int) error {
	_, err := b.store.ensure(ctx, startSpread+maxLength+tailMargin)
	return err
}

// stmt is one needle sentence (without leading space or separator).
type stmt struct {
	text string
	main bool // the one placed at the requested depth
	// order: statements with the same order group > 0 are placed in
	// increasing position (chain hops).
	order int
	// after: placed at or after the main statement (cwe's list chunks).
	after bool
}

// needles is a task's drawn content.
type needles struct {
	stmts    []stmt
	askKeys  []string
	expected []string
	values   []string // every value stated (expected and distractors)
}

// part is one piece of the user content.
type part struct {
	text  string // inserted text; empty for haystack parts
	count int
	// hay pieces span cuts k1..k2 of the snapshot; other pieces are
	// inserted text.
	hay    bool
	k1, k2 int
}

// ErrTooShort is wrapped by Build's error when the length cannot hold the
// task's fixed text.
var ErrTooShort = errors.New("length too small for the task")

// Build makes the Case of a spec.
func (b *Builder) Build(spec Spec) (Case, error) {
	return b.BuildContext(context.Background(), spec)
}

// BuildContext is Build with a context for the haystack's first tokenization.
func (b *Builder) BuildContext(ctx context.Context, spec Spec) (Case, error) {
	return b.build(ctx, spec, nil)
}

// buildInfo is what tests check beyond the Case: the haystack size and the
// candidate needle positions (haystack tokens before each cut and the end).
type buildInfo struct {
	hayTokens  int
	candidates []int
	mainHay    int
}

func (b *Builder) build(ctx context.Context, spec Spec, info *buildInfo) (Case, error) {
	kind, keys, err := checkSpec(spec)
	if err != nil {
		return Case{}, err
	}
	id := spec.ID()
	r := newRNG(seedOf(b.seed, "case", spec.Task, spec.Length, spec.Depth, spec.Sample, kind, keys))
	fr := b.newFrame(spec, id, r)
	var last error
	for range 16 {
		var nd needles
		if spec.Task == TaskCWE {
			// the list is sized to the room the question leaves
			q, a := questionText(spec.Task, kind, []string{strconv.Itoa(keys)}, spec.Canaries)
			fr.ask(b.tok, questionLead+q+"\n"+answerLead+a)
			if nd, err = b.drawCWE(r, spec, keys, fr.count()); err != nil {
				return Case{}, fmt.Errorf("case %s: %w", id, err)
			}
		} else {
			nd = drawNeedles(r, spec.Task, kind, keys)
			q, a := questionText(spec.Task, kind, nd.askKeys, spec.Canaries)
			fr.ask(b.tok, questionLead+q+"\n"+answerLead+a)
		}
		c, retry, err := b.assemble(ctx, &attempt{spec: spec, id: id, nd: nd, frame: fr, info: info}, r)
		if err == nil {
			return c, nil
		}
		last = err
		if !retry {
			return Case{}, err
		}
	}
	return Case{}, fmt.Errorf("case %s: %w", id, last)
}

// checkSpec refuses a spec Build cannot make and returns its value kind and
// key count with the task's defaults filled in.
func checkSpec(spec Spec) (kind string, keys int, err error) {
	if err := CheckTask(spec.Task); err != nil {
		return "", 0, err
	}
	if spec.Length <= 0 {
		return "", 0, fmt.Errorf("length must be a positive number of tokens, not %d (for example 8k)", spec.Length)
	}
	if spec.Length > MaxLength {
		return "", 0, fmt.Errorf("length %d is more than the supported maximum of %d tokens", spec.Length, MaxLength)
	}
	if math.IsNaN(spec.Depth) || spec.Depth < 0 || spec.Depth > 100 {
		return "", 0, fmt.Errorf("depth must be between 0 and 100 percent, not %v", spec.Depth)
	}
	if spec.Sample < 0 {
		return "", 0, fmt.Errorf("sample must be 0 or more, not %d", spec.Sample)
	}
	if kind, err = checkValueKind(spec.Task, spec.ValueKind); err != nil {
		return "", 0, err
	}
	if keys, err = resolveKeys(spec.Task, spec.Keys); err != nil {
		return "", 0, err
	}
	return kind, keys, nil
}

// frame is the text of a Case around its haystack, each piece with its
// token count: the preamble that keeps server prefix caches from matching
// (empty with a shared prefix), the canaries before and after the haystack
// (empty without canaries), and the question with its answer lead.
type frame struct {
	preamble, head, tail, question         string
	preCount, headCount, tailCount, qCount int
	can                                    *Canaries
}

// newFrame draws a Case's preamble (from its identity) and canaries (from
// r); the question comes with each attempt's needles.
func (b *Builder) newFrame(spec Spec, id string, r *rng) frame {
	var f frame
	if !spec.SharedPrefix {
		pr := newRNG(seedOf(b.seed, "preamble", id))
		w := make([]string, 5)
		for i := range w {
			w[i] = pick(pr, preambleWords)
		}
		f.preamble = makePreamble(w)
		f.preCount = b.tok.Count(f.preamble)
	}
	if spec.Canaries {
		h := r.intn(len(canaryWords))
		t := (h + 1 + r.intn(len(canaryWords)-1)) % len(canaryWords)
		f.can = &Canaries{Head: canaryWords[h], Tail: canaryWords[t]}
		f.head = headCanaryLead + f.can.Head + ".\n\n"
		f.tail = tailCanaryLead + f.can.Tail + ".\n\n"
		f.headCount, f.tailCount = b.tok.Count(f.head), b.tok.Count(f.tail)
	}
	return f
}

// ask sets the frame's question.
func (f *frame) ask(tok *Tokenizer, question string) {
	f.question, f.qCount = question, tok.Count(question)
}

// count is the frame's tokens.
func (f *frame) count() int { return f.preCount + f.headCount + f.tailCount + f.qCount }

// lead is the frame's tokens before the haystack: preamble and head canary.
func (f *frame) lead() int { return f.preCount + f.headCount }

// attempt is one try at assembling a Case: its spec and what build drew for
// it. info, when not nil, is filled in for tests. (The case's random source
// travels beside it, not in it: anything an attempt points to escapes to
// the heap with its id's error messages.)
type attempt struct {
	spec  Spec
	id    string
	nd    needles
	frame frame
	info  *buildInfo
}

// errRetry marks a failure that fresh needle values may avoid.
var errRetry = errors.New("a needle value occurs in the haystack text")

// assemble makes the Case of one attempt: it sizes the haystack, lays the
// needles into it, and joins the parts into a prompt of exactly the spec's
// length. retry is true when fresh needle values may succeed where these
// failed. r is the case's random source.
func (b *Builder) assemble(ctx context.Context, at *attempt, r *rng) (c Case, retry bool, err error) {
	budget, needleSum, err := b.hayBudget(at)
	if err != nil {
		return Case{}, false, err
	}
	h, err := b.store.ensure(ctx, startSpread+budget+tailMargin)
	if err != nil {
		return Case{}, false, err
	}
	lay, err := b.layOut(&h, at, r, budget, needleSum)
	if err != nil {
		return Case{}, false, err
	}
	if lay.clashes(&h, at.nd.values, at.frame.can) {
		return Case{}, true, errRetry
	}
	user, err := b.join(&h, lay.parts(&h, &at.frame), at)
	if err != nil {
		return Case{}, false, err
	}
	if at.info != nil {
		lay.describe(&h, at.info)
	}
	needleIndex := lay.needleIndex(&h, b.sysCount+at.frame.lead())
	return b.newCase(at, user, needleIndex, lay.actualDepth(&h)), false, nil
}

// hayBudget is the haystack's share of the prompt (its length less the
// system prompt, the frame and the needles counted inline) and the needles'
// inline count. A length too short to leave minHay tokens of haystack is
// refused with the length the task needs.
func (b *Builder) hayBudget(at *attempt) (budget, needleSum int, err error) {
	for _, s := range at.nd.stmts {
		needleSum += b.tok.Count(" " + s.text)
	}
	fixed := b.sysCount + at.frame.count()
	budget = at.spec.Length - fixed - needleSum
	if budget < minHay {
		need := fixed + needleSum + minHay
		min := (need + 31) / 32 * 32
		return 0, 0, fmt.Errorf("%w: %s needs at least %d tokens with these options (its system prompt, question, needles and markers take %d), not %d: use a longer length",
			ErrTooShort, describeTask(at.spec, len(at.nd.stmts)), min, fixed+needleSum, at.spec.Length)
	}
	return budget, needleSum, nil
}

// layout is where a Case's haystack starts and ends and where its needles
// go.
type layout struct {
	// a and e are the cuts the haystack starts and ends at; closing is the
	// partial sentence after e that makes the count exact.
	a, e         int
	closing      string
	closingCount int
	// hayTokens is the haystack's count, closing sentence included.
	hayTokens int
	// groups are the needle groups by position (a cut, or endPos), order
	// their positions in increasing order, mainPos the main needle's.
	groups  map[int]*group
	order   []int
	mainPos int
}

// layOut picks where the haystack starts, fits its end to the budget and
// places the needles, then corrects for the needles' real counts (a
// paragraph-style group may count differently from the inline estimate); a
// few rounds settle it.
func (b *Builder) layOut(h *hay, at *attempt, r *rng, budget, needleSum int) (layout, error) {
	lay := layout{a: b.chooseStart(r, h)}
	positionsDraw := r.next()
	for round := 0; ; round++ {
		if round == 6 {
			return layout{}, fmt.Errorf("case %s: could not settle the haystack length (internal error)", at.id)
		}
		var ok bool
		lay.e, lay.closing, lay.closingCount, ok = b.fitEnd(h, lay.a, budget)
		if !ok {
			return layout{}, fmt.Errorf("case %s: could not fit the haystack to %d tokens (internal error)", at.id, budget)
		}
		lay.hayTokens = budget
		lay.groups, lay.mainPos, lay.order = b.place(h, lay.a, lay.e, lay.hayTokens, at.spec.Depth, at.nd, newRNG(positionsDraw))
		placedSum := b.renderGroups(&lay)
		if placedSum == needleSum {
			return lay, nil
		}
		budget -= placedSum - needleSum
		needleSum = placedSum
		if budget < minHay {
			return layout{}, fmt.Errorf("%w: %s needs a longer length than %d", ErrTooShort, describeTask(at.spec, len(at.nd.stmts)), at.spec.Length)
		}
	}
}

// renderGroups writes the text of every needle group of a layout and
// returns their tokens.
func (b *Builder) renderGroups(lay *layout) int {
	sum := 0
	for _, k := range lay.order {
		g := lay.groups[k]
		g.text, g.count, g.mainOffset = b.groupText(g)
		sum += g.count
	}
	return sum
}

// clashes reports whether a needle or canary value occurs in the haystack
// text: values must occur only where they were put.
func (l *layout) clashes(h *hay, values []string, can *Canaries) bool {
	hayText := h.text[h.bChar[l.a]:h.bChar[l.e]]
	for _, v := range values {
		if containsWord(hayText, l.closing, v) {
			return true
		}
	}
	if can != nil {
		for _, v := range []string{can.Head, can.Tail} {
			if containsWord(hayText, l.closing, v) {
				return true
			}
		}
	}
	return false
}

// parts lists the user content in order: preamble, head canary, the
// haystack with the needle groups between its pieces, the closing sentence,
// the group at the end, the tail canary and the question.
func (l *layout) parts(h *hay, f *frame) []part {
	parts := make([]part, 0, 2*len(l.order)+8)
	add := func(text string, count int) {
		if text != "" {
			parts = append(parts, part{text: text, count: count})
		}
	}
	add(f.preamble, f.preCount)
	add(f.head, f.headCount)
	prev := l.a
	for _, k := range l.order {
		if k == endPos {
			continue
		}
		if k > prev {
			parts = append(parts, part{count: h.bTok[k] - h.bTok[prev], hay: true, k1: prev, k2: k})
			prev = k
		}
		add(l.groups[k].text, l.groups[k].count)
	}
	if l.e > prev {
		parts = append(parts, part{count: h.bTok[l.e] - h.bTok[prev], hay: true, k1: prev, k2: l.e})
	}
	add(l.closing, l.closingCount)
	if g, ok := l.groups[endPos]; ok {
		add(g.text, g.count)
	}
	add(f.tail, f.tailCount)
	add(f.question, f.qCount)
	return parts
}

// mainHay is the haystack tokens before the main needle.
func (l *layout) mainHay(h *hay) int {
	if l.mainPos == endPos {
		return l.hayTokens
	}
	return h.bTok[l.mainPos] - h.bTok[l.a]
}

// actualDepth is where the main needle landed, in percent of the haystack,
// to two decimals.
func (l *layout) actualDepth(h *hay) float64 {
	return math.Round(10000*float64(l.mainHay(h))/float64(l.hayTokens)) / 100
}

// needleIndex is the main needle's token index over all message contents
// in order, given before, the tokens ahead of the haystack (the system
// prompt, preamble and head canary): those, the needle groups placed before
// the main needle's, the haystack before it, and its offset inside its
// group.
func (l *layout) needleIndex(h *hay, before int) int {
	n := before
	for _, k := range l.order {
		if k == l.mainPos {
			break
		}
		n += l.groups[k].count
	}
	return n + l.mainHay(h) + l.groups[l.mainPos].mainOffset
}

// describe fills in what tests check beyond the Case.
func (l *layout) describe(h *hay, info *buildInfo) {
	info.hayTokens, info.mainHay = l.hayTokens, l.mainHay(h)
	info.candidates = info.candidates[:0]
	for k := l.a; k <= l.e; k++ {
		info.candidates = append(info.candidates, h.bTok[k]-h.bTok[l.a])
	}
	info.candidates = append(info.candidates, l.hayTokens)
}

// join writes the parts into the user content and proves its count: the
// seams between parts encode cleanly (or, should one not, a full recount
// agrees), the system prompt and parts add up to the spec's length, and,
// with Verify, a full recount says so too.
func (b *Builder) join(h *hay, parts []part, at *attempt) (string, error) {
	var sb strings.Builder
	total, size := 0, 0
	for _, p := range parts {
		size += len(p.bytes(h))
	}
	sb.Grow(size)
	for _, p := range parts {
		if p.hay {
			sb.Write(p.bytes(h))
		} else {
			sb.WriteString(p.text)
		}
		total += p.count
	}
	user := sb.String()
	if err := b.checkSeams(h, parts); err != nil {
		// Should not happen; prove the count the slow way instead.
		if n := b.tok.Count(user); n != total {
			return "", fmt.Errorf("case %s: %v (counted %d tokens, expected %d)", at.id, err, n, total)
		}
	}
	if n := b.sysCount + total; n != at.spec.Length {
		return "", fmt.Errorf("case %s: assembled %d tokens instead of %d (internal error)", at.id, n, at.spec.Length)
	}
	if b.verify {
		if n := b.sysCount + b.tok.Count(user); n != at.spec.Length {
			return "", fmt.Errorf("case %s: full recount gives %d tokens instead of %d (internal error)", at.id, n, at.spec.Length)
		}
	}
	return user, nil
}

// newCase is the Case of an attempt whose user content is exactly the
// spec's length.
func (b *Builder) newCase(at *attempt, user string, needleIndex int, actualDepth float64) Case {
	return Case{
		Schema:           CaseSchema,
		ID:               at.id,
		Task:             at.spec.Task,
		Length:           at.spec.Length,
		PromptTokens:     at.spec.Length,
		Encoding:         b.encoding,
		Depth:            at.spec.Depth,
		ActualDepth:      actualDepth,
		NeedleTokenIndex: needleIndex,
		Expected:         at.nd.expected,
		Canaries:         at.frame.can,
		Messages: []Message{
			{Role: "system", Content: SystemPrompt},
			{Role: "user", Content: user},
		},
		Sample:       at.spec.Sample,
		Seed:         b.seed,
		Haystack:     b.haystack,
		SharedPrefix: at.spec.SharedPrefix,
	}
}

// describeTask names a task and its needle count for messages.
func describeTask(spec Spec, n int) string {
	s := "task " + spec.Task
	if spec.Task != TaskSingle {
		s += fmt.Sprintf(" (%d needle sentences)", n)
	}
	if spec.Canaries {
		s += " with canaries"
	}
	return s
}

// containsWord reports whether v occurs in the haystack text or the closing
// sentence, as written or capitalised.
func containsWord(hayText []byte, tText, v string) bool {
	if strings.Contains(tText, v) || bytes.Contains(hayText, []byte(v)) {
		return true
	}
	c := capitalize(v)
	return c != v && (strings.Contains(tText, c) || bytes.Contains(hayText, []byte(c)))
}

// chooseStart picks the cut the haystack starts at: random within the first
// startSpread tokens, preferring paragraph starts.
func (b *Builder) chooseStart(r *rng, h *hay) int {
	kmax := h.cutAtOrBelow(startSpread)
	var paras []int
	for k := 0; k <= kmax; k++ {
		if h.text[h.bChar[k]] != ' ' {
			paras = append(paras, k)
		}
	}
	if len(paras) > 0 {
		return paras[r.intn(len(paras))]
	}
	return r.intn(kmax + 1)
}

// endPos is the position after the haystack's closing sentence.
const endPos = math.MaxInt

// group is the needle sentences inserted at one position.
type group struct {
	pos        int // cut index, or endPos
	para       bool
	stmts      []int
	nd         *needles
	text       string
	count      int
	mainOffset int // tokens before the main needle inside the group
}

// place decides where each needle goes: the main one at the candidate
// position nearest the requested depth, the others at random candidates.
// Candidates are the cuts a..e and the end. It returns the groups by
// position, the main position, and the positions in increasing order.
func (b *Builder) place(h *hay, a, e, hayTokens int, depth float64, nd needles, r *rng) (map[int]*group, int, []int) {
	ncand := e - a + 2
	posOf := func(i int) int { // candidate i -> position key
		if i == ncand-1 {
			return endPos
		}
		return a + i
	}
	hayAt := func(i int) int {
		if i == ncand-1 {
			return hayTokens
		}
		return h.bTok[a+i] - h.bTok[a]
	}
	target := depth / 100 * float64(hayTokens)
	// nearest candidate: binary search over the increasing hayAt.
	j := sort.Search(ncand, func(i int) bool { return float64(hayAt(i)) >= target })
	best := j
	if j >= ncand {
		best = ncand - 1
	} else if j > 0 && target-float64(hayAt(j-1)) <= float64(hayAt(j))-target {
		best = j - 1
	}

	cand := make([]int, len(nd.stmts))
	var ordered map[int][]int // order group -> stmt indexes
	for i, s := range nd.stmts {
		if s.main {
			cand[i] = best
			continue
		}
		if s.after {
			cand[i] = best + r.intn(ncand-best)
		} else {
			cand[i] = r.intn(ncand)
		}
		if s.order > 0 {
			if ordered == nil {
				ordered = map[int][]int{}
			}
			ordered[s.order] = append(ordered[s.order], i)
		}
	}
	// Chain hops of one order group read in order.
	for _, idx := range ordered {
		ps := make([]int, len(idx))
		for n, i := range idx {
			ps[n] = cand[i]
		}
		sort.Ints(ps)
		for n, i := range idx {
			cand[i] = ps[n]
		}
	}

	groups := map[int]*group{}
	var order []int
	for i := range nd.stmts {
		p := posOf(cand[i])
		g, ok := groups[p]
		if !ok {
			g = &group{pos: p, nd: &nd}
			switch {
			case p == endPos:
				g.para = true
			case p == e:
				g.para = false // the closing sentence follows, starting with a space
			default:
				g.para = h.text[h.bChar[p]] != ' '
			}
			groups[p] = g
			order = append(order, p)
		}
		g.stmts = append(g.stmts, i)
	}
	sort.Ints(order)
	return groups, posOf(best), order
}

// groupText renders a group: inline " S1. S2." or paragraph "S1. S2.\n\n".
func (b *Builder) groupText(g *group) (string, int, int) {
	var sb strings.Builder
	offset := 0
	for n, i := range g.stmts {
		s := g.nd.stmts[i]
		if s.main {
			if n > 0 {
				offset = b.tok.Count(sb.String())
			}
		}
		if n > 0 || !g.para {
			sb.WriteByte(' ')
		}
		sb.WriteString(s.text)
	}
	if g.para {
		sb.WriteString("\n\n")
	}
	text := sb.String()
	return text, b.tok.Count(text), offset
}

// fitEnd finds the end cut e >= a and a closing partial sentence T (starting
// with " " and a letter, ending with ".\n\n") such that the haystack from a
// to e plus T has exactly budget tokens. T is the start of a sentence that
// follows e (the next one where its words allow the exact count), or, as a
// last resort, "There and back again and back again ...".
func (b *Builder) fitEnd(h *hay, a, budget int) (int, string, int, bool) {
	eMax := h.cutAtOrBelow(h.bTok[a] + budget - 2)
	if eMax < a {
		eMax = a
	}
	for e, tries := eMax, 0; e >= a && tries < 4; e, tries = e-1, tries+1 {
		r := budget - (h.bTok[e] - h.bTok[a])
		for j := e; j < e+6 && j < len(h.bTok); j++ {
			if t, ok := b.prefixFit(h.words(j, r), r); ok {
				return e, t, r, true
			}
		}
	}
	for e := eMax; e >= a; e-- {
		r := budget - (h.bTok[e] - h.bTok[a])
		if r > 4*tailMargin {
			break
		}
		if t, ok := b.prefixFit(fillerWords(r), r); ok {
			return e, t, r, true
		}
	}
	return 0, "", 0, false
}

// fillerWords is the fallback closing text: "There and back again and back
// again ..." with at least n words.
func fillerWords(n int) []string {
	w := make([]string, 0, n+4)
	w = append(w, "There")
	for len(w) < n+4 {
		w = append(w, "and", "back", "again")
	}
	return w
}

// words returns the words of the haystack text from cut j on, enough for r
// tokens and a little more.
func (h *hay) words(j, r int) []string {
	k := j
	for k+1 < len(h.bTok) && h.bTok[k]-h.bTok[j] < r+8 {
		k++
	}
	end := len(h.text)
	if k > j {
		end = h.bChar[k]
	}
	return strings.Fields(string(h.text[h.bChar[j]:end]))
}

// wordCount is the token count of " " + w, cached: words separated by
// single spaces are separate pre-tokenizer pieces, so the count of a
// sentence prefix is the sum of its words' counts.
func (b *Builder) wordCount(w string) int {
	if v, ok := b.words.Load(w); ok {
		return v.(int)
	}
	n := b.tok.Count(" " + w)
	b.words.Store(w, n)
	return n
}

func trimEnd(w string) string {
	return strings.TrimRightFunc(w, func(c rune) bool { return !unicode.IsLetter(c) && !unicode.IsDigit(c) })
}

// prefixFit finds k such that " " + words[:k] (the last one's trailing
// punctuation trimmed) + ".\n\n" has exactly r tokens, and proves the count
// by encoding it.
func (b *Builder) prefixFit(words []string, r int) (string, bool) {
	if len(words) == 0 || r < 2 {
		return "", false
	}
	if c, _ := utf8.DecodeRuneInString(words[0]); !unicode.IsLetter(c) {
		return "", false
	}
	sum := 0
	for k := 1; k <= len(words) && sum < r; k++ {
		if last := trimEnd(words[k-1]); last != "" && sum+b.wordCount(last)+b.dotCount == r {
			var sb strings.Builder
			for _, w := range words[:k-1] {
				sb.WriteByte(' ')
				sb.WriteString(w)
			}
			sb.WriteByte(' ')
			sb.WriteString(last)
			sb.WriteString(".\n\n")
			t := sb.String()
			if b.tok.Count(t) == r {
				return t, true
			}
		}
		sum += b.wordCount(words[k-1])
	}
	return "", false
}

// checkSeams proves, by encoding only the sentences around each join, that
// the parts' counts add up: for every two neighbouring parts, the last
// sentence of the left and the first sentence of the right encode to as
// many tokens together as apart.
func (b *Builder) checkSeams(h *hay, parts []part) error {
	for i := 0; i+1 < len(parts); i++ {
		l, lc := parts[i].tail(h)
		r, rc := parts[i+1].head(h)
		if n := b.tok.Count(l + r); n != lc+rc {
			return fmt.Errorf("join %d is not clean: %q + %q", i, clip(l, 40, false), clip(r, 40, true))
		}
	}
	return nil
}

// bytes is the text of a part (a haystack part's bytes are the snapshot's).
func (p *part) bytes(h *hay) []byte {
	if p.hay {
		return h.text[h.bChar[p.k1]:h.bChar[p.k2]]
	}
	return []byte(p.text)
}

func (p *part) tail(h *hay) (string, int) {
	if !p.hay {
		return p.text, p.count
	}
	k := p.k2 - 1
	return string(h.text[h.bChar[k]:h.bChar[p.k2]]), h.bTok[p.k2] - h.bTok[k]
}

func (p *part) head(h *hay) (string, int) {
	if !p.hay {
		return p.text, p.count
	}
	k := p.k1 + 1
	return string(h.text[h.bChar[p.k1]:h.bChar[k]]), h.bTok[k] - h.bTok[p.k1]
}

func clip(s string, n int, head bool) string {
	if len(s) <= n {
		return s
	}
	if head {
		return s[:n] + "..."
	}
	return "..." + s[len(s)-n:]
}
