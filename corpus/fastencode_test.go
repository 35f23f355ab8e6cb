package corpus

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func testEncoder(t testing.TB) *Tokenizer {
	tok, err := GetTokenizer("cl100k_base")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// fastWords is n words of the shape prose haystacks have.
func fastWords(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "word%d ", i%50)
	}
	return b.String()
}

// TestFastEncodeMatchesTiktoken compares the fast encoder with tiktoken on
// random ASCII strings built from the characters that matter to the pattern.
func TestFastEncodeMatchesTiktoken(t *testing.T) {
	e := testEncoder(t)
	alphabet := []string{"'", "s", "S", "t", "re", "RE", "ve", "m", "ll", "LL", "d", "a", "Z", "x", "0", "12", "3456",
		" ", "  ", "\t", "\n", "\r\n", "\v", "\f", ".", ",", "!?", "-", "_", "\"", "(", "\x00", "\x1f", "\x7f", "word", " the"}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		var b strings.Builder
		for range r.IntN(30) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		s := b.String()
		if got, want := e.Encode(s), e.enc.EncodeOrdinary(s); !slices.Equal(got, want) {
			t.Fatalf("case %d %q: fast %v, tiktoken %v", i, s, got, want)
		}
	}
	for _, s := range []string{"", "naïve café", "The special magic number for happy-falcon is 1234567.\n\nWhat is it?", strings.Repeat(fastWords(200), 3)} {
		if got, want := e.Encode(s), e.enc.EncodeOrdinary(s); !slices.Equal(got, want) {
			t.Fatalf("%q: fast %v, tiktoken %v", s, got, want)
		}
	}
}

func FuzzFastEncode(f *testing.F) {
	e := testEncoder(f)
	for _, s := range []string{"it's 're 'LL", "a  b\n\n c", " ...\r\n", "123456 7", "\t\tx", "x \n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := e.Encode(s), e.enc.EncodeOrdinary(s); !slices.Equal(got, want) {
			t.Fatalf("%q: fast %v, tiktoken %v", s, got, want)
		}
	})
}

func BenchmarkEncodeProse(b *testing.B) {
	e := testEncoder(b)
	text := strings.Repeat("The quiet harbour town kept its old lighthouse, and 42 fishermen met there at dawn. ", 1000)
	b.SetBytes(int64(len(text)))
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			e.Encode(text)
		}
	})
	b.Run("tiktoken", func(b *testing.B) {
		for b.Loop() {
			e.enc.EncodeOrdinary(text)
		}
	})
}
