package corpus

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Haystack names.
const (
	HaystackProse = "prose"
	HaystackNoise = "noise"
	// HaystackDirPrefix starts a user folder haystack: "dir:PATH".
	HaystackDirPrefix = "dir:"
)

// DefaultHaystack is the haystack used when none is named.
const DefaultHaystack = HaystackProse

// NoiseText is the RULER-style noise haystack: these sentences, repeated.
const NoiseText = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."

// CheckHaystack returns an error saying what to write when name is not a
// haystack name. It does not look at the folder of a dir: haystack.
func CheckHaystack(name string) error {
	switch {
	case name == HaystackProse, name == HaystackNoise:
		return nil
	case strings.HasPrefix(name, HaystackDirPrefix):
		if strings.TrimPrefix(name, HaystackDirPrefix) == "" {
			return errors.New("haystack dir: needs a folder: write dir:PATH, for example dir:./docs")
		}
		return nil
	}
	return fmt.Errorf("unknown haystack %q: use prose, noise, or dir:PATH for a folder of your own .txt and .md files", name)
}

// source produces a haystack's text in chunks. Every chunk ends at a clean
// cut (see isCut) and the next chunk starts one. reuse >= 0 says the chunk is
// identical to an earlier chunk, whose tokenization is then reused.
type source interface {
	next() (text string, reuse int, err error)
}

// chunkBytes is the approximate size of a generated chunk.
const chunkBytes = 32 << 10

// proseSource generates prose forever.
type proseSource struct{ g *proseGen }

func (s *proseSource) next() (string, int, error) {
	var b strings.Builder
	for b.Len() < chunkBytes {
		b.WriteString(s.g.paragraph())
	}
	return b.String(), -1, nil
}

// repeatSource cycles through fixed chunks.
type repeatSource struct {
	chunks []string
	i      int
}

func (s *repeatSource) next() (string, int, error) {
	i := s.i
	s.i++
	if i < len(s.chunks) {
		return s.chunks[i], -1, nil
	}
	return s.chunks[i%len(s.chunks)], i % len(s.chunks), nil
}

func newNoiseSource() *repeatSource {
	unit := " " + NoiseText
	n := chunkBytes / len(unit)
	return &repeatSource{chunks: []string{strings.Repeat(unit, n)}}
}

// dirExts are the file name extensions read from a dir: haystack.
var dirExts = map[string]bool{".txt": true, ".md": true}

// readDir reads the .txt and .md files directly inside path, in name order,
// and returns their text joined by blank lines.
func readDir(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("haystack folder %s does not exist: give dir:PATH with an existing folder of .txt or .md files", path)
		}
		return "", fmt.Errorf("haystack folder %s cannot be read (%w): check the path and its permissions", path, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("haystack %s is a file, not a folder: give dir:PATH with the folder that holds your .txt or .md files", path)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return "", fmt.Errorf("haystack folder %s cannot be read (%w): check its permissions", path, err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() || e.Type()&fs.ModeSymlink != 0 {
			if dirExts[strings.ToLower(filepath.Ext(e.Name()))] {
				names = append(names, e.Name())
			}
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "", fmt.Errorf("haystack folder %s has no .txt or .md files: put some text files in it", path)
	}
	var b strings.Builder
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(path, n))
		if err != nil {
			return "", fmt.Errorf("haystack file %s cannot be read (%w): check its permissions or remove it from the folder", filepath.Join(path, n), err)
		}
		t := normalizeText(string(data))
		if t == "" {
			continue
		}
		b.WriteString(t)
		b.WriteString("\n\n")
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("haystack folder %s has only empty .txt or .md files: put some text in them", path)
	}
	return b.String(), nil
}

// normalizeText makes user text safe to tokenize and cut: valid UTF-8, "\n"
// line ends, no surrounding white space, and a first character that can
// follow a blank line without merging with it.
func normalizeText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.TrimSpace(s)
	for s != "" {
		r, n := utf8.DecodeRuneInString(s)
		if r != '/' && !unicode.IsSpace(r) {
			break
		}
		s = s[n:]
	}
	return s
}

// newDirSource splits a folder's text into chunks at paragraph starts.
func newDirSource(text string) *repeatSource {
	var chunks []string
	for len(text) > 0 {
		if len(text) <= 2*chunkBytes {
			chunks = append(chunks, text)
			break
		}
		cut := -1
		for p := chunkBytes; p < len(text); p++ {
			if text[p-1] == '\n' && isParaCut(text, p) {
				cut = p
				break
			}
		}
		if cut < 0 {
			chunks = append(chunks, text)
			break
		}
		chunks = append(chunks, text[:cut])
		text = text[cut:]
	}
	return &repeatSource{chunks: chunks}
}

// Clean cuts. A cut is a position in the text where the tokenizer's
// pre-tokenization (cl100k_base and o200k_base) always splits, whatever text
// is put before or after it, as long as that text follows the same rules:
//
//   - inline cut: before " X" where X is a letter and the character before
//     the space is not white space (a sentence end for sentence boundaries);
//     a piece can start at the space but none can run across it;
//   - paragraph cut: after '\n' and before a character that is neither white
//     space nor '/' (o200k_base glues "/" to a preceding newline run).
//
// Inserted text follows the same rules: it starts with " X" (or any non-space
// after a newline) and ends with a sentence end or with "\n\n". Token slices
// between cuts therefore concatenate to exactly the tokens of the joined text.

// isSentenceEnd reports whether the text before p ends a sentence: '.', '!'
// or '?', possibly followed by closing quotes or brackets.
func isSentenceEnd(text string, p int) bool {
	for k := 0; k < 3 && p > 0; k++ {
		r, n := utf8.DecodeLastRuneInString(text[:p])
		switch r {
		case '.', '!', '?':
			return true
		case '"', '\'', ')', ']', '\u201d', '\u2019':
			p -= n
		default:
			return false
		}
	}
	return false
}

// isInlineCut: text[p] == ' ', a letter follows, the character before is a
// sentence end.
func isInlineCut(text string, p int) bool {
	if p <= 0 || p+1 >= len(text) || text[p] != ' ' {
		return false
	}
	r, _ := utf8.DecodeRuneInString(text[p+1:])
	if !unicode.IsLetter(r) {
		return false
	}
	return isSentenceEnd(text, p)
}

// isSoftCut: like an inline cut but after any non-space character (a word
// boundary); used only where a text has no sentence boundary for long.
func isSoftCut(text string, p int) bool {
	if p <= 0 || p+1 >= len(text) || text[p] != ' ' {
		return false
	}
	r, _ := utf8.DecodeRuneInString(text[p+1:])
	if !unicode.IsLetter(r) {
		return false
	}
	l, _ := utf8.DecodeLastRuneInString(text[:p])
	return !unicode.IsSpace(l)
}

// isParaCut: text[p-1] == '\n' after a blank line or a sentence end, and
// text[p] may follow a newline without merging with it.
func isParaCut(text string, p int) bool {
	if p <= 0 || p >= len(text) || text[p-1] != '\n' {
		return false
	}
	r, _ := utf8.DecodeRuneInString(text[p:])
	if r == '/' || unicode.IsSpace(r) {
		return false
	}
	if p >= 2 && text[p-2] == '\n' {
		return true
	}
	return isSentenceEnd(text, p-1)
}

// maxSoftGap is the longest stretch (bytes) without a cut before soft cuts
// are used.
const maxSoftGap = 1500

// findCuts returns the cut positions of a chunk (always including 0) in
// increasing order.
func findCuts(text string) []int {
	cuts := []int{0}
	last := 0
	for p := 1; p < len(text); p++ {
		c := text[p]
		if c != ' ' && text[p-1] != '\n' {
			continue
		}
		if isParaCut(text, p) || isInlineCut(text, p) || (p-last > maxSoftGap && isSoftCut(text, p)) {
			cuts = append(cuts, p)
			last = p
		}
	}
	return cuts
}

// hayStore is a haystack tokenized once: its text, and the cuts in both
// byte and token offsets. It grows on demand and is append-only, so readers
// may keep using a snapshot while it grows.
type hayStore struct {
	tok *Tokenizer

	mu     sync.Mutex
	src    source
	err    error
	text   []byte
	bChar  []int
	bTok   []int
	tokens int
	chunks []chunkInfo
	tokLen []int32 // byte length of each token id, 0 = not yet known
}

type chunkInfo struct {
	relChar []int
	relTok  []int
	bytes   int
	tokens  int
}

// hay is an immutable snapshot of a hayStore.
type hay struct {
	text   []byte
	bChar  []int // byte offset of cut k
	bTok   []int // token offset of cut k
	tokens int   // tokens in text; text ends at a cut
}

func newHayStore(tok *Tokenizer, src source) *hayStore {
	return &hayStore{tok: tok, src: src}
}

// ensure grows the store until it holds at least n tokens and returns a
// snapshot.
func (s *hayStore) ensure(ctx context.Context, n int) (hay, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.tokens < n && s.err == nil {
		if err := ctx.Err(); err != nil {
			return hay{}, err
		}
		s.err = s.grow()
	}
	h := hay{text: s.text, bChar: s.bChar, bTok: s.bTok, tokens: s.tokens}
	if s.tokens < n && s.err != nil {
		return h, s.err
	}
	return h, nil
}

// grow adds one chunk.
func (s *hayStore) grow() error {
	text, reuse, err := s.src.next()
	if err != nil {
		return err
	}
	var ci chunkInfo
	if reuse >= 0 && reuse < len(s.chunks) {
		ci = s.chunks[reuse]
	} else {
		ci = s.tokenizeChunk(text)
	}
	s.chunks = append(s.chunks, ci)
	if len(ci.relChar) == 0 || ci.tokens == 0 {
		return errors.New("haystack text has no usable content")
	}
	baseChar, baseTok := len(s.text), s.tokens
	s.text = append(s.text, text...)
	for i := range ci.relChar {
		s.bChar = append(s.bChar, baseChar+ci.relChar[i])
		s.bTok = append(s.bTok, baseTok+ci.relTok[i])
	}
	s.tokens += ci.tokens
	return nil
}

// tokenizeChunk encodes a chunk once and finds its cuts in token offsets.
func (s *hayStore) tokenizeChunk(text string) chunkInfo {
	toks := s.tok.Encode(text)
	cuts := findCuts(text)
	ci := chunkInfo{bytes: len(text), tokens: len(toks)}
	pos, ti := 0, 0
	for _, c := range cuts {
		for pos < c && ti < len(toks) {
			pos += s.byteLen(toks[ti])
			ti++
		}
		if pos == c {
			ci.relChar = append(ci.relChar, c)
			ci.relTok = append(ci.relTok, ti)
		}
	}
	return ci
}

// byteLen is the length in bytes of one token's text.
func (s *hayStore) byteLen(id int) int {
	if id < len(s.tokLen) && s.tokLen[id] != 0 {
		return int(s.tokLen[id])
	}
	n := len(s.tok.Decode([]int{id}))
	if id >= len(s.tokLen) {
		grown := make([]int32, id+1024)
		copy(grown, s.tokLen)
		s.tokLen = grown
	}
	s.tokLen[id] = int32(n)
	return n
}

// cutAtOrBelow returns the largest cut index k with bTok[k] <= t.
func (h *hay) cutAtOrBelow(t int) int {
	k := sort.SearchInts(h.bTok, t+1) - 1
	if k < 0 {
		k = 0
	}
	return k
}

// newSource makes the source of a haystack name.
func newSource(haystack string, seed int64) (source, error) {
	if err := CheckHaystack(haystack); err != nil {
		return nil, err
	}
	switch {
	case haystack == HaystackProse:
		return &proseSource{g: newProseGen(seedOf(seed, "prose"))}, nil
	case haystack == HaystackNoise:
		return newNoiseSource(), nil
	default:
		text, err := readDir(strings.TrimPrefix(haystack, HaystackDirPrefix))
		if err != nil {
			return nil, err
		}
		return newDirSource(text), nil
	}
}
