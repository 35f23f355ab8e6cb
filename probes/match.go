package probes

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Match is how an answer compares with the expected values.
type Match struct {
	// Strict is true when every expected value is present.
	Strict bool
	// Recall is the fraction of expected values present (RULER's
	// match-all); 0 when nothing was expected.
	Recall float64
	// Any is true when at least one expected value is present (RULER's
	// match-part).
	Any bool
	// Null is true when the answer holds no word at all.
	Null bool
}

// MatchAnswer compares answer with the expected values on normalised text
// (see Normalize). A value is present when its words occur in the answer as
// a run of whole words, so "12345" is not found inside "9123456" while
// "1,234,567" matches "1234567" and "Blue-Whale." matches "blue whale".
// Repeated expected values count once each time they are listed. With no
// expected values nothing can be matched: Strict and Any are false.
func MatchAnswer(expected []string, answer string) Match {
	na := Normalize(answer)
	m := Match{Null: na == ""}
	if len(expected) == 0 {
		return m
	}
	padded := " " + na + " "
	found := 0
	for _, e := range expected {
		if containsNormalized(padded, Normalize(e)) {
			found++
		}
	}
	m.Recall = float64(found) / float64(len(expected))
	m.Strict = found == len(expected)
	m.Any = found > 0
	return m
}

// Contains reports whether value occurs in answer as a run of whole words on
// normalised text. An empty value (after normalisation) is never contained.
func Contains(answer, value string) bool {
	return containsNormalized(" "+Normalize(answer)+" ", Normalize(value))
}

// containsNormalized looks for the normalised value nv, as whole words, in a
// normalised answer padded with one space on each side.
func containsNormalized(padded, nv string) bool {
	if nv == "" {
		return false
	}
	// Both sides are space-separated words, so a space on each side of
	// the value makes the search word-boundary aware.
	i := 0
	for {
		j := strings.Index(padded[i:], nv)
		if j < 0 {
			return false
		}
		start := i + j
		end := start + len(nv)
		if padded[start-1] == ' ' && padded[end] == ' ' {
			return true
		}
		i = start + 1
	}
}

// Normalize returns the words of s, lower-cased and joined by single spaces.
// A word is a run of letters and digits; everything else (punctuation,
// whitespace, symbols, markup) separates words. Thousands separators inside
// numbers are dropped first: a comma, apostrophe, underscore, no-break space
// or narrow no-break space between a digit and exactly three digits
// ("1,234,567", "1'234'567", "1 234 567") joins the groups.
func Normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	pendingSpace := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if pendingSpace && b.Len() > 0 {
				b.WriteByte(' ')
			}
			pendingSpace = false
			b.WriteRune(unicode.ToLower(r))
		case isGroupSeparator(r) && i > 0 && isDigitBefore(s, i) && threeDigitsAfter(s, i+size):
			// Thousands separator: drop it, keep the number whole.
		default:
			pendingSpace = true
		}
		i += size
	}
	return b.String()
}

func isGroupSeparator(r rune) bool {
	switch r {
	case ',', '\'', '_', '\u00a0', '\u202f', '\u2019':
		return true
	}
	return false
}

func isDigitBefore(s string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return r >= '0' && r <= '9'
}

// threeDigitsAfter reports whether s[i:] starts with exactly three ASCII
// digits not followed by a further digit.
func threeDigitsAfter(s string, i int) bool {
	if i+3 > len(s) {
		return false
	}
	for k := i; k < i+3; k++ {
		if s[k] < '0' || s[k] > '9' {
			return false
		}
	}
	return i+3 == len(s) || s[i+3] < '0' || s[i+3] > '9'
}
