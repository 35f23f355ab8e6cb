package probes

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/corpus"
)

func str(s string) *string         { return &s }
func num(f float64) *float64       { return &f }
func raw(s string) json.RawMessage { return json.RawMessage(s) }

func TestScoreMatcher(t *testing.T) {
	tests := []struct {
		name   string
		m      corpus.Matcher
		answer string
		pass   bool
		score  float64
	}{
		{"equals normalised", corpus.Matcher{Equals: str("Paris")}, "  paris. ", true, 1},
		{"equals is the whole answer", corpus.Matcher{Equals: str("Paris")}, "It is Paris.", false, 0},
		{"equals thousands", corpus.Matcher{Equals: str("1234567")}, "1,234,567", true, 1},
		{"equals empty answer", corpus.Matcher{Equals: str("x")}, "", false, 0},
		{"contains all", corpus.Matcher{Contains: []string{"Ada", "1815"}}, "Ada Lovelace, born 1815.", true, 1},
		{"contains all partial", corpus.Matcher{Contains: []string{"Ada", "1815", "London", "Byron"}}, "Ada, London", false, 0.5},
		{"contains whole words", corpus.Matcher{Contains: []string{"cat"}}, "category", false, 0},
		{"contains any", corpus.Matcher{Contains: []string{"yes", "correct"}, Match: "any"}, "That is correct", true, 1},
		{"contains any none", corpus.Matcher{Contains: []string{"yes", "correct"}, Match: "any"}, "no", false, 0},
		{"regex raw answer", corpus.Matcher{Regex: str(`^[A-Z]{3}-\d{4}$`)}, " ABC-1234\n", true, 1},
		{"regex case sensitive", corpus.Matcher{Regex: str(`^[A-Z]{3}-\d{4}$`)}, "abc-1234", false, 0},
		{"regex (?i)", corpus.Matcher{Regex: str(`(?i)^[A-Z]{3}-\d{4}$`)}, "abc-1234", true, 1},
		{"regex invalid never passes", corpus.Matcher{Regex: str(`(`)}, "(", false, 0},
		{"one_of right", corpus.Matcher{OneOf: []string{"positive", "negative", "neutral"}, Label: "positive"}, "Positive.", true, 1},
		{"one_of wrong", corpus.Matcher{OneOf: []string{"positive", "negative", "neutral"}, Label: "positive"}, "negative", false, 0},
		{"one_of hedging names two", corpus.Matcher{OneOf: []string{"positive", "negative"}, Label: "positive"}, "positive or negative", false, 0},
		{"one_of label inside a longer label", corpus.Matcher{OneOf: []string{"spam", "not spam"}, Label: "not spam"}, "Not spam.", true, 1},
		{"one_of shorter label alone", corpus.Matcher{OneOf: []string{"spam", "not spam"}, Label: "spam"}, "spam", true, 1},
		{"one_of none named", corpus.Matcher{OneOf: []string{"spam", "ham"}, Label: "spam"}, "unsure", false, 0},
		{"json whole", corpus.Matcher{JSON: map[string]json.RawMessage{"name": raw(`"Ada"`), "born": raw(`1815`)}}, `{"name":"ada","born":1815}`, true, 1},
		{"json fenced", corpus.Matcher{JSON: map[string]json.RawMessage{"name": raw(`"Ada"`)}}, "Here it is:\n```json\n{\"name\": \"Ada\"}\n```\nDone.", true, 1},
		{"json bare fence", corpus.Matcher{JSON: map[string]json.RawMessage{"name": raw(`"Ada"`)}}, "```\n{\"name\": \"Ada\"}\n```", true, 1},
		{"json embedded in prose", corpus.Matcher{JSON: map[string]json.RawMessage{"a": raw(`1`)}}, `The result is {"a": 1.0} as asked.`, true, 1},
		{"json nested path and index", corpus.Matcher{JSON: map[string]json.RawMessage{"order.items.1.sku": raw(`"B-2"`)}}, `{"order":{"items":[{"sku":"A-1"},{"sku":"b-2"}]}}`, true, 1},
		{"json key case", corpus.Matcher{JSON: map[string]json.RawMessage{"Name": raw(`"Ada"`)}}, `{"name":"Ada"}`, true, 1},
		{"json regex field", corpus.Matcher{JSON: map[string]json.RawMessage{"city": raw(`{"regex":"^Lon"}`)}}, `{"city":"London"}`, true, 1},
		{"json regex on number", corpus.Matcher{JSON: map[string]json.RawMessage{"zip": raw(`{"regex":"^\\d{5}$"}`)}}, `{"zip":12345}`, true, 1},
		{"json half right", corpus.Matcher{JSON: map[string]json.RawMessage{"a": raw(`1`), "b": raw(`2`)}}, `{"a":1,"b":3}`, false, 0.5},
		{"json missing field", corpus.Matcher{JSON: map[string]json.RawMessage{"a": raw(`1`)}}, `{"b":1}`, false, 0},
		{"json not json", corpus.Matcher{JSON: map[string]json.RawMessage{"a": raw(`1`)}}, `a is 1`, false, 0},
		{"json bool and null", corpus.Matcher{JSON: map[string]json.RawMessage{"ok": raw(`true`), "err": raw(`null`)}}, `{"ok":true,"err":null}`, true, 1},
		{"json bool is not string", corpus.Matcher{JSON: map[string]json.RawMessage{"ok": raw(`true`)}}, `{"ok":"true"}`, false, 0},
		{"json array value", corpus.Matcher{JSON: map[string]json.RawMessage{"tags": raw(`["a","B"]`)}}, `{"tags":["A","b"]}`, true, 1},
		{"json array length", corpus.Matcher{JSON: map[string]json.RawMessage{"tags": raw(`["a"]`)}}, `{"tags":["a","b"]}`, false, 0},
		{"json object subset", corpus.Matcher{JSON: map[string]json.RawMessage{"p": raw(`{"x":1}`)}}, `{"p":{"x":1,"y":2}}`, true, 1},
		{"json number as string", corpus.Matcher{JSON: map[string]json.RawMessage{"n": raw(`42`)}}, `{"n":"42"}`, true, 1},
		{"number last", corpus.Matcher{Number: num(42)}, "6 times 7 is 42.", true, 1},
		{"number last not first", corpus.Matcher{Number: num(6)}, "6 times 7 is 42.", false, 0},
		{"number tolerance", corpus.Matcher{Number: num(3.14159), Tolerance: 0.01}, "about 3.14", true, 1},
		{"number outside tolerance", corpus.Matcher{Number: num(3.14159), Tolerance: 0.001}, "about 3.14", false, 0},
		{"number thousands", corpus.Matcher{Number: num(1234567)}, "1,234,567 people", true, 1},
		{"number negative", corpus.Matcher{Number: num(-5)}, "It fell to -5 degrees", true, 1},
		{"number range is not negative", corpus.Matcher{Number: num(12)}, "pages 10-12", true, 1},
		{"number exponent", corpus.Matcher{Number: num(1500)}, "1.5e3", true, 1},
		{"number none", corpus.Matcher{Number: num(1)}, "one", false, 0},
		{"no kind", corpus.Matcher{}, "x", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ScoreMatcher(tt.m, tt.answer)
			if got.Pass != tt.pass || got.Score != tt.score {
				t.Errorf("ScoreMatcher(%q) = pass %v score %v, want pass %v score %v", tt.answer, got.Pass, got.Score, tt.pass, tt.score)
			}
		})
	}
}

func TestScoreMatchers(t *testing.T) {
	ms := []corpus.Matcher{{Contains: []string{"Ada"}}, {Number: num(1815)}}
	if got := ScoreMatchers(ms, "Ada, 1815"); got != (Match{Strict: true, Recall: 1, Any: true}) {
		t.Errorf("both pass: %+v", got)
	}
	if got := ScoreMatchers(ms, "Ada, 1816"); got != (Match{Recall: 0.5, Any: true}) {
		t.Errorf("one passes: %+v", got)
	}
	if got := ScoreMatchers(ms, " ... "); got != (Match{Null: true}) {
		t.Errorf("null: %+v", got)
	}
	if got := ScoreMatchers(nil, "anything"); got.Strict || got.Any {
		t.Errorf("no matchers passed: %+v", got)
	}
}

func TestExtractJSONPrefersWhole(t *testing.T) {
	v, ok := ExtractJSON(" [1, 2] ")
	if !ok || len(v.([]any)) != 2 {
		t.Fatalf("ExtractJSON = %v, %v", v, ok)
	}
	// The first fence that parses wins; a broken first fence is skipped.
	v, ok = ExtractJSON("```json\n{broken\n```\n```json\n{\"a\": 2}\n```")
	if !ok || jsonText(v.(map[string]any)["a"]) != "2" {
		t.Fatalf("second fence: %v, %v", v, ok)
	}
	if _, ok := ExtractJSON(strings.Repeat("{", 10000)); ok {
		t.Fatal("braces alone parsed as JSON")
	}
}

// FuzzJSONMatcher: whatever the answer, ExtractJSON and scoring never
// panic, a passing answer holds JSON, and any object embedded in a fence
// with prose around it is found and passes a matcher of its own fields.
func FuzzJSONMatcher(f *testing.F) {
	for _, s := range []string{`{"a":1}`, "```json\n{\"a\": \"x\"}\n```", `text {"a": [1,2]} more`, `{"a":`, "```", `[{"a":null}]`, `{"a":"ü,ß"}`, `{"a":1e400}`} {
		f.Add(s, "k", "v")
	}
	f.Fuzz(func(t *testing.T, answer, key, value string) {
		m := corpus.Matcher{JSON: map[string]json.RawMessage{"a": raw(`1`)}}
		r := ScoreMatcher(m, answer)
		if r.Pass {
			if _, ok := ExtractJSON(answer); !ok {
				t.Fatalf("passed %q without JSON", answer)
			}
		}
		if key == "" || strings.Contains(key, ".") || Normalize(value) == "" {
			return
		}
		obj, err := json.Marshal(map[string]string{key: value})
		if err != nil {
			return
		}
		want, _ := json.Marshal(value)
		own := corpus.Matcher{JSON: map[string]json.RawMessage{key: want}}
		fenced := "Sure.\n```json\n" + string(obj) + "\n```\nThat is all."
		if r := ScoreMatcher(own, fenced); !r.Pass {
			t.Fatalf("fenced object %s does not pass its own fields", obj)
		}
	})
}

// FuzzRegexMatcher: an invalid pattern never passes and never panics; a
// valid one passes exactly when Go's regexp matches the trimmed answer.
func FuzzRegexMatcher(f *testing.F) {
	for _, s := range [][2]string{{`^\d+$`, "123"}, {`(`, "("}, {`(?i)abc`, "ABC"}, {`a{2,3}`, "aaa"}, {`[`, ""}, {`\p{Greek}+`, "αβγ"}, {`x*`, ""}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, answer string) {
		m := corpus.Matcher{Regex: &pattern}
		r := ScoreMatcher(m, answer)
		re, err := regexp.Compile(pattern)
		want := err == nil && pattern != "" && re.MatchString(strings.TrimSpace(answer))
		if r.Pass != want {
			t.Fatalf("pattern %q answer %q: pass %v, want %v", pattern, answer, r.Pass, want)
		}
		if (m.Check() == nil) != (err == nil && pattern != "") {
			t.Fatalf("Check(%q) = %v, compile error %v", pattern, m.Check(), err)
		}
	})
}

func ExampleScoreMatchers() {
	ms := []corpus.Matcher{{OneOf: []string{"positive", "negative", "neutral"}, Label: "negative"}}
	fmt.Println(ScoreMatchers(ms, "Negative.").Strict, ScoreMatchers(ms, "neutral").Strict)
	// Output: true false
}
