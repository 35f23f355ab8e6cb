package corpus

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// preambleOf is the preamble line of a Case's user content.
func preambleOf(t testing.TB, c Case) string {
	t.Helper()
	u := userOf(c)
	i := strings.Index(u, preambleEnd)
	if !strings.HasPrefix(u, preambleLead) || i < 0 {
		t.Fatalf("%s: no preamble in %q", c.ID, clip(u, 80, true))
	}
	return u[:i+len(preambleEnd)]
}

// TestWithNonceExact: a re-nonced Case has a new preamble and otherwise the
// same prompt, the same exact token count (proved by recounting every
// message), the needle at the same token index, and every other field
// unchanged; the original is left alone.
func TestWithNonceExact(t *testing.T) {
	nonces := []uint64{0, 1, 2, 3, 7, 1 << 20, 1<<40 + 3, math.MaxUint64}
	tests := []struct {
		haystack, encoding string
		spec               Spec
	}{
		{HaystackProse, "cl100k_base", Spec{Task: TaskSingle, Length: 1000, Depth: 0}},
		{HaystackProse, "cl100k_base", Spec{Task: TaskSingle, Length: 3000, Depth: 50, Canaries: true}},
		{HaystackProse, "cl100k_base", Spec{Task: TaskMultiKey, Length: 2000, Depth: 100, Sample: 2, ValueKind: "uuid"}},
		{HaystackNoise, "cl100k_base", Spec{Task: TaskChain, Length: 1500, Depth: 30}},
		{HaystackProse, "o200k_base", Spec{Task: TaskMultiValue, Length: 2500, Depth: 75, Canaries: true}},
		{HaystackNoise, "o200k_base", Spec{Task: TaskMultiQuery, Length: 1200, Depth: 10, Sample: 1, ValueKind: "word"}},
		{HaystackProse, "cl100k_base", Spec{Task: TaskSingle, Length: 32000, Depth: 60}},
	}
	for _, tt := range tests {
		t.Run(tt.encoding+"/"+tt.haystack+"/"+tt.spec.ID(), func(t *testing.T) {
			b := testBuilder(t, tt.haystack, tt.encoding, 11)
			c, err := b.Build(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			orig := c
			orig.Messages = append([]Message(nil), c.Messages...)
			pre := preambleOf(t, c)
			seen := map[string]uint64{pre: math.MaxUint64 - 1}
			for _, n := range nonces {
				nc, err := c.WithNonce(n)
				if err != nil {
					t.Fatalf("nonce %d: %v", n, err)
				}
				if got := recount(t, nc); got != c.PromptTokens || got != tt.spec.Length {
					t.Fatalf("nonce %d: the prompt recounts to %d tokens, want %d", n, got, c.PromptTokens)
				}
				checkNeedleIndex(t, b.Tokenizer(), nc)
				np := preambleOf(t, nc)
				if m, dup := seen[np]; dup {
					t.Fatalf("nonces %d and %d give the same preamble %q", m, n, np)
				}
				seen[np] = n
				if userOf(nc)[len(np):] != userOf(c)[len(pre):] || nc.Messages[0] != c.Messages[0] {
					t.Fatalf("nonce %d changed more than the preamble", n)
				}
				same := nc
				same.Messages = c.Messages
				if !reflect.DeepEqual(same, c) {
					t.Fatalf("nonce %d changed a field besides the messages:\n%+v\n%+v", n, same, c)
				}
				again, err := c.WithNonce(n)
				if err != nil || !reflect.DeepEqual(again, nc) {
					t.Fatalf("nonce %d twice gave different Cases (%v)", n, err)
				}
			}
			if !reflect.DeepEqual(c, orig) {
				t.Fatal("WithNonce changed the original Case")
			}
		})
	}
}

// TestWithNonceDistinct: consecutive nonces give distinct preambles of the
// original's token count (the choice is a bijection of the nonce), and the
// choice depends on the Case.
func TestWithNonceDistinct(t *testing.T) {
	b := testBuilder(t, HaystackProse, DefaultEncoding, 5)
	tok := b.Tokenizer()
	n := 20000 / raceScale()
	var first []string
	for _, spec := range []Spec{{Task: TaskSingle, Length: 1000, Depth: 50}, {Task: TaskSingle, Length: 1000, Depth: 50, Sample: 1}} {
		c, err := b.Build(spec)
		if err != nil {
			t.Fatal(err)
		}
		nr, err := c.Noncer()
		if err != nil {
			t.Fatal(err)
		}
		if !nr.plan.proven {
			t.Fatalf("%s: the plan is not proven, so every choice is counted", c.ID)
		}
		old := c.Messages[nr.ui].Content[:nr.end]
		want := tok.Count(old)
		seen := make(map[string]bool, n)
		var got []string
		for i := range uint64(n) {
			pre, err := renonce(tok, nr.plan, nr.probe, i)
			if err != nil {
				t.Fatal(err)
			}
			if seen[pre] {
				t.Fatalf("%s: nonce %d repeats an earlier preamble %q", c.ID, i, pre)
			}
			// The proven plan does not count its choices: count them here.
			if tok.Count(pre) != want || !tok.joinsCleanly(pre, nr.probe, want, nr.plan.probeCount) {
				t.Fatalf("%s: nonce %d: %q has %d tokens (want %d) or does not join the text cleanly", c.ID, i, pre, tok.Count(pre), want)
			}
			seen[pre] = true
			if i < 10 {
				got = append(got, pre)
			}
		}
		if first == nil {
			first = got
		} else if reflect.DeepEqual(first, got) {
			t.Fatal("two Cases draw the same preambles for the same nonces")
		}
	}
}

// TestPreambleWordsAdditive: in both encodings every preamble word counts
// alone in both places, so plans are proven (renonce does not count its
// choices), and every pair of words, in every order, counts as the sum of
// its parts, as the proof says.
func TestPreambleWordsAdditive(t *testing.T) {
	for _, enc := range []string{"cl100k_base", "o200k_base"} {
		tok, err := GetTokenizer(enc)
		if err != nil {
			t.Fatal(err)
		}
		tab := tok.preambleCounts()
		if !tab.additive {
			t.Fatalf("%s: the preamble words are not additive", enc)
		}
		for i, a := range preambleWords {
			for j, b := range preambleWords {
				if got, want := tok.Count(makePreamble([]string{a, b, a})), tab.fixed+tab.counts[0][i]+tab.counts[1][j]+tab.counts[1][i]; got != want {
					t.Fatalf("%s: %q has %d tokens, the sum of its parts is %d", enc, makePreamble([]string{a, b, a}), got, want)
				}
			}
		}
	}
}

// TestWithNonceRefuses: Cases without a usable preamble give an error, which
// wraps ErrNoPreamble when there is simply none.
func TestWithNonceRefuses(t *testing.T) {
	user := func(s string) []Message {
		return []Message{{Role: "system", Content: SystemPrompt}, {Role: "user", Content: s}}
	}
	tests := []struct {
		name       string
		c          Case
		noPreamble bool
	}{
		{"shared prefix", Case{SharedPrefix: true, Messages: user("Archive reference a-b.\n\nText.")}, true},
		{"no messages", Case{}, true},
		{"no user message", Case{Messages: []Message{{Role: "system", Content: "Archive reference a-b.\n\nx"}}}, true},
		{"no lead", Case{Messages: user("Some text. Archive reference a-b.\n\n")}, true},
		{"no end", Case{Messages: user("Archive reference anchor-beacon and more text")}, true},
		{"digits", Case{Messages: user("Archive reference anchor-b3acon.\n\nText.")}, true},
		{"empty word", Case{Messages: user("Archive reference anchor--beacon.\n\nText.")}, true},
		{"too many words", Case{Messages: user("Archive reference " + strings.Repeat("a-", 11) + "a.\n\nText.")}, true},
		{"line break after", Case{Messages: user("Archive reference anchor-beacon.\n\n\nText.")}, false},
		{"unknown encoding", Case{Encoding: "p50k_base", Messages: user("Archive reference anchor-beacon.\n\nText.")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.WithNonce(1)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrNoPreamble) != tt.noPreamble {
				t.Fatalf("error %q: wraps ErrNoPreamble=%v, want %v", err, errors.Is(err, ErrNoPreamble), tt.noPreamble)
			}
		})
	}
	// A hand-made Case with a well-formed preamble works.
	c := Case{ID: "hand", Messages: user("Archive reference anchor-beacon.\n\nThe text.")}
	nc, err := c.WithNonce(3)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := GetTokenizer("")
	if a, b := tok.Count(userOf(nc)), tok.Count(userOf(c)); a != b || userOf(nc) == userOf(c) {
		t.Fatalf("hand-made Case: %q (%d tokens) from %q (%d tokens)", userOf(nc), a, userOf(c), b)
	}
}
