package termsafe

import (
	"strings"
	"unicode/utf8"
)

// Line returns s safe to print on one line: line breaks and tabs are
// escaped too.
func Line(s string) string { return neutralise(s, false) }

// Text returns s safe to print as text of several lines: line feeds and
// tabs are kept, every other control is escaped.
func Text(s string) string { return neutralise(s, true) }

// IsControl reports whether r is a rune Text escapes: a C0 control other
// than line feed and tab, DEL, a C1 control or a bidirectional control.
func IsControl(r rune) bool {
	if r < utf8.RuneSelf {
		return isControlByte(byte(r), true)
	}
	return unsafeRune(r)
}

// IsSafe reports whether s holds nothing Text would escape.
func IsSafe(s string) bool { return clean(s, true) }

func neutralise(s string, keepLines bool) string {
	if clean(s, keepLines) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if isControlByte(c, keepLines) {
				writeEscape(&b, `\x`, uint32(c), 2)
			} else {
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			writeEscape(&b, `\x`, uint32(c), 2)
		case unsafeRune(r):
			writeEscape(&b, `\u`, uint32(r), 4)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// clean reports whether s needs no escaping.
func clean(s string, keepLines bool) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if isControlByte(c, keepLines) {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || unsafeRune(r) {
			return false
		}
		i += n
	}
	return true
}

func isControlByte(c byte, keepLines bool) bool {
	if keepLines && (c == '\n' || c == '\t') {
		return false
	}
	return c < 0x20 || c == 0x7f
}

// unsafeRune reports the non-ASCII runes a terminal acts on or that change
// how the text around them is shown.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1 controls
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f: // bidi marks
		return true
	case r >= 0x202a && r <= 0x202e: // bidi embeddings and overrides
		return true
	case r >= 0x2066 && r <= 0x2069: // bidi isolates
		return true
	}
	return false
}

func writeEscape(b *strings.Builder, prefix string, v uint32, digits int) {
	const hex = "0123456789abcdef"
	b.WriteString(prefix)
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b.WriteByte(hex[v>>uint(shift)&0xf])
	}
}
