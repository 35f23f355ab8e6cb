package probes

import (
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/corpus"
)

// TestCWEScoring: cwe answers are scored by whole-word, case-insensitive
// recall over the expected words; extra words do not lower it, but an
// answer naming more than 2n words of the vocabulary scores nothing.
func TestCWEScoring(t *testing.T) {
	exp := []string{"teapot", "gong", "quail", "kayak"} // n = 4, cap 8
	tests := []struct {
		name    string
		answer  string
		correct bool
		recall  float64
	}{
		{"all four", "The 4 most common words in the numbered list are: teapot, gong, quail, kayak.", true, 1},
		{"case and punctuation", "TEAPOT; Gong - QUAIL... kayak!", true, 1},
		{"numbered answer", "1. kayak\n2. quail\n3. gong\n4. teapot", true, 1},
		{"three of four", "teapot, gong, quail, sparrow", false, 0.75},
		{"whole words only", "teapots, gongs, quail, kayak", false, 0.5},
		{"inside another word", "teapotgong quailkayak", false, 0},
		{"extra words keep recall", "teapot, gong, quail, kayak, sparrow, mango, tuba, lute", true, 1},
		{"one past the cap", "teapot, gong, quail, kayak, sparrow, mango, tuba, lute, harp", false, 0},
		{"repeats count once", "teapot teapot gong gong quail quail kayak kayak sparrow sparrow mango tuba lute", true, 1},
		{"words outside the vocabulary never count", "The most common words in the numbered list spread through the text are, as far as I can tell from reading it carefully: teapot, gong, quail and kayak.", true, 1},
		{"the whole vocabulary", strings.Join(cweVocabulary(), ", "), false, 0},
		{"nothing", "", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &corpus.Case{Task: corpus.TaskCWE, Expected: exp, PromptTokens: 1000}
			v := Judge(c, ResponseFacts{Answer: tt.answer, PromptTokensServer: 1000})
			if v.Correct != tt.correct || v.Recall != tt.recall {
				t.Fatalf("%q: correct %v recall %v, want %v %v", tt.answer, v.Correct, v.Recall, tt.correct, tt.recall)
			}
			if tt.correct != (v.Attribution == AttrCorrect) {
				t.Fatalf("attribution %s", v.Attribution)
			}
		})
	}
	// the cap is the cwe task's alone: another task's answer may list many
	// words.
	c := &corpus.Case{Task: corpus.TaskMultiValue, Expected: exp, PromptTokens: 1000}
	if v := Judge(c, ResponseFacts{Answer: strings.Join(cweVocabulary(), " "), PromptTokensServer: 1000}); !v.Correct {
		t.Fatalf("multivalue answer capped: %+v", v)
	}
}

// cweVocabulary is every word corpus accepts as a cwe word, found by
// reading back a long cwe prompt's list.
func cweVocabulary() []string {
	b, err := corpus.NewBuilder(corpus.HaystackNoise, "", 1)
	if err != nil {
		panic(err)
	}
	c, err := b.Build(corpus.Spec{Task: corpus.TaskCWE, Length: 16000, Depth: 0})
	if err != nil {
		panic(err)
	}
	r := corpus.ReadPrompt(c.Messages[0].Content + "\n" + c.Messages[1].Content)
	return append(append([]string(nil), r.Asks[0].Values...), r.Distractors...)
}
