package corpus

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestMatcherCheck(t *testing.T) {
	s := func(v string) *string { return &v }
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name string
		m    Matcher
		want string // substring of the error; "" for none
	}{
		{"equals", Matcher{Equals: s("Paris")}, ""},
		{"none", Matcher{}, "needs one of"},
		{"two kinds", Matcher{Equals: s("a"), Regex: s("a")}, "equals and regex"},
		{"equals punctuation only", Matcher{Equals: s("?!")}, "no letter or digit"},
		{"contains empty", Matcher{Contains: []string{}}, "list is empty"},
		{"contains blank value", Matcher{Contains: []string{"a", " "}}, "contains[1]"},
		{"contains bad mode", Matcher{Contains: []string{"a"}, Match: "some"}, "use all or any"},
		{"match without contains", Matcher{Equals: s("a"), Match: "any"}, "match:"},
		{"regex invalid", Matcher{Regex: s("(")}, "regex:"},
		{"regex empty", Matcher{Regex: s("")}, "pattern is empty"},
		{"one_of empty", Matcher{OneOf: []string{}, Label: "a"}, "at least 2 labels"},
		{"one_of no label", Matcher{OneOf: []string{"a", "b"}}, "needs the right label"},
		{"one_of label not a label", Matcher{OneOf: []string{"a", "b"}, Label: "c"}, "not one of the labels"},
		{"one_of duplicate", Matcher{OneOf: []string{"Yes", "yes."}, Label: "yes"}, "one_of[1]"},
		{"one_of", Matcher{OneOf: []string{"spam", "not spam"}, Label: "Spam"}, ""},
		{"json empty", Matcher{JSON: map[string]json.RawMessage{}}, "no fields"},
		{"json bad path", Matcher{JSON: map[string]json.RawMessage{"a..b": json.RawMessage(`1`)}}, "field path"},
		{"json bad regex", Matcher{JSON: map[string]json.RawMessage{"a": json.RawMessage(`{"regex":"["}`)}}, "json.a.regex"},
		{"json", Matcher{JSON: map[string]json.RawMessage{"a.0": json.RawMessage(`{"x":1}`)}}, ""},
		{"number negative tolerance", Matcher{Number: f(1), Tolerance: -1}, "tolerance"},
		{"tolerance without number", Matcher{Equals: s("1"), Tolerance: 1}, "tolerance"},
		{"number", Matcher{Number: f(1), Tolerance: 0.5}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.m.Check()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Check() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Check() = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestCheckTogether: a case whose matchers no answer can pass together is
// refused; matchers an equals value satisfies, or that CheckTogether cannot
// judge (digits, regex, number), are kept.
func TestCheckTogether(t *testing.T) {
	s := func(v string) *string { return &v }
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name string
		ms   []Matcher
		bad  bool
	}{
		{"equals twice, different", []Matcher{{Equals: s("yes")}, {Equals: s("no")}}, true},
		{"equals twice, same after normalisation", []Matcher{{Equals: s("Yes.")}, {Equals: s("yes")}}, false},
		{"equals and contains it", []Matcher{{Equals: s("Ada Lovelace")}, {Contains: []string{"lovelace"}}}, false},
		{"equals lacks a contains value", []Matcher{{Equals: s("Ada Lovelace")}, {Contains: []string{"Ada", "Byron"}}}, true},
		{"equals has one of any", []Matcher{{Equals: s("Ada Lovelace")}, {Contains: []string{"Ada", "Byron"}, Match: ContainsAny}}, false},
		{"equals lacks every any value", []Matcher{{Contains: []string{"Byron", "Babbage"}, Match: ContainsAny}, {Equals: s("Ada")}}, true},
		{"equals names the label", []Matcher{{Equals: s("positive")}, {OneOf: []string{"positive", "negative"}, Label: "positive"}}, false},
		{"equals names another label", []Matcher{{Equals: s("negative")}, {OneOf: []string{"positive", "negative"}, Label: "positive"}}, true},
		{"equals names a longer label", []Matcher{{Equals: s("not spam")}, {OneOf: []string{"spam", "not spam"}, Label: "not spam"}}, false},
		{"digits are left alone", []Matcher{{Equals: s("1,250 EUR")}, {Contains: []string{"1250"}}}, false},
		{"regex is left alone", []Matcher{{Equals: s("yes")}, {Regex: s("^no$")}}, false},
		{"number is left alone", []Matcher{{Equals: s("five")}, {Number: f(5)}}, false},
		{"no equals", []Matcher{{Contains: []string{"a"}}, {OneOf: []string{"a", "b"}, Label: "b"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTogether(tt.ms)
			if (err != nil) != tt.bad {
				t.Fatalf("CheckTogether = %v, want an error: %v", err, tt.bad)
			}
			if err != nil && !strings.Contains(err.Error(), "contradict") {
				t.Fatalf("error %q does not say the matchers contradict", err)
			}
		})
	}
}
