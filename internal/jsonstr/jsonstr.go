package jsonstr

import (
	"strings"
	"unicode/utf8"
)

// Append appends s as a JSON string, quotes included, escaped exactly as
// encoding/json's Marshal escapes it.
func Append(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = AppendContent(dst, s)
	return append(dst, '"')
}

// AppendNoHTML is Append as an encoding/json Encoder with
// SetEscapeHTML(false) escapes: <, > and & are left as they are. (Each is
// one ASCII byte, never inside a character of several, so the text
// between them escapes as it would whole.)
func AppendNoHTML(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for {
		i := strings.IndexAny(s, "<>&")
		if i < 0 {
			break
		}
		dst = AppendContent(dst, s[:i])
		dst = append(dst, s[i])
		s = s[i+1:]
	}
	dst = AppendContent(dst, s)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// safe marks the bytes copied as they are: ASCII from space up but
// the quote, the backslash, < > and &.
var safe = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// AppendContent appends s escaped as the inside of a JSON string, without
// the quotes.
func AppendContent(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		// A run of bytes that need no look first: a prompt is mostly
		// plain ASCII.
		for i < len(s) && safe[s[i]] {
			i++
		}
		if i >= len(s) {
			break
		}
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}
