package probes

import (
	"slices"
	"testing"
)

func TestAnswerValues(t *testing.T) {
	const uuid = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
	canaries := []string{"saffron", "juniper"}
	tests := []struct {
		name     string
		answer   string
		expected []string
		want     []string
	}{
		{"number, bare", "4815162", []string{"4815162"}, []string{"4815162"}},
		{"number, phrased and grouped", "The special magic number is 4,815,162.", []string{"4815162"}, []string{"4815162"}},
		{"number, canary sentence dropped or kept", "The opening passphrase is saffron. The number is 4815162. The closing passphrase is juniper.", []string{"4815162"}, []string{"4815162"}},
		{"number, wrong one", "I believe it is 1111111.", []string{"4815162"}, []string{"1111111"}},
		{"number, right plus a wrong one", "Either 4815162 or 99999.", []string{"4815162"}, []string{"4815162", "99999"}},
		{"number, short numbers are not candidates", "Paragraph 12 of 2024 says 4815162.", []string{"4815162"}, []string{"4815162"}},
		{"number, nothing", "I could not find it.", []string{"4815162"}, nil},
		{"empty", "", []string{"4815162"}, nil},
		{"uuid, upper case in prose", "The id is " + "1B4E28BA-2FA1-41D2-883F-0016D3CCA427" + ".", []string{uuid}, []string{"1b4e28ba 2fa1 41d2 883f 0016d3cca427"}},
		{"uuid, other uuid", "It is 00000000-1111-2222-3333-444444444444", []string{uuid}, []string{"00000000 1111 2222 3333 444444444444"}},
		{"word, found", "The word you want is Zeppelin, and the opening passphrase is saffron.", []string{"zeppelin"}, []string{"zeppelin"}},
		{"word, wrong and rephrased", "The special magic word is obsidian.", []string{"zeppelin"}, []string{"obsidian"}},
		{"word, wrong, canary only", "The opening passphrase is saffron.", []string{"zeppelin"}, nil},
		{"multivalue, partial", "Values: 1234567 and 7654321", []string{"1234567", "2345678"}, []string{"1234567", "7654321"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AnswerValues(tt.answer, tt.expected, canaries)
			if !slices.Equal(got, tt.want) {
				t.Errorf("AnswerValues(%q, %q) = %q, want %q", tt.answer, tt.expected, got, tt.want)
			}
		})
	}
}

func TestConsistencyOf(t *testing.T) {
	exp := []string{"4815162"}
	can := []string{"saffron"}
	answers := []CaseAnswer{
		// The same value worded three ways, with and without the canary,
		// agrees; a different value does not.
		{CaseID: "b", Answer: "The answer is 4815162.", Expected: exp, Canaries: can},
		{CaseID: "b", Answer: "4,815,162", Expected: exp, Canaries: can},
		{CaseID: "b", Answer: "The opening passphrase is saffron. The number is 4815162.", Expected: exp, Canaries: can},
		{CaseID: "b", Answer: "It is 1111111.", Expected: exp, Canaries: can},
		{CaseID: "a", Answer: "2222222", Expected: exp},
		{CaseID: "a", Answer: "3333333", Expected: exp},
		{CaseID: "c", Answer: "", Expected: exp},
	}
	want := []Consistency{
		{CaseID: "a", Answers: 2, Distinct: 2, Agreement: 0.5, Modal: "2222222"},
		{CaseID: "b", Answers: 4, Distinct: 2, Agreement: 0.75, Modal: "4815162"},
		{CaseID: "c", Answers: 1, Distinct: 1, Agreement: 1, Modal: ""},
	}
	got := ConsistencyOf(answers)
	if len(got) != len(want) {
		t.Fatalf("got %d cases, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("case %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}
