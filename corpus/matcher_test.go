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
