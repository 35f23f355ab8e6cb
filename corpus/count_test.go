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

// TestJoinsCleanly: whenever joinsCleanly says a and b join cleanly,
// Count(a+b) is Count(a) + Count(b); and it does say so for a preamble
// before ordinary text.
func TestJoinsCleanly(t *testing.T) {
	alphabet := []string{"'s", "the", " ", "  ", "\n", "\n\n", "\r\n", "\t", ".", ".\n\n", ",", "-", "12", "3456", "word", "'", "é"}
	r := rand.New(rand.NewPCG(15, 16))
	tok, err := GetTokenizer("cl100k_base")
	if err != nil {
		t.Fatal(err)
	}
	clean := 0
	for range 20000 {
		var a, b strings.Builder
		for range r.IntN(8) {
			a.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		for range r.IntN(8) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		na, nb := tok.Count(a.String()), tok.Count(b.String())
		if tok.joinsCleanly(a.String(), b.String(), na, nb) {
			clean++
			if n := tok.Count(a.String() + b.String()); n != na+nb {
				t.Fatalf("%q + %q: said to join cleanly, but %d != %d + %d", a.String(), b.String(), n, na, nb)
			}
		}
	}
	if clean < 1000 {
		t.Errorf("only %d of 20000 joins were clean", clean)
	}
	pre := "Archive reference amber-cobalt-delta-ember-fjord.\n\n"
	if !tok.joinsCleanly(pre, "The harbour was quiet.", tok.Count(pre), tok.Count("The harbour was quiet.")) {
		t.Error("a preamble before text does not join cleanly")
	}
}
