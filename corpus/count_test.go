package corpus

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestCountIsLenEncode: Count, which does not build the token slice, gives
// len(Encode) on random ASCII and non-ASCII text, for both encodings.
func TestCountIsLenEncode(t *testing.T) {
	alphabet := []string{"'s", "the", " ", "  ", "\n", "\r\n", "\t", ".", ",", "!?", "-", "12", "3456", "word", " Archive", "é", "日本", "\x00", "'LL"}
	r := rand.New(rand.NewPCG(11, 12))
	for _, enc := range Encodings {
		tok, err := GetTokenizer(enc)
		if err != nil {
			t.Fatal(err)
		}
		for range 2000 {
			var b strings.Builder
			for range r.IntN(40) {
				b.WriteString(alphabet[r.IntN(len(alphabet))])
			}
			s := b.String()
			if got, want := tok.Count(s), len(tok.Encode(s)); got != want {
				t.Fatalf("%s: Count(%q) = %d, len(Encode) = %d", enc, s, got, want)
			}
		}
	}
}
