package corpus

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Matcher kinds: the tests an answer to one of the user's own cases may have
// to pass. probes scores them (probes.ScoreMatchers); corpus only holds and
// checks them, so that a dataset is refused when one of its cases could not
// be passed by any answer.
const (
	MatchEquals   = "equals"
	MatchContains = "contains"
	MatchRegex    = "regex"
	MatchOneOf    = "one_of"
	MatchJSON     = "json"
	MatchNumber   = "number"
)

// MatcherKinds lists the matcher kinds in a stable order.
var MatcherKinds = []string{MatchEquals, MatchContains, MatchRegex, MatchOneOf, MatchJSON, MatchNumber}

// Contains modes.
const (
	ContainsAll = "all"
	ContainsAny = "any"
)

// Matcher is one test a correct answer passes, as written in a dataset's
// "expected" (one object, or a list of them: every one must pass). Exactly
// one kind's field is set:
//
//	{"equals": "Paris"}                                the whole answer, normalised
//	{"contains": ["Ada", "1815"]}                      every value, as whole words
//	{"contains": ["yes", "correct"], "match": "any"}   at least one of them
//	{"regex": "^[A-Z]{3}-\\d{4}$"}                     Go RE2 syntax, on the raw answer trimmed
//	{"one_of": ["positive", "negative"], "label": "positive"}
//	                                                   exactly one label named, and it is label
//	{"json": {"name": "Ada", "born": 1815, "city": {"regex": "^Lon"}}}
//	                                                   answer parses as JSON; fields equal or match
//	{"number": 42.5, "tolerance": 0.01}                the answer's last number, within tolerance
//
// Normalisation (probes.Normalize) is the needle tasks' own: case, white
// space and punctuation are ignored, and thousands separators inside
// numbers dropped. It applies to equals, contains, one_of and to the
// string fields of json; a regex sees the answer as given (trimmed of
// surrounding white space; write (?i) for case-insensitivity).
type Matcher struct {
	Equals   *string  `json:"equals,omitempty"`
	Contains []string `json:"contains,omitempty"`
	// Match is the contains mode: all (default) or any.
	Match string   `json:"match,omitempty"`
	Regex *string  `json:"regex,omitempty"`
	OneOf []string `json:"one_of,omitempty"`
	// Label is the right one of OneOf's labels.
	Label string `json:"label,omitempty"`
	// JSON maps a field path (dot-separated keys and array indices, such
	// as "order.items.0.sku") to the value it must equal, or to
	// {"regex": "..."} which its text must match.
	JSON   map[string]json.RawMessage `json:"json,omitempty"`
	Number *float64                   `json:"number,omitempty"`
	// Tolerance is the number matcher's absolute tolerance (default 0:
	// equal up to 1e-9).
	Tolerance float64 `json:"tolerance,omitempty"`
}

// Kind names the matcher's kind; "" when no kind's field is set.
func (m Matcher) Kind() string {
	switch {
	case m.Equals != nil:
		return MatchEquals
	case m.Contains != nil:
		return MatchContains
	case m.Regex != nil:
		return MatchRegex
	case m.OneOf != nil:
		return MatchOneOf
	case m.JSON != nil:
		return MatchJSON
	case m.Number != nil:
		return MatchNumber
	}
	return ""
}

// kinds lists every kind whose field is set.
func (m Matcher) kinds() []string {
	var ks []string
	for _, k := range []struct {
		name string
		set  bool
	}{
		{MatchEquals, m.Equals != nil}, {MatchContains, m.Contains != nil}, {MatchRegex, m.Regex != nil},
		{MatchOneOf, m.OneOf != nil}, {MatchJSON, m.JSON != nil}, {MatchNumber, m.Number != nil},
	} {
		if k.set {
			ks = append(ks, k.name)
		}
	}
	return ks
}

// JSONRegex is the form of a json matcher's field value that asks for a
// regular expression match rather than equality.
type JSONRegex struct {
	Regex string `json:"regex"`
}

// FieldRegex returns the pattern of a json field's expected value written
// {"regex": "..."}, and whether it is one.
func FieldRegex(raw json.RawMessage) (string, bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || len(obj) != 1 {
		return "", false
	}
	r, ok := obj["regex"]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(r, &s) != nil {
		return "", false
	}
	return s, true
}

// Check says what is wrong with a matcher that no answer could pass, or
// that is not one matcher: no kind or several kinds set, an empty value or
// list, an invalid regular expression, a one_of label that is not among the
// labels (or labels that normalise to the same words), a json matcher
// without fields or with an empty path, a negative or non-finite tolerance.
// The error names the field.
func (m Matcher) Check() error {
	ks := m.kinds()
	switch len(ks) {
	case 0:
		return errors.New("a matcher needs one of " + strings.Join(MatcherKinds, ", "))
	case 1:
	default:
		return fmt.Errorf("a matcher has one kind, not %s: write one object per matcher in a list", strings.Join(ks, " and "))
	}
	if m.Match != "" && m.Contains == nil {
		return errors.New(`match: only a contains matcher takes "match" (all or any)`)
	}
	if m.Label != "" && m.OneOf == nil {
		return errors.New(`label: only a one_of matcher takes "label"`)
	}
	if m.Tolerance != 0 && m.Number == nil {
		return errors.New(`tolerance: only a number matcher takes "tolerance"`)
	}
	switch ks[0] {
	case MatchEquals:
		if normWords(*m.Equals) == "" {
			return fmt.Errorf("equals: %q has no letter or digit, so no answer can equal it after normalisation", *m.Equals)
		}
	case MatchContains:
		if len(m.Contains) == 0 {
			return errors.New("contains: the list is empty: give at least one value")
		}
		for i, v := range m.Contains {
			if normWords(v) == "" {
				return fmt.Errorf("contains[%d]: %q has no letter or digit, so no answer contains it", i, v)
			}
		}
		if m.Match != "" && m.Match != ContainsAll && m.Match != ContainsAny {
			return fmt.Errorf("match: %q is not a contains mode: use all or any", m.Match)
		}
	case MatchRegex:
		if *m.Regex == "" {
			return errors.New("regex: the pattern is empty (it would pass every answer): give a pattern")
		}
		if _, err := regexp.Compile(*m.Regex); err != nil {
			return fmt.Errorf("regex: %v (Go RE2 syntax)", err)
		}
	case MatchOneOf:
		if len(m.OneOf) < 2 {
			return fmt.Errorf("one_of: %d label(s): a classification needs at least 2 labels", len(m.OneOf))
		}
		seen := map[string]int{}
		for i, l := range m.OneOf {
			n := normWords(l)
			if n == "" {
				return fmt.Errorf("one_of[%d]: %q has no letter or digit", i, l)
			}
			if j, dup := seen[n]; dup {
				return fmt.Errorf("one_of[%d]: %q is the same label as one_of[%d] after normalisation", i, l, j)
			}
			seen[n] = i
		}
		if m.Label == "" {
			return errors.New("label: a one_of matcher needs the right label")
		}
		if _, ok := seen[normWords(m.Label)]; !ok {
			return fmt.Errorf("label: %q is not one of the labels %q, so no answer can pass", m.Label, m.OneOf)
		}
	case MatchJSON:
		if len(m.JSON) == 0 {
			return errors.New("json: no fields: give at least one field path and its value")
		}
		for path, raw := range m.JSON {
			if path == "" || strings.HasPrefix(path, ".") || strings.HasSuffix(path, ".") || strings.Contains(path, "..") {
				return fmt.Errorf("json: field path %q: use keys and indices separated by single dots, such as order.items.0.sku", path)
			}
			if pat, ok := FieldRegex(raw); ok {
				if _, err := regexp.Compile(pat); err != nil {
					return fmt.Errorf("json.%s.regex: %v (Go RE2 syntax)", path, err)
				}
				continue
			}
			if !json.Valid(raw) {
				return fmt.Errorf("json.%s: not a JSON value", path)
			}
		}
	case MatchNumber:
		if math.IsNaN(*m.Number) || math.IsInf(*m.Number, 0) {
			return errors.New("number: must be a finite number")
		}
		if m.Tolerance < 0 || math.IsNaN(m.Tolerance) || math.IsInf(m.Tolerance, 0) {
			return fmt.Errorf("tolerance: %v: must be 0 or a positive finite number", m.Tolerance)
		}
	}
	return nil
}

// normWords is a light copy of probes.Normalize for Check's purposes: the
// lower-cased letter and digit runs of s joined by single spaces (probes
// imports corpus, not the other way round). It leaves thousands separators
// alone, which Check does not need.
func normWords(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		space = true
	}
	return b.String()
}

// CheckTogether refuses the matchers of one case when no answer can pass
// them all: with an equals matcher every passing answer normalises to its
// value, so another equals of a different value, a contains whose values
// that value lacks, or a one_of whose label it does not name alone can
// never pass with it. Matchers whose text holds a digit are left alone
// (thousands separators normalise apart from normWords), as are regex,
// json and number, which read the answer as given.
func CheckTogether(ms []Matcher) error {
	eq := -1
	for i, m := range ms {
		if m.Kind() == MatchEquals && !hasDigit(*m.Equals) {
			eq = i
			break
		}
	}
	if eq < 0 {
		return nil
	}
	e := *ms[eq].Equals
	ne := " " + normWords(e) + " "
	for i, m := range ms {
		if i == eq {
			continue
		}
		fail := false
		switch m.Kind() {
		case MatchEquals:
			fail = !hasDigit(*m.Equals) && normWords(*m.Equals) != normWords(e)
		case MatchContains:
			if slices.ContainsFunc(m.Contains, hasDigit) {
				continue
			}
			found := 0
			for _, v := range m.Contains {
				if strings.Contains(ne, " "+normWords(v)+" ") {
					found++
				}
			}
			fail = found == 0 || (m.Match != ContainsAny && found < len(m.Contains))
		case MatchOneOf:
			if slices.ContainsFunc(m.OneOf, hasDigit) {
				continue
			}
			fail = namedLabel(m.OneOf, ne) != normWords(m.Label)
		}
		if fail {
			return fmt.Errorf("matchers %d (equals %q) and %d (%s) contradict: an answer equal to %q cannot pass the other, and every matcher of a case must pass, so no answer can: fix one of them", eq, e, i, m.Kind(), e)
		}
	}
	return nil
}

// namedLabel is the one label the padded, normalised text names (a label
// inside a longer label named too does not count), or "" (probes.labelOf
// on text without digits).
func namedLabel(labels []string, padded string) string {
	var named []string
	for _, l := range labels {
		if nl := normWords(l); strings.Contains(padded, " "+nl+" ") {
			named = append(named, nl)
		}
	}
	var kept []string
	for _, n := range named {
		inside := false
		for _, o := range named {
			if o != n && len(o) > len(n) && strings.Contains(" "+o+" ", " "+n+" ") {
				inside = true
				break
			}
		}
		if !inside {
			kept = append(kept, n)
		}
	}
	if len(kept) != 1 {
		return ""
	}
	return kept[0]
}

func hasDigit(s string) bool { return strings.ContainsFunc(s, unicode.IsDigit) }
