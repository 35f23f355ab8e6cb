package probes

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/needlestorm/needlestorm/corpus"
)

// maxJSONStarts bounds how many "{" or "[" positions ExtractJSON tries
// when the answer is not JSON as a whole, so a long answer full of braces
// costs little.
const maxJSONStarts = 32

// ExtractJSON finds the JSON value an answer gives, in this order: the
// whole answer (trimmed); the first ```json (or bare ```) fenced block
// that parses; the first value that decodes from a "{" or "[" in the
// answer (text after it ignored). Numbers are kept as json.Number. ok is
// false when there is none.
func ExtractJSON(answer string) (v any, ok bool) {
	s := strings.TrimSpace(answer)
	if v, ok := decodeWhole(s); ok {
		return v, true
	}
	rest := s
	for {
		i := strings.Index(rest, "```")
		if i < 0 {
			break
		}
		body := rest[i+3:]
		// The info string ("json", "JSON", nothing) runs to the line end.
		if nl := strings.IndexByte(body, '\n'); nl >= 0 && !strings.ContainsAny(body[:nl], "{[") {
			body = body[nl+1:]
		}
		end := strings.Index(body, "```")
		if end < 0 {
			end = len(body) // an unclosed fence: the answer was cut off
		}
		if v, ok := decodeWhole(strings.TrimSpace(body[:end])); ok {
			return v, true
		}
		if end == len(body) {
			break
		}
		rest = body[end+3:]
	}
	tries := 0
	for i := 0; i < len(s) && tries < maxJSONStarts; i++ {
		if s[i] != '{' && s[i] != '[' {
			continue
		}
		tries++
		d := json.NewDecoder(strings.NewReader(s[i:]))
		d.UseNumber()
		var v any
		if d.Decode(&v) == nil {
			return v, true
		}
	}
	return nil, false
}

// decodeWhole decodes s when it is exactly one JSON value.
func decodeWhole(s string) (any, bool) {
	if s == "" || !json.Valid([]byte(s)) {
		return nil, false
	}
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil, false
	}
	return v, true
}

// scoreJSON: the share of fields right, passing when all are.
func scoreJSON(fields map[string]json.RawMessage, answer string) (float64, bool) {
	if len(fields) == 0 {
		return 0, false
	}
	v, ok := ExtractJSON(answer)
	if !ok {
		return 0, false
	}
	right := 0
	for path, raw := range fields {
		got, ok := Lookup(v, path)
		if ok && fieldMatches(raw, got) {
			right++
		}
	}
	return float64(right) / float64(len(fields)), right == len(fields)
}

// Lookup follows a dot-separated path of object keys and array indices in
// a decoded JSON value. A key is looked up exactly, then ignoring case.
func Lookup(v any, path string) (any, bool) {
	for part := range strings.SplitSeq(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			next, ok := lookupKey(x, part)
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// lookupKey finds key in an object exactly, then ignoring case (the
// lexically first of several such keys, so the result does not depend on
// map order).
func lookupKey(obj map[string]any, key string) (any, bool) {
	if v, ok := obj[key]; ok {
		return v, true
	}
	best, found := "", false
	for k := range obj {
		if strings.EqualFold(k, key) && (!found || k < best) {
			best, found = k, true
		}
	}
	if !found {
		return nil, false
	}
	return obj[best], true
}

// fieldMatches compares a field's value with the expected raw JSON: a
// {"regex": ...} matches the field's text (see jsonText); anything else
// must be equal (see jsonEqual).
func fieldMatches(raw json.RawMessage, got any) bool {
	if pat, ok := corpus.FieldRegex(raw); ok {
		re, err := compileRegex(pat)
		return err == nil && re.MatchString(jsonText(got))
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var want any
	if d.Decode(&want) != nil {
		return false
	}
	return jsonEqual(want, got)
}

// jsonEqual: strings equal after Normalize (a number or boolean given as
// a string compares by its text); numbers equal within 1e-9 (a numeric
// string counts); booleans and null exactly; arrays element by element
// with the same length; objects when every expected key is present and
// equal (extra keys allowed).
func jsonEqual(want, got any) bool {
	switch w := want.(type) {
	case string:
		switch g := got.(type) {
		case string, json.Number, bool:
			return Normalize(w) == Normalize(jsonText(g))
		}
		return false
	case json.Number:
		wf, err := w.Float64()
		if err != nil {
			return false
		}
		var gf float64
		switch g := got.(type) {
		case json.Number:
			gf, err = g.Float64()
		case string:
			gf, err = strconv.ParseFloat(strings.TrimSpace(g), 64)
		default:
			return false
		}
		return err == nil && math.Abs(wf-gf) <= 1e-9*math.Max(1, math.Abs(wf))
	case bool:
		g, ok := got.(bool)
		return ok && g == w
	case nil:
		return got == nil
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !jsonEqual(w[i], g[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			gv, ok := lookupKey(g, k)
			if !ok || !jsonEqual(wv, gv) {
				return false
			}
		}
		return true
	}
	return false
}

// jsonText is a decoded value as text: a string as it is, a number as
// written, true/false/null, an object or array as compact JSON.
func jsonText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
