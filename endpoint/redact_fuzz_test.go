package endpoint

import (
	"strings"
	"testing"
)

// fzKeyWindow returns the first window of n bytes of key found in s.
func fzKeyWindow(s, key string, n int) string {
	for i := 0; i+n <= len(key); i++ {
		if strings.Contains(s, key[i:i+n]) {
			return key[i : i+n]
		}
	}
	return ""
}

// FuzzRedactorAnyKeyAnyCut checks the redactor for any key (16 to 64
// characters of the alphabets keys use), any text around it and any cut:
// no window of redactWindow characters of the key survives Scrub, Line at
// any limit, ScrubBytes, or an error body quoted the way a failed request
// quotes it (scrubbed, then its message cut), of the whole text or of
// either side of a cut.
func FuzzRedactorAnyKeyAnyCut(f *testing.F) {
	f.Add("sk-canary-0123456789abcdef", strings.Repeat("Your request was not authorized. ", 18)+"Bearer ", " is invalid", 600, 577)
	f.Add("sk-ant-api03-AbCdEfGh_IjKlMnOp-QrStUv", `{"error":{"message":"Incorrect API key provided: `, `"}}`, 40, 30)
	f.Add("0123456789abcdef", "key=", "&x=1", 12, 8)
	f.Add("sk-proj-zzzzzzzzzzzzzzzz", "", "", 3, 0)
	f.Fuzz(func(t *testing.T, key, before, after string, limit, cut int) {
		key = strings.Map(func(r rune) rune {
			if r < 128 && (r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return r
			}
			return -1
		}, key)
		if len(key) < 16 || len(key) > 64 || len(before)+len(after) > 4096 || limit < 0 || limit > 8192 {
			t.Skip()
		}
		// The text around the key holds no window of it of its own (that
		// would be the key quoted, not a leak of it).
		if fzKeyWindow(before+"\x00"+after, key, redactWindow) != "" {
			t.Skip()
		}
		r := newRedactor(key, "Bearer "+key)
		text := before + key + after
		if cut < 0 {
			cut = -cut
		}
		cut %= len(text) + 1
		for _, in := range []string{text, text[:cut], text[cut:]} {
			outs := map[string]string{
				"Scrub":      r.Scrub(in),
				"Line":       r.Line(in, limit),
				"ScrubBytes": string(r.ScrubBytes([]byte(in))),
				"error body": r.Line(errorBodyMessage(r.ScrubBytes([]byte(in))), limit),
			}
			for name, out := range outs {
				if w := fzKeyWindow(out, key, redactWindow); w != "" {
					t.Fatalf("%s(%q) = %q keeps %q of the key %q", name, in, out, w, key)
				}
			}
		}
	})
}
