package corpus

import (
	"fmt"
	"sort"
	"strings"
	"sync"

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
}

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
		slot.tok = &Tokenizer{name: encoding, enc: enc}
	})
	return slot.tok, slot.err
}

// Name is the encoding's name, such as "cl100k_base".
func (t *Tokenizer) Name() string { return t.name }

// Encode returns the tokens of text. Special-token markers in the text are
// treated as ordinary text, so user documents can never inject control tokens.
func (t *Tokenizer) Encode(text string) []int { return t.enc.EncodeOrdinary(text) }

// Decode returns the text of tokens.
func (t *Tokenizer) Decode(tokens []int) string { return t.enc.Decode(tokens) }

// Count returns the number of tokens in text.
func (t *Tokenizer) Count(text string) int { return len(t.enc.EncodeOrdinary(text)) }
