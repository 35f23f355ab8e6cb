package corpus

// The cl100k_base pre-tokenizer for ASCII text, written out by hand. tiktoken
// splits text into pieces with a regular expression (regexp2, slow) before
// byte-pair encoding each piece; for pure-ASCII text the same pieces can be
// found with a few byte tests, and the pieces of prose repeat, so their
// tokens can be cached. TestFastEncodeMatchesTiktoken and FuzzFastEncode check
// it against tiktoken.

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isSpace(c byte) bool  { return c == ' ' || c >= '\t' && c <= '\r' }
func isCRLF(c byte) bool   { return c == '\r' || c == '\n' }

// isOther is [^\s\p{L}\p{N}] for ASCII.
func isOther(c byte) bool { return !isSpace(c) && !isLetter(c) && !isDigit(c) }

// cl100kPiece returns the end of the pre-token piece of ASCII text starting
// at i, following cl100k_base's pattern alternative by alternative:
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//	 ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
func cl100kPiece(s string, i int) int {
	n := len(s)
	c := s[i]
	// (?i:'s|'t|'re|'ve|'m|'ll|'d)
	if c == '\'' && i+1 < n {
		switch c1 := s[i+1] | 0x20; {
		case c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd':
			if isLetter(s[i+1]) {
				return i + 2
			}
		case i+2 < n && isLetter(s[i+1]) && isLetter(s[i+2]):
			c2 := s[i+2] | 0x20
			if c1 == 'r' && c2 == 'e' || c1 == 'v' && c2 == 'e' || c1 == 'l' && c2 == 'l' {
				return i + 3
			}
		}
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	letters := func(j int) int {
		for j < n && isLetter(s[j]) {
			j++
		}
		return j
	}
	if isLetter(c) {
		return letters(i + 1)
	}
	if !isCRLF(c) && !isDigit(c) && i+1 < n && isLetter(s[i+1]) {
		return letters(i + 2)
	}
	// \p{N}{1,3}
	if isDigit(c) {
		j := i + 1
		for j < n && j < i+3 && isDigit(s[j]) {
			j++
		}
		return j
	}
	//  ?[^\s\p{L}\p{N}]+[\r\n]*
	j := i
	if c == ' ' {
		j++
	}
	if j < n && isOther(s[j]) {
		for j < n && isOther(s[j]) {
			j++
		}
		for j < n && isCRLF(s[j]) {
			j++
		}
		return j
	}
	// c is whitespace from here on.
	e := i
	lastNL := -1
	for e < n && isSpace(s[e]) {
		if isCRLF(s[e]) {
			lastNL = e
		}
		e++
	}
	switch {
	case lastNL >= 0: // \s*[\r\n]+
		return lastNL + 1
	case e == n: // \s+(?!\S) at the end
		return e
	case e-i >= 2: // \s+(?!\S) leaving one space for the next word
		return e - 1
	default: // \s+
		return e
	}
}
