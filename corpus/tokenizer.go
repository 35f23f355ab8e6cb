package corpus

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

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

// Count returns the number of tokens in text.
func (t *Tokenizer) Count(text string) int { return len(t.Encode(text)) }
