package endpoint

import (
	"unicode/utf8"
)

// The fast path of the stream decoders: a small JSON scanner that reads
// the few members the measurement needs straight from an event's bytes,
// without encoding/json's reflection and allocations (it was most of the
// client's time per chunk).
//
// It is a fast path only. It answers ok only for input it reads exactly as
// encoding/json would into the decoders' structs: a valid JSON object,
// known members of the expected types (or null) with ASCII keys spelled
// exactly (encoding/json also matches keys case-insensitively) and at
// most once, strings with no escapes it does not decode (surrogate pairs
// go the slow way) and valid UTF-8. Everything else (a syntax error
// anywhere, a number where a string belongs, deep nesting, a key that only
// folds to a known one) makes it answer !ok, and the decoder decodes the
// event with encoding/json as before, so correctness never depends on
// this file; chunkscan_test.go checks that both agree on random and
// hostile inputs.

// jsMaxDepth bounds the nesting the scanner follows before it gives up on
// the fast path.
const jsMaxDepth = 64

// jsScan reads one JSON text. Strings it returns alias the input or the
// scanner's scratch buffer and stay valid until the next reset.
type jsScan struct {
	b       []byte
	i       int
	scratch []byte
}

func (s *jsScan) reset(b []byte) {
	s.b, s.i, s.scratch = b, 0, s.scratch[:0]
}

// ws skips JSON whitespace.
func (s *jsScan) ws() {
	b, i := s.b, s.i
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	s.i = i
}

// peek returns the next byte after whitespace, or 0 at the end.
func (s *jsScan) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// end reports whether only whitespace is left.
func (s *jsScan) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// lit consumes the literal word (true, false, null).
func (s *jsScan) lit(word string) bool {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

// null consumes a null if one is next.
func (s *jsScan) null() bool {
	if s.peek() == 'n' {
		return s.lit("null")
	}
	return false
}

// jsPlain marks the bytes a string holds as they are: ASCII from space
// up, but the quote and the backslash.
var jsPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// skipString consumes a string (the opening quote is next), checking its
// escapes and that it has no control characters, as encoding/json's
// scanner does. It reports whether it was valid and whether it had any
// escape or byte above ASCII.
func (s *jsScan) skipString() (ok, plain bool) {
	b, i := s.b, s.i+1
	plain = true
	for {
		for i < len(b) && jsPlain[b[i]] {
			i++
		}
		if i >= len(b) {
			s.i = i
			return false, false
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return true, plain
		case c == '\\':
			plain = false
			if i+1 >= len(b) {
				return false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return false, false
				}
				for _, h := range b[i+2 : i+6] {
					if jsHex(h) < 0 {
						return false, false
					}
				}
				i += 6
			default:
				return false, false
			}
		case c < 0x20:
			return false, false
		default: // above ASCII
			plain = false
			i++
		}
	}
}

func jsHex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// str consumes a string and returns its value as encoding/json decodes
// it, or !ok when it is not a valid string or has something the fast path
// leaves to encoding/json (a surrogate escape, invalid UTF-8).
func (s *jsScan) str() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	start := s.i + 1
	ok, plain := s.skipString()
	if !ok {
		return nil, false
	}
	raw := s.b[start : s.i-1]
	if plain {
		return raw, true
	}
	return s.unescape(raw)
}

// unescape decodes the inside of a valid JSON string into the scratch
// buffer.
func (s *jsScan) unescape(raw []byte) ([]byte, bool) {
	at := len(s.scratch)
	out := s.scratch
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			if c >= utf8.RuneSelf {
				r, size := utf8.DecodeRune(raw[i:])
				if r == utf8.RuneError && size == 1 {
					return nil, false // encoding/json writes U+FFFD: the slow way
				}
				out = append(out, raw[i:i+size]...)
				i += size
				continue
			}
			out = append(out, c)
			i++
			continue
		}
		switch raw[i+1] {
		case '"', '\\', '/':
			out = append(out, raw[i+1])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := rune(jsHex(raw[i+2])<<12 | jsHex(raw[i+3])<<8 | jsHex(raw[i+4])<<4 | jsHex(raw[i+5]))
			if r >= 0xd800 && r < 0xe000 {
				return nil, false // a surrogate: the slow way
			}
			out = utf8.AppendRune(out, r)
			i += 6
			continue
		}
		i += 2
	}
	s.scratch = out
	return out[at:], true
}

// key consumes an object key and the colon after it. ok is false for a
// key with an escape or a byte above ASCII (encoding/json folds some of
// those onto ASCII names).
func (s *jsScan) key() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	start := s.i + 1
	ok, plain := s.skipString()
	if !ok || !plain {
		return nil, false
	}
	k := s.b[start : s.i-1]
	if s.peek() != ':' {
		return nil, false
	}
	s.i++
	return k, true
}

// jsKeyIs reports whether k is name; fold is set when k only matches name
// case-insensitively, which encoding/json accepts too (the fast path then
// gives up).
func jsKeyIs(k []byte, name string, fold *bool) bool {
	if len(k) != len(name) {
		return false
	}
	if string(k) == name {
		return true
	}
	for i := range k {
		a, b := k[i], name[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	*fold = true
	return false
}

// object consumes an object (the brace is next), calling member for each
// key with the scanner before its value; member must consume the value
// and report whether the fast path may go on.
func (s *jsScan) object(member func(k []byte) bool) bool {
	if s.peek() != '{' {
		return false
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return true
	}
	for {
		k, ok := s.key()
		if !ok || !member(k) {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

// array consumes an array (the bracket is next), calling elem for each
// element.
func (s *jsScan) array(elem func() bool) bool {
	if s.peek() != '[' {
		return false
	}
	s.i++
	if s.peek() == ']' {
		s.i++
		return true
	}
	for {
		if !elem() {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}

// skip consumes any valid JSON value.
func (s *jsScan) skip(depth int) bool {
	if depth > jsMaxDepth {
		return false
	}
	switch c := s.peek(); {
	case c == '"':
		ok, _ := s.skipString()
		return ok
	case c == '{':
		s.i++
		if s.peek() == '}' {
			s.i++
			return true
		}
		for {
			if s.peek() != '"' {
				return false
			}
			if ok, _ := s.skipString(); !ok {
				return false
			}
			if s.peek() != ':' {
				return false
			}
			s.i++
			if !s.skip(depth + 1) {
				return false
			}
			switch s.peek() {
			case ',':
				s.i++
			case '}':
				s.i++
				return true
			default:
				return false
			}
		}
	case c == '[':
		s.i++
		if s.peek() == ']' {
			s.i++
			return true
		}
		for {
			if !s.skip(depth + 1) {
				return false
			}
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return true
			default:
				return false
			}
		}
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	return false
}

// number consumes a number of JSON's grammar.
func (s *jsScan) number() bool {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	s.i = i
	return true
}

// raw consumes any value and returns its bytes.
func (s *jsScan) raw() ([]byte, bool) {
	s.ws()
	start := s.i
	if !s.skip(0) {
		return nil, false
	}
	return s.b[start:s.i], true
}

// smallInt consumes a number that is a small whole number, as an int
// field takes it (a fraction or exponent fails there, and here).
func (s *jsScan) smallInt() (int, bool) {
	s.ws()
	b, i := s.b, s.i
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	d, n := i, 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' && i-d < 9 {
		n = n*10 + int(b[i]-'0')
		i++
	}
	if i == d || i < len(b) && (b[i] >= '0' && b[i] <= '9' || b[i] == '.' || b[i] == 'e' || b[i] == 'E') || b[d] == '0' && i-d > 1 {
		return 0, false
	}
	s.i = i
	if neg {
		n = -n
	}
	return n, true
}

// strOrNull consumes a string or null into *dst (null leaves it as is, as
// encoding/json does), failing when *seen says the key came before.
func (s *jsScan) strOrNull(dst *[]byte, seen *bool) bool {
	if *seen {
		return false
	}
	*seen = true
	if s.null() {
		return true
	}
	v, ok := s.str()
	*dst = v
	return ok
}

// usageField is one count member of a usage object the fast path reads.
type usageField struct {
	name string
	dst  *usageCount
	seen bool
}

// fastUsage reads a usage object whose members named in fields are plain
// counts (whole numbers from 0 to MaxUsageTokens, or null) and, if nested
// is not empty, whose member nested is null or an object of such counts
// (nestedFields; *nestedSeen is set when it is an object). Anything else
// (a string, a fraction, a key spelled otherwise) is false: decodeUsage
// then reads it with its lenient rules.
func fastUsage(raw []byte, fields []usageField, nested string, nestedFields []usageField, nestedSeen *bool) bool {
	var s jsScan
	s.reset(raw)
	seenNested := false
	ok := s.object(func(k []byte) bool {
		fold := false
		for i := range fields {
			if jsKeyIs(k, fields[i].name, &fold) {
				return s.count(&fields[i])
			}
		}
		if nested != "" && jsKeyIs(k, nested, &fold) {
			if seenNested {
				return false
			}
			seenNested = true
			if s.null() {
				return true
			}
			*nestedSeen = true
			return s.object(func(k []byte) bool {
				fold := false
				for i := range nestedFields {
					if jsKeyIs(k, nestedFields[i].name, &fold) {
						return s.count(&nestedFields[i])
					}
				}
				return !fold && s.skip(3)
			})
		}
		return !fold && s.skip(2)
	})
	return ok && s.end()
}

// count reads one count member's value into f (at most once).
func (s *jsScan) count(f *usageField) bool {
	if f.seen {
		return false
	}
	f.seen = true
	if s.null() {
		*f.dst = usageCount{}
		return true
	}
	s.ws()
	b, i := s.b, s.i
	n := int64(0)
	for i < len(b) && b[i] >= '0' && b[i] <= '9' && i-s.i < 11 {
		n = n*10 + int64(b[i]-'0')
		i++
	}
	if i == s.i || i-s.i > 10 || b[s.i] == '0' && i-s.i > 1 || n > MaxUsageTokens ||
		i < len(b) && (b[i] >= '0' && b[i] <= '9' || b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		return false
	}
	s.i = i
	*f.dst = usageCount{n: n, present: true}
	return true
}
