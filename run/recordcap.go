package run

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// maxWrittenLine bounds one line the RecordWriter writes: half the
// reader's maxRecordLine, so that what is written is always read back.
const maxWrittenLine = maxRecordLine / 2

// capErrorBytes bounds the Error of a record that had to be cut.
const capErrorBytes = 4 << 10

// capRecordLine encodes r as one JSON line of at most limit bytes,
// cutting what grows without bound: the answer (to a head of it, on a
// UTF-8 boundary), the chunk gaps (to the first ones) and the error
// message. What was cut is marked in the line: "answer_truncated" and
// "answer_bytes" (the answer's true size, unless the record already gives
// it), "chunk_gaps_truncated". When the record is too long even without
// its answer and gaps (another text of it is), every long string is cut,
// each marked "KEY_truncated" and "KEY_bytes" (so a "reasoning" field
// gets "reasoning_truncated" and "reasoning_bytes"). r itself is not
// changed.
func capRecordLine(r *Record, limit int) ([]byte, error) {
	c := *r
	c.Answer, c.ChunkGaps = "", nil
	if len(c.Error) > capErrorBytes {
		c.Error = cutUTF8(c.Error, capErrorBytes)
	}
	base, err := capEncode(&c)
	if err != nil {
		return nil, err
	}
	room := limit - len(base) - 128 // the marks
	if room < 0 {
		// Another field is too long (a field this writer does not know,
		// such as the reasoning): cut every long string.
		return capLongStrings(capMark(base, r, len(r.ChunkGaps) > 0, len(r.Answer) > 0), limit, r.Seq)
	}
	// A gap is at most about 24 bytes of JSON; the gaps get a quarter of
	// the room, the answer the rest.
	gaps := min(len(r.ChunkGaps), room/4/24)
	c.ChunkGaps = r.ChunkGaps[:gaps]
	n := len(r.Answer)
	for {
		c.Answer = cutUTF8(r.Answer, n)
		line, err := capEncode(&c)
		if err != nil {
			return nil, err
		}
		if len(line) <= limit-128 || n == 0 {
			return capMark(line, r, gaps < len(r.ChunkGaps), len(c.Answer) < len(r.Answer)), nil
		}
		// Escaping makes the answer longer than its bytes: shrink in
		// proportion to what is over, and at least by a sixteenth.
		scaled := int(float64(n) * float64(limit-128-len(base)) / float64(len(line)-len(base)) * 0.95)
		n = max(0, min(scaled, n-n/16-1))
	}
}

// capLongStrings cuts every string value of the JSON object line longer
// than capErrorBytes to that length, marking each KEY cut with
// "KEY_truncated" and "KEY_bytes" (its true size) unless the object
// already sets them.
func capLongStrings(line []byte, limit int, seq int64) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return nil, err
	}
	for k, raw := range m {
		if len(raw) <= capErrorBytes || raw[0] != '"' {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			continue
		}
		m[k] = capJSON(cutUTF8(s, capErrorBytes))
		if v, ok := m[k+"_truncated"]; !ok || string(v) == "false" {
			m[k+"_truncated"] = json.RawMessage("true")
		}
		if v, ok := m[k+"_bytes"]; !ok || string(v) == "0" {
			m[k+"_bytes"] = json.RawMessage(strconv.Itoa(len(s)))
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	if b.Len() > limit {
		return nil, fmt.Errorf("record %d is %d bytes long with every long text cut, over the %d-byte line limit", seq, b.Len(), limit)
	}
	return b.Bytes(), nil
}

// capJSON is s as a JSON string.
func capJSON(s string) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// capEncode is r as one JSON line, as the RecordWriter writes it.
func capEncode(r *Record) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// capMark adds the marks of what was cut at the start of the line's
// object, each unless the line already holds its key.
func capMark(line []byte, r *Record, gapsCut, answerCut bool) []byte {
	var marks []byte
	add := func(key, value string) {
		k := []byte(`"` + key + `":`)
		i := bytes.Index(line, k)
		if i < 0 {
			marks = append(marks, `"`+key+`":`+value+`,`...)
			return
		}
		// The record has the field at its zero value: set it.
		for _, zero := range []string{"false", "0"} {
			if v := line[i+len(k):]; bytes.HasPrefix(v, []byte(zero)) && len(v) > len(zero) && (v[len(zero)] == ',' || v[len(zero)] == '}') {
				line = append(line[:i+len(k):i+len(k)], append([]byte(value), v[len(zero):]...)...)
				return
			}
		}
	}
	if answerCut {
		add("answer_truncated", "true")
		add("answer_bytes", strconv.Itoa(len(r.Answer)))
	}
	if gapsCut {
		add("chunk_gaps_truncated", "true")
	}
	if len(marks) == 0 || len(line) == 0 || line[0] != '{' {
		return line
	}
	out := make([]byte, 0, len(line)+len(marks))
	out = append(out, '{')
	out = append(out, marks...)
	return append(out, line[1:]...)
}

// cutUTF8 is s cut to at most n bytes, not inside a UTF-8 sequence.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
