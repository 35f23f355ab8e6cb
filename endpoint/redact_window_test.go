package endpoint

import (
	"strings"
	"testing"
)

// redactTestKey is a canary key for the redaction property tests.
const redactTestKey = "sk-test-Q7v2Lm9X4pK8rT3w"

func TestRedactPiecesOfAKey(t *testing.T) {
	r := newRedactor(redactTestKey, "Bearer "+redactTestKey)
	k := redactTestKey
	tests := []struct{ name, in, want string }{
		{"quoted in part, as OpenAI's 401 does", "Incorrect API key provided: " + k[:8] + "****" + k[len(k)-4:], "Incorrect API key provided: [REDACTED]****" + k[len(k)-4:]},
		{"twelve characters of the key", "key " + k[4:16] + " here", "key [REDACTED] here"},
		{"seven characters are not a window", "x " + k[5:12] + " y", "x " + k[5:12] + " y"},
		{"cut at the end", "Bearer " + k[:10], "Bearer [REDACTED]"},
		{"a short piece at the end", "auth failed for sk-t", "auth failed for [REDACTED]"},
		{"a piece at the start", k[len(k)-5:] + " was rejected", "[REDACTED] was rejected"},
		{"unrelated text", "nothing secret at all", "nothing secret at all"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Scrub(tt.in); got != tt.want {
				t.Errorf("Scrub(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestRedactLineCutsAfterScrubbing is defect 3 of the hardening issue: a
// 401 whose message quotes the key after 570 bytes of text, cut at 600
// bytes, must leave no piece of the key.
func TestRedactLineCutsAfterScrubbing(t *testing.T) {
	r := newRedactor(redactTestKey, "Bearer "+redactTestKey)
	msg := strings.Repeat("x", 570) + " Bearer " + redactTestKey + " is not valid"
	for limit := 560; limit <= 640; limit++ {
		got := r.Line(msg, limit)
		if w := redactTestWindow(got, redactTestKey, redactWindow); w != "" {
			t.Fatalf("cut at %d: %q survives in %q", limit, w, got)
		}
		if strings.Contains(got, redactTestKey[:redactPiece]) {
			t.Fatalf("cut at %d: a piece of the key survives in %q", limit, got[len(got)-40:])
		}
	}
}

// redactTestWindow returns a window of n characters of key found in s.
func redactTestWindow(s, key string, n int) string {
	for i := 0; i+n <= len(key); i++ {
		if strings.Contains(s, key[i:i+n]) {
			return key[i : i+n]
		}
	}
	return ""
}

// FuzzRedactor checks the redactor's property: for any text around the
// key, and any cut of the whole, no window of redactWindow characters of
// the key survives Scrub or Line.
func FuzzRedactor(f *testing.F) {
	f.Add("Incorrect API key: ", " end", 600, 0)
	f.Add(strings.Repeat("a", 570)+" Bearer ", "", 600, 3)
	f.Add("", "", 5, 10)
	f.Add("sk-te", "Q7v2", 40, 17)
	f.Fuzz(func(t *testing.T, before, after string, limit, cut int) {
		if len(before)+len(after) > 4096 || limit < 0 || limit > 8192 {
			t.Skip()
		}
		// The text around the key is arbitrary but holds no window of the
		// key of its own (which would be the key quoted, not a leak).
		if redactTestWindow(before+"\x00"+after, redactTestKey, redactWindow) != "" {
			t.Skip()
		}
		r := newRedactor(redactTestKey, "Bearer "+redactTestKey)
		text := before + redactTestKey + after
		if cut < 0 {
			cut = -cut
		}
		cut %= len(text) + 1
		for _, in := range []string{text, text[:cut], text[cut:]} {
			for name, out := range map[string]string{"Scrub": r.Scrub(in), "Line": r.Line(in, limit)} {
				if w := redactTestWindow(out, redactTestKey, redactWindow); w != "" {
					// A window can only come from the text around the key
					// joined with the key's own characters.
					t.Fatalf("%s(%q) = %q keeps %q of the key", name, in, out, w)
				}
			}
		}
	})
}
