package corpus

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The markers of the part of a dataset case that padding buries: in the
// case's last user message, the text between PadOpen and PadClose. The
// markers are never sent: a case's prompt as written has them removed.
const (
	PadOpen  = "<<<"
	PadClose = ">>>"
)

// DefaultPadDepths are the depths of a padding that names none: the middle
// of the haystack.
var DefaultPadDepths = []float64{0.5}

// Padding makes long-context versions of a dataset's cases: each case's
// content (its last user message, or only the part between <<< and >>>
// when it marks one) buried in a haystack at a depth, the whole prompt
// exactly PadTo client tokens. With a marked part, the text before <<<
// stays ahead of the haystack and the text after >>> (the instruction)
// after it.
type Padding struct {
	// PadTo are the prompt lengths in client tokens (system and user
	// contents, as the needle cases count them).
	PadTo []int
	// Depths are where the content goes, as fractions of the haystack
	// before it: 0 its start, 0.5 its middle, 1 its end (default 0.5).
	Depths []float64
}

// Enabled reports whether the padding makes any case.
func (p Padding) Enabled() bool { return len(p.PadTo) > 0 }

// depths are the padding's depths, defaulted.
func (p Padding) depths() []float64 {
	if len(p.Depths) == 0 {
		return DefaultPadDepths
	}
	return p.Depths
}

// Check refuses lengths and depths padding cannot make: a length that is
// not positive or above MaxLength, a depth outside 0 to 1, repeats, and
// depths without lengths.
func (p Padding) Check() error {
	if len(p.PadTo) == 0 && len(p.Depths) > 0 {
		return errors.New("pad depths without pad_to: give the lengths to pad to as well, such as [8k, 32k]")
	}
	for i, n := range p.PadTo {
		switch {
		case n <= 0:
			return fmt.Errorf("pad_to %d: give a positive number of tokens, such as 8k", n)
		case n > MaxLength:
			return fmt.Errorf("pad_to %d is more than the supported maximum of %d tokens", n, MaxLength)
		case slices.Contains(p.PadTo[:i], n):
			return fmt.Errorf("pad_to %s is given twice", FormatLength(n))
		}
	}
	for i, d := range p.Depths {
		if err := checkPadDepth(d); err != nil {
			return err
		}
		if slices.Contains(p.Depths[:i], d) {
			return fmt.Errorf("pad depth %v is given twice", d)
		}
	}
	return nil
}

func checkPadDepth(d float64) error {
	if math.IsNaN(d) || d < 0 || d > 1 {
		return fmt.Errorf("pad depth %v is outside 0 to 1: pad depths are fractions of the haystack ahead of the content (0 its start, 0.5 its middle, 1 its end)", d)
	}
	return nil
}

// ParsePadDepths parses a comma-separated list of pad depths, such as
// "0,0.5,1".
func ParsePadDepths(s string) ([]float64, error) {
	var out []float64
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || strings.ContainsAny(f, "xXpP_") {
			return nil, fmt.Errorf("pad depth %q is not a number: write fractions from 0 to 1, like 0,0.5,1", f)
		}
		if err := checkPadDepth(v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// PadID is the id of a case padded to length at depth (a fraction):
// "inv-001@8k-d50".
func PadID(id string, length int, depth float64) string {
	return id + "@" + FormatLength(length) + "-d" + strconv.FormatFloat(padPercent(depth), 'f', -1, 64)
}

// padPercent is a pad depth in percent, free of float noise (0.1 is 10,
// not 10.000000000000002).
func padPercent(depth float64) float64 { return math.Round(100*depth*1e6) / 1e6 }

// markedParts splits a message around its one <<< ... >>> pair; ok is
// false when it holds no such pair (no marker, or more than one of
// either).
func markedParts(content string) (lead, core, trail string, ok bool) {
	if strings.Count(content, PadOpen) != 1 || strings.Count(content, PadClose) != 1 {
		return "", content, "", false
	}
	i, j := strings.Index(content, PadOpen), strings.Index(content, PadClose)
	if j < i+len(PadOpen) {
		return "", content, "", false
	}
	return content[:i], content[i+len(PadOpen) : j], content[j+len(PadClose):], true
}

// unmarked is msgs with the markers of the last message removed, when it
// holds one pair; msgs itself is not changed.
func unmarked(msgs []Message) []Message {
	n := len(msgs)
	if n == 0 {
		return msgs
	}
	lead, core, trail, ok := markedParts(msgs[n-1].Content)
	if !ok {
		return msgs
	}
	out := slices.Clone(msgs)
	out[n-1].Content = lead + core + trail
	return out
}

// PadParts are what a padded prompt of the case is made of: the messages
// before its last, as sent; the text ahead of the haystack (lead) and
// after it (trail), each without the whitespace next to the haystack; and
// the part buried in it (core), trimmed: the marked part, or the whole
// last message.
func (c DatasetCase) PadParts() (before []Message, lead, core, trail string) {
	chat := c.Chat()
	raw := c.Prompt
	if len(c.Messages) > 0 {
		raw = c.Messages[len(c.Messages)-1].Content
	}
	lead, core, trail, _ = markedParts(raw)
	return chat[:len(chat)-1], strings.TrimRightFunc(lead, isSpaceRune), strings.TrimSpace(core), strings.TrimLeftFunc(trail, isSpaceRune)
}

func isSpaceRune(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
}

// checkPadMarkers refuses a last message whose markers are not one pair,
// or whose marked part is empty.
func (c DatasetCase) checkPadMarkers() error {
	raw := c.Prompt
	if len(c.Messages) > 0 {
		raw = c.Messages[len(c.Messages)-1].Content
	}
	_, core, _, ok := markedParts(raw)
	if !ok && (strings.Contains(raw, PadOpen) || strings.Contains(raw, PadClose)) {
		return fmt.Errorf("the last message holds %d %s and %d %s: mark the part to bury with one %s before it and one %s after it", strings.Count(raw, PadOpen), PadOpen, strings.Count(raw, PadClose), PadClose, PadOpen, PadClose)
	}
	if strings.TrimSpace(core) == "" {
		return fmt.Errorf("the part between %s and %s is empty", PadOpen, PadClose)
	}
	return nil
}

// BuildPadded is Build (see Dataset.Build) with, after the cases as
// written, every case padded to every length of p at every depth, in file
// order, made with b (its haystack, seed and encoding, which then count
// the cases' tokens). A padded case's ID is PadID's; its Length and
// PromptTokens are the pad length; Depth and ActualDepth say in percent
// where the content went, NeedleTokenIndex at which token it starts, and
// PadTo the pad length. Its matchers are the case's. A pad length shorter
// than a case is refused, naming the case and its line.
func (d *Dataset) BuildPadded(ctx context.Context, b *Builder, p Padding) ([]Case, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	out, err := d.Build(b.Encoding())
	if err != nil || !p.Enabled() {
		return out, err
	}
	if err := b.Prepare(ctx, slices.Max(p.PadTo)); err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, c := range out {
		ids[c.ID] = true
	}
	var errs []error
	for _, dc := range d.Cases {
		if err := dc.checkPadMarkers(); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: case %s: %w", d.Path, dc.Line, dc.ID, err))
			continue
		}
		for _, n := range p.PadTo {
			for _, depth := range p.depths() {
				c, err := b.PadCase(ctx, dc, n, depth)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s:%d: %w", d.Path, dc.Line, err))
					break
				}
				if ids[c.ID] {
					errs = append(errs, fmt.Errorf("%s:%d: case %s: the padded id %s is already a case's id: rename one", d.Path, dc.Line, dc.ID, c.ID))
					break
				}
				ids[c.ID] = true
				c.Haystack = b.Haystack()
				out = append(out, c)
			}
		}
		if len(errs) >= maxDatasetErrors {
			break
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// padGroup is the buried content as inserted at one kind of position.
type padGroup struct {
	text  string
	count int
}

// PadCase buries a dataset case's content in b's haystack at depth (a
// fraction, 0 to 1) so that the whole prompt is exactly length client
// tokens (see Dataset.BuildPadded). It reuses the needle builder's
// haystack, its start, end fitting, placement and seam proofs: the
// content goes at the haystack boundary nearest the depth, as a paragraph
// of its own.
func (b *Builder) PadCase(ctx context.Context, dc DatasetCase, length int, depth float64) (Case, error) {
	if err := checkPadDepth(depth); err != nil {
		return Case{}, err
	}
	if length <= 0 || length > MaxLength {
		return Case{}, fmt.Errorf("case %s: pad_to %d: use 1 to %d tokens", dc.ID, length, MaxLength)
	}
	id := PadID(dc.ID, length, depth)
	before, lead, core, trail := dc.PadParts()
	others := 0
	for _, m := range before {
		others += b.tok.Count(m.Content)
	}
	var leadPart, trailPart part
	if lead != "" {
		leadPart.text = lead + "\n\n"
		leadPart.count = b.tok.Count(leadPart.text)
	}
	if trail != "" {
		// after the haystack's closing ".\n\n", or the content's "\n\n"
		trailPart.text = trail
		trailPart.count = b.tok.Count(trailPart.text)
	}
	groups := map[string]padGroup{}
	groupOf := func(kind string) padGroup {
		if g, ok := groups[kind]; ok {
			return g
		}
		var g padGroup
		switch kind {
		case "para":
			g.text = core + "\n\n"
		case "inline":
			// " \n\n" keeps the newlines from joining the sentence end
			// before them into one piece.
			g.text = " \n\n" + core + "\n\n"
		case "end":
			g.text = core
			if trail != "" {
				g.text += "\n\n"
			}
		}
		g.count = b.tok.Count(g.text)
		groups[kind] = g
		return g
	}
	fixed := others + leadPart.count + trailPart.count
	est := groupOf("para").count
	budget := length - fixed - est
	if budget < minHay {
		need := fixed + est + minHay
		return Case{}, padShortError(fmt.Sprintf("case %s: pad_to %s is shorter than the case itself (%d tokens with its separators, and a haystack needs at least %d more): pad to at least %d tokens",
			dc.ID, FormatLength(length), fixed+est, minHay, (need+31)/32*32))
	}
	h, err := b.store.ensure(ctx, startSpread+budget+tailMargin)
	if err != nil {
		return Case{}, err
	}
	r := newRNG(seedOf(b.seed, "pad", dc.ID, length, depth))
	a := b.chooseStart(r, &h)
	pos, kind := -1, ""
	for range 8 {
		e, closing, closingCount, ok := b.fitEnd(&h, a, budget)
		if !ok {
			return Case{}, fmt.Errorf("case %s: could not fit the haystack to %d tokens (internal error)", id, budget)
		}
		if pos < 0 || pos != endPos && pos > e {
			// The position is chosen once: a later round's few tokens
			// more or less only move the haystack's end (else a
			// position between two kinds of boundary could flip).
			one := needles{stmts: []stmt{{main: true}}}
			var placed map[int]*group
			placed, pos, _ = b.place(&h, a, e, budget, 100*depth, one, r)
			switch {
			case pos == endPos:
				kind = "end"
			case pos != a && !placed[pos].para:
				kind = "inline"
			default:
				kind = "para"
			}
		}
		g := groupOf(kind)
		if g.count != est {
			budget -= g.count - est
			est = g.count
			if budget < minHay {
				return Case{}, padShortError(fmt.Sprintf("case %s: pad_to %s leaves no room for a haystack: use a longer length", dc.ID, FormatLength(length)))
			}
			continue
		}
		k := pos
		if pos == endPos {
			k = e
		}
		gp := part{text: g.text, count: g.count}
		var parts []part
		add := func(p part) {
			if p.hay || p.text != "" {
				parts = append(parts, p)
			}
		}
		add(leadPart)
		if k > a {
			add(part{count: h.bTok[k] - h.bTok[a], hay: true, k1: a, k2: k})
		}
		gi := -1
		if pos != endPos {
			gi = len(parts)
			add(gp)
		}
		if e > k {
			add(part{count: h.bTok[e] - h.bTok[k], hay: true, k1: k, k2: e})
		}
		add(part{text: closing, count: closingCount})
		if pos == endPos {
			gi = len(parts)
			add(gp)
		}
		add(trailPart)
		user, total := joinParts(&h, parts)
		clean := b.checkSeams(&h, parts) == nil
		if !clean {
			// A seam the content made unclean: count it the slow way.
			total = b.tok.Count(user)
		}
		if others+total != length {
			// Fit the haystack again to what the seams really count.
			budget += length - others - total
			if budget < minHay {
				return Case{}, padShortError(fmt.Sprintf("case %s: pad_to %s leaves no room for a haystack: use a longer length", dc.ID, FormatLength(length)))
			}
			continue
		}
		if b.verify {
			if n := others + b.tok.Count(user); n != length {
				return Case{}, fmt.Errorf("case %s: full recount gives %d tokens instead of %d (internal error)", id, n, length)
			}
		}
		hayBefore := budget
		if pos != endPos {
			hayBefore = h.bTok[k] - h.bTok[a]
		}
		index := others + b.contentIndex(&h, parts, gi, strings.Index(g.text, core))
		if !clean {
			at := 0
			for _, p := range parts[:gi] {
				at += len(p.bytes(&h))
			}
			index = others + b.tokenAt(user, at+strings.Index(g.text, core))
		}
		msgs := append(slices.Clone(before), Message{Role: "user", Content: user})
		return Case{
			Schema:           CaseSchema,
			ID:               id,
			Task:             TaskDataset,
			Length:           length,
			PromptTokens:     length,
			Encoding:         b.encoding,
			Depth:            padPercent(depth),
			ActualDepth:      math.Round(10000*float64(hayBefore)/float64(budget)) / 100,
			NeedleTokenIndex: index,
			Expected:         matcherValues(dc.Expected),
			Messages:         msgs,
			Seed:             b.seed,
			Haystack:         b.haystack,
			SharedPrefix:     true,
			TaskType:         dc.TaskType,
			Matchers:         slices.Clone(dc.Expected),
			MaxTokens:        dc.MaxTokens,
			PadTo:            length,
		}, nil
	}
	return Case{}, fmt.Errorf("case %s: could not settle the haystack around the content (internal error)", id)
}

// contentIndex is the index of the token holding the content's first
// byte, off bytes into part gi, over the parts' tokens: the tokens of
// the parts before, less the last sentence of the one just before, plus
// where the content starts in that sentence and the group encoded
// together (the content's first character may join the text before it
// into one token).
func (b *Builder) contentIndex(h *hay, parts []part, gi, off int) int {
	n := 0
	for _, p := range parts[:gi] {
		n += p.count
	}
	if gi == 0 {
		return b.tokenAt(parts[0].text, off)
	}
	tail, tc := parts[gi-1].tail(h)
	return n - tc + b.tokenAt(tail+parts[gi].text, len(tail)+off)
}

// tokenAt is the index of the token of text that holds its byte at.
func (b *Builder) tokenAt(text string, at int) int {
	n := 0
	for i, t := range b.tok.Encode(text) {
		n += len(b.tok.Decode([]int{t}))
		if n > at {
			return i
		}
	}
	return 0
}

// padShortError is a pad length too short for a case; it wraps
// ErrTooShort.
type padShortError string

func (e padShortError) Error() string { return string(e) }
func (e padShortError) Unwrap() error { return ErrTooShort }

// joinParts writes parts into one text and sums their counts.
func joinParts(h *hay, parts []part) (string, int) {
	var sb strings.Builder
	total, size := 0, 0
	for i := range parts {
		size += len(parts[i].bytes(h))
	}
	sb.Grow(size)
	for i := range parts {
		sb.Write(parts[i].bytes(h))
		total += parts[i].count
	}
	return sb.String(), total
}

// PaddedHolds reports whether a padded prompt's last user message holds
// the case's content as PadCase buries it: the lead at its start, the
// trail at its end, and the core at start, where it begins (0 or just
// after a newline).
func PaddedHolds(last string, start int, lead, core, trail string) bool {
	if lead != "" && !strings.HasPrefix(last, lead+"\n\n") {
		return false
	}
	if trail != "" && !strings.HasSuffix(last, "\n\n"+trail) {
		return false
	}
	return strings.HasPrefix(last[start:], core)
}
