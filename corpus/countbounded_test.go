package corpus

import (
	"context"
	"errors"
	"math/rand"
	"strings"
	"testing"
)

// longWord is n bytes of letters without whitespace, the text that makes
// byte-pair merging quadratic.
func longWord(n int, nonASCII bool) string {
	r := rand.New(rand.NewSource(1))
	var b strings.Builder
	for b.Len() < n {
		if nonASCII && r.Intn(8) == 0 {
			b.WriteString("é")
			continue
		}
		b.WriteByte(byte('a' + r.Intn(26)))
	}
	return b.String()
}

// TestCountBoundedProse: on prose (words shorter than 64 bytes) the bounded
// count is Count's, or within one token per 4 KiB of it.
func TestCountBoundedProse(t *testing.T) {
	for _, enc := range Encodings {
		tok, err := GetTokenizer(enc)
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{
			"",
			"The answer is 42.",
			strings.Repeat("The quick brown fox jumps over the lazy dog. Ünïcödé wörds too.\n\n", 400),
		} {
			want := tok.Count(text)
			got, err := tok.CountBounded(context.Background(), text)
			if err != nil {
				t.Fatal(err)
			}
			if got < want || got > want+len(text)/(4<<10)+1 {
				t.Errorf("%s: CountBounded of %d bytes = %d, Count = %d", enc, len(text), got, want)
			}
		}
	}
}

// TestCountBoundedExtrapolates: past 32 KiB the count is extrapolated from
// the counted part; on uniform prose it stays within 2% of Count.
func TestCountBoundedExtrapolates(t *testing.T) {
	tok, err := GetTokenizer("")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("The quick brown fox jumps over the lazy dog, twice.\n", 3000)
	want := tok.Count(text)
	got, err := tok.CountBounded(context.Background(), text)
	if err != nil {
		t.Fatal(err)
	}
	if d := got - want; d < -want/50 || d > want/50 {
		t.Errorf("CountBounded of %d bytes = %d, Count = %d: more than 2%% apart", len(text), got, want)
	}
}

// TestCountBoundedLongWord: a whitespace-free run is counted as pieces of
// at most 64 bytes: a little above Count, never below, and never more than
// one token per byte.
func TestCountBoundedLongWord(t *testing.T) {
	for _, enc := range Encodings {
		tok, err := GetTokenizer(enc)
		if err != nil {
			t.Fatal(err)
		}
		for _, nonASCII := range []bool{false, true} {
			text := longWord(4000, nonASCII)
			want := tok.Count(text)
			got, err := tok.CountBounded(context.Background(), text)
			if err != nil {
				t.Fatal(err)
			}
			if got < want || got > want+len(text)/countPieceLimit+1 {
				t.Errorf("%s nonASCII=%v: CountBounded = %d, Count = %d (allowed up to %d)", enc, nonASCII, got, want, want+len(text)/countPieceLimit+1)
			}
		}
	}
}

// TestCountBoundedCanceled: a canceled context stops the count.
func TestCountBoundedCanceled(t *testing.T) {
	tok, err := GetTokenizer("")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tok.CountBounded(ctx, longWord(1<<20, false)); !errors.Is(err, context.Canceled) {
		t.Fatalf("CountBounded with a canceled context: err = %v, want context.Canceled", err)
	}
}

// BenchmarkCountBoundedLongWord counts a 1 MB whitespace-free answer (the
// hostile server's long-word case; Count takes minutes on it). Target: well
// under 50 ms per operation.
func BenchmarkCountBoundedLongWord(b *testing.B) {
	for _, enc := range Encodings {
		for _, nonASCII := range []bool{false, true} {
			name := enc + "/ascii"
			if nonASCII {
				name = enc + "/utf8"
			}
			b.Run(name, func(b *testing.B) {
				tok, err := GetTokenizer(enc)
				if err != nil {
					b.Fatal(err)
				}
				text := longWord(1<<20, nonASCII)
				b.SetBytes(int64(len(text)))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := tok.CountBounded(context.Background(), text); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
