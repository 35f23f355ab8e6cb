package probes

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/corpus"
)

// missPrompt is a needle prompt in the corpus phrasing: the asked key
// happy-falcon, a distractor key with its own value, and prose.
const missPrompt = "You are a careful reader.\nArchive reference. The river ran past the old mill at dawn. " +
	"One of the special magic numbers for happy-falcon is: 4829173. The town slept. " +
	"One of the special magic numbers for brave-otter is: 7311842. The market opened late.\n" +
	"Question: What is the special magic number for happy-falcon mentioned in the provided text?"

func TestClassifyMiss(t *testing.T) {
	uuidPrompt := "One of the special magic uuids for lucky-heron is: 0f8b5a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b. " +
		"One of the special magic uuids for shy-lynx is: 6a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d. The wind rose.\n"
	wordPrompt := "One of the special magic words for witty-newt is: lantern. One of the special magic words for zany-vole is: pebble. The harbour was quiet.\n"
	chainPrompt := "VAR ABCDE = 12345. VAR FGHIJ = VAR ABCDE. VAR KLMNO = 99999. The hills were green.\n"
	multiPrompt := "One of the special magic numbers for jolly-yak is: 1111111. One of the special magic numbers for jolly-yak is: 2222222. One of the special magic numbers for jolly-yak is: 3333333.\n"
	cases := []struct {
		name string
		f    MissFacts
		want Miss
	}{
		{"partial multivalue", MissFacts{Answer: "The numbers are 1111111 and 2222222.", Expected: []string{"1111111", "2222222", "3333333"}, Prompt: multiPrompt}, MissPartial},
		{"partial beats distractor", MissFacts{Answer: "1111111 and 7311842", Expected: []string{"1111111", "2222222"}, Distractors: []string{"7311842"}, Prompt: multiPrompt}, MissPartial},
		{"multiquery some keys not found", MissFacts{Answer: "The value for a is 1111111. I cannot find the value for b in the text.", Expected: []string{"1111111", "2222222"}, Prompt: multiPrompt}, MissPartial},
		{"distractor number", MissFacts{Answer: "The special magic number for happy-falcon is 7311842.", Expected: []string{"4829173"}, Distractors: []string{"7311842"}, Prompt: missPrompt}, MissDistractor},
		{"distractor with thousands separators", MissFacts{Answer: "7,311,842", Expected: []string{"4829173"}, Distractors: []string{"7311842"}, Prompt: missPrompt}, MissDistractor},
		{"distractor uuid", MissFacts{Answer: "6A1B2C3D-4E5F-4A6B-9C7D-8E9F0A1B2C3D", Expected: []string{"0f8b5a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"}, Distractors: []string{"6a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"}, Prompt: uuidPrompt}, MissDistractor},
		{"distractor word", MissFacts{Answer: "Pebble.", Expected: []string{"lantern"}, Distractors: []string{"pebble"}, Prompt: wordPrompt}, MissDistractor},
		{"distractor chain", MissFacts{Answer: "The number held by VAR FGHIJ is 99999.", Expected: []string{"12345"}, Distractors: []string{"99999"}, Prompt: chainPrompt}, MissDistractor},
		{"distractor beats not found", MissFacts{Answer: "I cannot find happy-falcon, but brave-otter is 7311842.", Expected: []string{"4829173"}, Distractors: []string{"7311842"}, Prompt: missPrompt}, MissDistractor},
		{"not found phrase", MissFacts{Answer: "I cannot find the value for happy-falcon in the text.", Expected: []string{"4829173"}, Distractors: []string{"7311842"}, Prompt: missPrompt}, MissNotFound},
		{"not mentioned", MissFacts{Answer: "The number is not mentioned.", Expected: []string{"4829173"}, Prompt: missPrompt}, MissNotFound},
		{"no information", MissFacts{Answer: "There is no information about that key.", Expected: []string{"4829173"}, Prompt: missPrompt}, MissNotFound},
		{"empty answer", MissFacts{Answer: "  ", Expected: []string{"4829173"}, Prompt: missPrompt}, MissNotFound},
		{"unknown", MissFacts{Answer: "Unknown.", Expected: []string{"4829173"}, Prompt: missPrompt}, MissNotFound},
		{"not found beats hallucinated", MissFacts{Answer: "I could not find it; maybe 5555555?", Expected: []string{"4829173"}, Prompt: missPrompt}, MissNotFound},
		{"hallucinated number", MissFacts{Answer: "The special magic number for happy-falcon is 5550123.", Expected: []string{"4829173"}, Distractors: []string{"7311842"}, Prompt: missPrompt}, MissHallucinated},
		{"hallucinated near-length number", MissFacts{Answer: "482917", Expected: []string{"4829173"}, Prompt: missPrompt}, MissHallucinated},
		{"hallucinated uuid", MissFacts{Answer: "It is 11111111-2222-4333-8444-555555555555.", Expected: []string{"0f8b5a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"}, Prompt: uuidPrompt}, MissHallucinated},
		{"hallucinated word", MissFacts{Answer: "The special magic word for witty-newt is: saxophone.", Expected: []string{"lantern"}, Prompt: wordPrompt}, MissHallucinated},
		{"hallucinated chain", MissFacts{Answer: "54321", Expected: []string{"12345"}, Distractors: []string{"99999"}, Prompt: chainPrompt}, MissHallucinated},
		{"other: a word of the prompt, not a value", MissFacts{Answer: "harbour", Expected: []string{"lantern"}, Prompt: wordPrompt}, MissOther},
		{"other: no number at all", MissFacts{Answer: "The river ran past the mill.", Expected: []string{"4829173"}, Prompt: missPrompt}, MissOther},
		{"other: prompt unknown", MissFacts{Answer: "5550123", Expected: []string{"4829173"}}, MissOther},
	}
	for _, c := range cases {
		if got := ClassifyMiss(c.f); got != c.want {
			t.Errorf("%s: ClassifyMiss(%q) = %s, want %s", c.name, c.f.Answer, got, c.want)
		}
	}
}

func TestClassifyDatasetMiss(t *testing.T) {
	str := func(s string) *string { return &s }
	num := func(f float64) *float64 { return &f }
	labels := []corpus.Matcher{{OneOf: []string{"spam", "not spam", "phishing"}, Label: "phishing"}}
	invoice := "Invoice 2024-118 from Acme. Subtotal 1,180.00 EUR, shipping 25 EUR, total due 1205 EUR by March 3."
	cases := []struct {
		name string
		f    MissFacts
		want Miss
	}{
		{"partial contains all", MissFacts{Answer: "apples, pears", Matchers: []corpus.Matcher{{Contains: []string{"apples", "pears", "plums"}}}, Prompt: "apples pears plums"}, MissPartial},
		{"partial json", MissFacts{Answer: `{"name": "Ada", "age": 40}`, Matchers: []corpus.Matcher{{JSON: map[string]json.RawMessage{"name": json.RawMessage(`"Ada"`), "age": json.RawMessage(`36`)}}}}, MissPartial},
		{"partial of several matchers", MissFacts{Answer: "Paris", Matchers: []corpus.Matcher{{Contains: []string{"Paris"}}, {Contains: []string{"France"}}}}, MissPartial},
		{"distractor label", MissFacts{Answer: "Not spam.", Matchers: labels, Prompt: "Classify as spam, not spam or phishing: ..."}, MissDistractor},
		{"distractor number of the prompt", MissFacts{Answer: "The total is 1180.", Matchers: []corpus.Matcher{{Number: num(1205)}}, Prompt: invoice}, MissDistractor},
		{"distractor phrase of the prompt", MissFacts{Answer: "March 3", Matchers: []corpus.Matcher{{Equals: str("Acme")}}, Prompt: invoice}, MissDistractor},
		{"not found", MissFacts{Answer: "I could not find the answer in the text.", Matchers: []corpus.Matcher{{Number: num(1205)}}, Prompt: invoice}, MissNotFound},
		{"not found, labels", MissFacts{Answer: "", Matchers: labels}, MissNotFound},
		{"hallucinated number", MissFacts{Answer: "The total is 1312.", Matchers: []corpus.Matcher{{Number: num(1205)}}, Prompt: invoice}, MissHallucinated},
		{"a wrong sum is not a hallucination", MissFacts{Answer: "42", Matchers: []corpus.Matcher{{Number: num(41)}}, Prompt: "What is 20 + 21?"}, MissOther},
		{"free text is not called hallucinated", MissFacts{Answer: "Globex", Matchers: []corpus.Matcher{{Equals: str("Acme")}}, Prompt: invoice}, MissOther},
		{"regex other", MissFacts{Answer: "maybe", Matchers: []corpus.Matcher{{Regex: str(`^\d{4}$`)}}, Prompt: invoice}, MissOther},
	}
	for _, c := range cases {
		if got := ClassifyMiss(c.f); got != c.want {
			t.Errorf("%s: ClassifyMiss(%q) = %s, want %s", c.name, c.f.Answer, got, c.want)
		}
	}
}

// TestMissOfLatent: a latent prompt's other characters are distractors,
// the simulator's "no character" answer is not_found, an invented name a
// hallucination.
func TestMissOfLatent(t *testing.T) {
	b, err := corpus.NewBuilder("", "", 3)
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.Build(corpus.Spec{Task: corpus.TaskLatent, Length: 2000, Depth: 50})
	if err != nil {
		t.Fatal(err)
	}
	var text []string
	for _, m := range c.Messages {
		text = append(text, m.Content)
	}
	r := corpus.ReadPrompt(strings.Join(text, "\n"))
	if len(r.Distractors) == 0 || len(r.Asks) == 0 {
		t.Fatalf("latent reading %+v", r)
	}
	missed := Verdict{Attribution: AttrModelMissed}
	for answer, want := range map[string]Miss{
		"The character who has been to " + r.Asks[0].Key + " is " + r.Distractors[0] + ".": MissDistractor,
		"No character in the text has been to " + r.Asks[0].Key + ".":                      MissNotFound,
		"The character who has been to " + r.Asks[0].Key + " is Zorvanel.":                 MissHallucinated,
	} {
		if got := MissOf(&c, missed, answer); got != string(want) {
			t.Errorf("MissOf(%q) = %s, want %s (expected %v)", answer, got, want, c.Expected)
		}
	}
}

// TestMissOfCWE: some of the most frequent words are partial, only less
// frequent ones of the list distractors, a listing of the whole
// vocabulary other.
func TestMissOfCWE(t *testing.T) {
	b, err := corpus.NewBuilder("", "", 3)
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.Build(corpus.Spec{Task: corpus.TaskCWE, Length: 2000, Depth: 50})
	if err != nil {
		t.Fatal(err)
	}
	var text []string
	for _, m := range c.Messages {
		text = append(text, m.Content)
	}
	r := corpus.ReadPrompt(strings.Join(text, "\n"))
	if len(c.Expected) < 2 || len(r.Distractors) == 0 {
		t.Fatalf("cwe case expects %v, distractors %v", c.Expected, r.Distractors)
	}
	all := strings.Join(append(append([]string(nil), c.Expected...), r.Distractors...), ", ")
	if len(c.Expected)+len(r.Distractors) <= corpus.CWEMaxCandidates(len(c.Expected)) {
		t.Fatalf("the cwe list is too short to exceed the cap: %s", all)
	}
	missed := Verdict{Attribution: AttrModelMissed}
	for answer, want := range map[string]Miss{
		c.Expected[0]:    MissPartial,
		r.Distractors[0]: MissDistractor,
		all:              MissOther,
		"I cannot tell.": MissNotFound,
		"I cannot find.": MissNotFound,
	} {
		if got := MissOf(&c, missed, answer); got != string(want) {
			t.Errorf("MissOf(%q) = %s, want %s", answer, got, want)
		}
	}
}

// TestMissOf checks the dispatcher's entry point on real Cases: a miss of
// each kind is found from the Case's own prompt, and a verdict that is not
// the model's miss has none.
func TestMissOf(t *testing.T) {
	b, err := corpus.NewBuilder("", "", 7)
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.Build(corpus.Spec{Task: corpus.TaskMultiKey, Length: 2000, Depth: 50})
	if err != nil {
		t.Fatal(err)
	}
	var text []string
	for _, m := range c.Messages {
		text = append(text, m.Content)
	}
	ds := corpus.ReadPrompt(strings.Join(text, "\n")).Distractors
	if len(ds) == 0 {
		t.Fatal("a multikey prompt without distractors")
	}
	missed := Verdict{Attribution: AttrModelMissed}
	for _, tc := range []struct {
		answer string
		v      Verdict
		want   string
	}{
		{"The value is " + ds[0] + ".", missed, string(MissDistractor)},
		{"I cannot find it.", missed, string(MissNotFound)},
		{"9999999", missed, string(MissHallucinated)},
		{"9999999", Verdict{Attribution: AttrServerTruncated}, ""},
	} {
		if got := MissOf(&c, tc.v, tc.answer); got != tc.want {
			t.Errorf("MissOf(%q, %s) = %q, want %q", tc.answer, tc.v.Attribution, got, tc.want)
		}
	}
}

// BenchmarkMissOf is the cost of classifying one miss of a 128k-token
// prompt as the dispatcher does (an invented number: the costliest path,
// which reads the whole prompt twice).
func BenchmarkMissOf(b *testing.B) {
	bl, err := corpus.NewBuilder("", "", 7)
	if err != nil {
		b.Fatal(err)
	}
	c, err := bl.Build(corpus.Spec{Task: corpus.TaskMultiKey, Length: 128_000, Depth: 50})
	if err != nil {
		b.Fatal(err)
	}
	v := Verdict{Attribution: AttrModelMissed}
	b.ResetTimer()
	for b.Loop() {
		if MissOf(&c, v, "The number is 9999999.") != string(MissHallucinated) {
			b.Fatal("not hallucinated")
		}
	}
}

// FuzzNormalizeText checks the fast path against Normalize.
func FuzzNormalizeText(f *testing.F) {
	for _, s := range []string{"", "Hello, World!", "1,234,567 and 12,34", "it's 1'234 o_k", "A__B", "x9,999y", "naïve 1,000", missPrompt} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := normalizeText(s), Normalize(s); got != want {
			t.Fatalf("normalizeText(%q) = %q, Normalize gives %q", s, got, want)
		}
	})
}
