package probes

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// numberPattern is one number as answers write it: an optional sign,
// digits with optional thousands groups (comma, apostrophe, underscore,
// space or no-break spaces between groups of three), an optional decimal
// part and exponent.
var numberPattern = regexp.MustCompile(`[-+−]?(?:\d{1,3}(?:[,'_ \x{00a0}\x{202f}]\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?`)

// LastNumber is the last number an answer gives (the convention of
// GSM8K-style scoring: the final figure of a worked answer), with
// thousands separators dropped. A sign counts only when no letter or
// digit comes right before it, so "pages 10-12" ends in 12, not -12.
func LastNumber(answer string) (float64, bool) {
	locs := numberPattern.FindAllStringIndex(answer, -1)
	for k := len(locs) - 1; k >= 0; k-- {
		start, end := locs[k][0], locs[k][1]
		text := answer[start:end]
		if r, size := utf8.DecodeRuneInString(text); r == '-' || r == '+' || r == '−' {
			if before, _ := utf8.DecodeLastRuneInString(answer[:start]); start > 0 && (unicode.IsLetter(before) || unicode.IsDigit(before)) {
				text = text[size:]
			}
		}
		text = strings.NewReplacer(",", "", "'", "", "_", "", " ", "", "\u00a0", "", "\u202f", "", "−", "-").Replace(text)
		f, err := strconv.ParseFloat(text, 64)
		if err == nil && !math.IsInf(f, 0) {
			return f, true
		}
	}
	return 0, false
}

// numberWithin reports whether the answer's last number is within tol of
// want (tol 0: equal up to a relative 1e-9).
func numberWithin(answer string, want, tol float64) bool {
	got, ok := LastNumber(answer)
	if !ok {
		return false
	}
	if tol <= 0 {
		tol = 1e-9 * math.Max(1, math.Abs(want))
	}
	return math.Abs(got-want) <= tol
}
