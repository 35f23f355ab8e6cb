package termsafe

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNeutralise(t *testing.T) {
	tests := []struct {
		name, in, line, text string
	}{
		{"plain", "model gpt-4o", "model gpt-4o", "model gpt-4o"},
		{"clipboard write", "a\x1b]52;c;ZXZpbA==\x07b", `a\x1b]52;c;ZXZpbA==\x07b`, `a\x1b]52;c;ZXZpbA==\x07b`},
		{"clear screen and colour", "\x1b[2J\x1b[31mred\x1b[0m", `\x1b[2J\x1b[31mred\x1b[0m`, `\x1b[2J\x1b[31mred\x1b[0m`},
		{"C1 CSI as UTF-8", "x\u009b2Jy", `x\u009b2Jy`, `x\u009b2Jy`},
		{"C1 CSI as a raw byte", "x\x9b2Jy", `x\x9b2Jy`, `x\x9b2Jy`},
		{"bidi override", "abc\u202edcb", `abc\u202edcb`, `abc\u202edcb`},
		{"line breaks", "one\ntwo\tthree\r", `one\x0atwo\x09three\x0d`, "one\ntwo\tthree\\x0d"},
		{"DEL and NUL", "a\x7fb\x00", `a\x7fb\x00`, `a\x7fb\x00`},
		{"other scripts kept", "héllo 世界 🙂", "héllo 世界 🙂", "héllo 世界 🙂"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Line(tt.in); got != tt.line {
				t.Errorf("Line(%q) = %q, want %q", tt.in, got, tt.line)
			}
			if got := Text(tt.in); got != tt.text {
				t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.text)
			}
			if IsSafe(tt.in) != (tt.in == tt.text) {
				t.Errorf("IsSafe(%q) = %v", tt.in, IsSafe(tt.in))
			}
		})
	}
}

// hasUnsafe reports a byte or rune a terminal would act on.
func hasUnsafe(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return true
		}
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || unsafeRune(r) {
			return true
		}
		i += n
	}
	return false
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b]52;c;x\x07", "\u009b", "\x9b", "\xff\xfe", "a\u202eb", "\n\t\r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Text(s)
		if hasUnsafe(out) {
			t.Fatalf("Text(%q) = %q still holds a control", s, out)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("Text(%q) = %q is not UTF-8", s, out)
		}
		line := Line(s)
		if hasUnsafe(line) || strings.ContainsAny(line, "\n\t") {
			t.Fatalf("Line(%q) = %q holds a control or a line break", s, line)
		}
		if IsSafe(s) && out != s {
			t.Fatalf("IsSafe(%q) but Text changed it to %q", s, out)
		}
	})
}
