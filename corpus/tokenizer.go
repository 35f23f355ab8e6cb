package corpus

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// DefaultEncoding is the tokenizer encoding used when none is named.
const DefaultEncoding = "cl100k_base"

// Encodings lists the encodings needlestorm ships offline.
var Encodings = []string{"cl100k_base", "o200k_base"}

// Tokenizer counts, encodes and decodes text with one BPE encoding. It is
// safe for concurrent use. Obtain one with GetTokenizer: building the tables
// costs about 0.1 s, so every caller shares one Tokenizer per encoding.
type Tokenizer struct {
	name string
	enc  *tiktoken.Tiktoken
	// fast is true for cl100k_base, whose ASCII pre-tokenizer is written out
	// in pretokenize.go: Encode splits ASCII text itself and looks each
	// piece's tokens up in pieces (read-only once stored), encoding only
	// pieces it has not seen. Other text goes through tiktoken.
	fast   bool
	pieces sync.Map // piece string -> []int
	size   atomic.Int64
	// preamble is the token counts of the preamble words, computed once
	// (see preambleCounts).
	preambleOnce sync.Once
	preamble     preambleTable
}

// maxCachedPieces bounds the piece cache; past it new pieces are encoded
// every time.
const maxCachedPieces = 200_000

type tokenizerSlot struct {
	once sync.Once
	tok  *Tokenizer
	err  error
}

// tokenizers is a fixed set of lazily built, immutable encoders: each is built
// at most once and never changes afterwards.
var tokenizers = func() map[string]*tokenizerSlot {
	m := make(map[string]*tokenizerSlot, len(Encodings))
	for _, e := range Encodings {
		m[e] = &tokenizerSlot{}
	}
	return m
}()

var offline sync.Once

// GetTokenizer returns the shared Tokenizer for an encoding ("" means
// DefaultEncoding). It never touches the network: the BPE files come from the
// embedded offline loader.
func GetTokenizer(encoding string) (*Tokenizer, error) {
	if encoding == "" {
		encoding = DefaultEncoding
	}
	slot, ok := tokenizers[encoding]
	if !ok {
		names := append([]string(nil), Encodings...)
		sort.Strings(names)
		return nil, fmt.Errorf("unknown encoding %q: use one of %s", encoding, strings.Join(names, ", "))
	}
	slot.once.Do(func() {
		offline.Do(func() { tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader()) })
		enc, err := tiktoken.GetEncoding(encoding)
		if err != nil {
			slot.err = fmt.Errorf("loading encoding %s: %w", encoding, err)
			return
		}
		slot.tok = &Tokenizer{name: encoding, enc: enc, fast: encoding == "cl100k_base"}
	})
	return slot.tok, slot.err
}

// Name is the encoding's name, such as "cl100k_base".
func (t *Tokenizer) Name() string { return t.name }

// Encode returns the tokens of text. Special-token markers in the text are
// treated as ordinary text, so user documents can never inject control tokens.
func (t *Tokenizer) Encode(text string) []int {
	if !t.fast || !isASCII(text) {
		return t.enc.EncodeOrdinary(text)
	}
	out := make([]int, 0, len(text)/4+1)
	for i := 0; i < len(text); {
		j := cl100kPiece(text, i)
		piece := text[i:j]
		if v, ok := t.pieces.Load(piece); ok {
			out = append(out, v.([]int)...)
		} else {
			toks := t.enc.EncodeOrdinary(piece)
			if t.size.Load() < maxCachedPieces {
				if _, loaded := t.pieces.LoadOrStore(strings.Clone(piece), toks); !loaded {
					t.size.Add(1)
				}
			}
			out = append(out, toks...)
		}
		i = j
	}
	return out
}

// Decode returns the text of tokens.
func (t *Tokenizer) Decode(tokens []int) string { return t.enc.Decode(tokens) }

// Count returns the number of tokens in text: len(Encode(text)), without
// building the token slice.
func (t *Tokenizer) Count(text string) int { return t.countPieces(text, len(text)+1) }

// countPieceLimit is the longest run of text CountBounded hands to the
// byte-pair encoder at once. BPE merging is quadratic in the length of one
// pre-token piece, and a run of text without whitespace is one piece: a
// server that streams 64 KB of letters costs seconds to Count. Cut into
// pieces of at most this many bytes, counting is linear.
const countPieceLimit = 64

// countSegment is how much text CountBounded encodes at once (cut at a
// whitespace boundary when there is one) between checks of its context.
const countSegment = 4 << 10

// countExact is how much of a text CountBounded counts token by token;
// past it the count is extrapolated.
const countExact = 32 << 10

// CountBounded counts the tokens of text (an answer from a server) in
// bounded time, stopping with ctx's error when ctx ends. It is for output
// token estimates, where Count's exactness is not needed and a server
// controls the text.
//
// The rule: every run of non-whitespace text longer than 64 bytes is cut
// into pieces of at most 64 bytes (at character boundaries), and the pieces
// are counted apart; a text is also cut before a whitespace about every
// 4 KiB. A cut can only split a token in two, so up to here the result is
// Count's or slightly more: at most one token more per 64 bytes of such
// runs, and for prose within a token per 4 KiB of Count. Only the first
// 32 KiB (about 8,000 tokens) are counted so; the tokens of the rest are
// estimated at the counted part's tokens per byte, rounded up. The time is
// thus at most that of 32 KiB of text plus a scan of the rest.
func (t *Tokenizer) CountBounded(ctx context.Context, text string) (int, error) {
	n, done := 0, 0
	for seg := 0; done < len(text); seg++ {
		if seg%16 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		if done >= countExact {
			rest := int64(len(text) - done)
			return n + int((int64(n)*rest+int64(done)-1)/int64(done)), nil
		}
		cut := done + countCut(text[done:])
		n += t.countShortRuns(text[done:cut])
		done = cut
	}
	return n, nil
}

// countCut returns where the first segment of text ends: at most
// countSegment bytes, before a whitespace byte when there is one past the
// first half, else at a character boundary; inside a run of non-whitespace
// longer than countPieceLimit it ends after countPieceLimit bytes of it.
func countCut(text string) int {
	run := 0
	lastSpace := -1
	for i := 0; i < len(text); i++ {
		c := text[i]
		if isSpace(c) {
			run = 0
			lastSpace = i
		} else if run++; run > countPieceLimit && utf8.RuneStart(c) {
			// The run is too long: end the segment before this byte.
			return i
		}
		if i >= countSegment && utf8.RuneStart(c) {
			if lastSpace > countSegment/2 {
				return lastSpace
			}
			return i
		}
	}
	return len(text)
}

// countShortRuns counts text in which no run of non-whitespace is much
// longer than countPieceLimit, without caching its pieces when it holds
// a run cut short (such pieces do not repeat).
func (t *Tokenizer) countShortRuns(text string) int { return t.countPieces(text, countPieceLimit/2) }

// countPieces counts text's tokens piece by piece through the piece cache,
// caching the pieces shorter than cacheBelow bytes.
func (t *Tokenizer) countPieces(text string, cacheBelow int) int {
	if !t.fast || !isASCII(text) {
		return len(t.enc.EncodeOrdinary(text))
	}
	n := 0
	for i := 0; i < len(text); {
		j := cl100kPiece(text, i)
		piece := text[i:j]
		if v, ok := t.pieces.Load(piece); ok {
			n += len(v.([]int))
		} else {
			toks := t.enc.EncodeOrdinary(piece)
			if len(piece) < cacheBelow && t.size.Load() < maxCachedPieces {
				if _, loaded := t.pieces.LoadOrStore(strings.Clone(piece), toks); !loaded {
					t.size.Add(1)
				}
			}
			n += len(toks)
		}
		i = j
	}
	return n
}
