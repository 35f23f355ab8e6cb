package endpoint

import "bytes"

// A server streams one answer as chunks that differ only in their text:
// vLLM, llama.cpp, Ollama, TGI and the simulator send, for every token,
//
//	{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" word"},"logprobs":null,"finish_reason":null}],"usage":null}
//
// with the same bytes before the text's opening quote and after its closing
// quote. chunkShape remembers those bytes from the last content chunk the
// fast path read in full; a chunk with the same bytes around a valid JSON
// string is read by comparing them and scanning the string alone.
//
// That is exact, not a guess: JSON's tokens are found left to right, and a
// string token ends at its first unescaped quote, so a chunk that is the
// remembered prefix, a valid string token ending exactly where the
// remembered suffix begins, and the suffix, has the remembered chunk's
// tokens with that one string replaced. Every member but the text then
// reads as it did (the id, from the same bytes of the prefix), and the text
// is the new string's value. A chunk that differs anywhere else (another
// id, a finish reason, a usage member, a second choice) does not match and
// is read in full, which also remembers it when it qualifies.

// chunkShape is the layout of one remembered content chunk.
type chunkShape struct {
	// prefix is the chunk up to and including the text's opening quote;
	// suffix from its closing quote on. Both are copies. Empty prefix: no
	// shape is remembered.
	prefix, suffix []byte
	// idFrom and idTo locate bytes equal to the chunk's id: offsets in
	// prefix, or (idAfter) offsets from the chunk's end into suffix, as
	// llama.cpp's server puts the id after the choices. idTo 0: no id.
	idFrom, idTo int
	idAfter      bool
	// usage is the chunk's usage member as it came: nil or null.
	usage []byte
}

// jsNull is the bytes of a null member.
var jsNull = []byte("null")

// shapeCandidate is what a full read of a chunk found out for chunkShape:
// the offsets of the text's string token (quotes included) and of bytes
// equal to the id, when the read saw them.
type shapeCandidate struct {
	textFrom, textTo int // [from, to) of the token; to 0: no string text
	idFrom, idTo     int // to 0: no id bytes
}

// learn remembers data, read in full as r, when its reading depends on its
// text's string alone: one choice, a text that is a string, no reasoning,
// finish reason or usage, and an id (if any) whose bytes were seen.
// Otherwise it forgets the shape it had.
func (sh *chunkShape) learn(data []byte, r *openaiRead, c *shapeCandidate) {
	sh.prefix = sh.prefix[:0]
	if c.textTo == 0 || r.choices != 1 || len(r.reasoning) > 0 || len(r.finish) > 0 || len(r.usage) > 0 && string(r.usage) != "null" {
		return
	}
	sh.idFrom, sh.idTo, sh.idAfter, sh.usage = 0, 0, false, nil
	switch {
	case len(r.id) == 0:
	case c.idTo == 0:
		return // an escaped id
	case c.idTo <= c.textFrom:
		sh.idFrom, sh.idTo = c.idFrom, c.idTo
	case c.idFrom >= c.textTo:
		sh.idFrom, sh.idTo, sh.idAfter = len(data)-c.idFrom, len(data)-c.idTo, true
	default:
		return
	}
	if r.usage != nil {
		sh.usage = jsNull
	}
	sh.prefix = append(sh.prefix, data[:c.textFrom+1]...)
	sh.suffix = append(sh.suffix[:0], data[c.textTo-1:]...)
}

// read reads data as the remembered shape: its id and text into r, and true;
// false when data does not have the shape (or its text needs the slow way),
// and r is untouched.
func (sh *chunkShape) read(s *jsScan, data []byte, r *openaiRead) bool {
	p, q := len(sh.prefix), len(sh.suffix)
	if p == 0 || len(data) < p+q || !bytes.HasPrefix(data, sh.prefix) || !bytes.HasSuffix(data, sh.suffix) {
		return false
	}
	s.reset(data)
	s.i = p - 1 // the opening quote
	ok, plain := s.skipString()
	if !ok || s.i != len(data)-q+1 {
		return false // the string ends elsewhere: not this shape
	}
	text := data[p : len(data)-q]
	if !plain {
		if text, ok = s.unescape(text); !ok {
			return false
		}
	}
	r.choices, r.content, r.usage = 1, text, sh.usage
	switch {
	case sh.idAfter:
		r.id = data[len(data)-sh.idFrom : len(data)-sh.idTo]
	case sh.idTo > 0:
		r.id = data[sh.idFrom:sh.idTo]
	}
	return true
}
