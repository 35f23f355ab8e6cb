package corpus

import (
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// needleLike matches anything a reader could take for a needle or marker.
var needleLike = regexp.MustCompile(`(?i)special magic|passphrase|is:|\bVAR\b|question:|answer:|[0-9]|[0-9a-f]{8}-|:`)

// TestProse: the prose haystack is varied, deterministic, has no needle-like
// text, never repeats a sentence back to back, and avoids every key, value,
// canary and preamble word.
func TestProse(t *testing.T) {
	if len(proseTopics) < 20 {
		t.Fatalf("%d topics, want at least 20", len(proseTopics))
	}
	g := newProseGen(42)
	var b strings.Builder
	size := 2 << 20
	if raceEnabled {
		size /= 4
	}
	for b.Len() < size {
		b.WriteString(g.paragraph())
	}
	text := b.String()
	g1, g2 := newProseGen(7), newProseGen(7)
	for i := 0; i < 50; i++ {
		if g1.paragraph() != g2.paragraph() {
			t.Fatal("prose is not deterministic")
		}
	}
	if newProseGen(8).paragraph() == newProseGen(9).paragraph() {
		t.Fatal("different seeds gave the same paragraph")
	}
	if m := needleLike.FindString(text); m != "" {
		i := strings.Index(text, m)
		t.Fatalf("prose contains needle-like text %q near %q", m, text[max(0, i-40):min(len(text), i+40)])
	}
	if r := ReadPrompt(text); len(r.Asks)+len(r.Distractors) != 0 {
		t.Fatalf("ReadPrompt finds something in prose: %+v", r)
	}
	// sentences
	sentences := map[string]int{}
	prev := ""
	for _, para := range strings.Split(text, "\n\n") {
		for _, s := range strings.SplitAfter(para, ". ") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if s == prev {
				t.Fatalf("sentence repeated back to back: %q", s)
			}
			prev = s
			sentences[s]++
		}
	}
	if len(sentences) < size/100 {
		t.Fatalf("only %d distinct sentences in %d bytes of prose", len(sentences), size)
	}
	// vocabulary
	words := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) }) {
		words[w] = true
	}
	lists := map[string][]string{"value": valueWords, "canary": canaryWords, "preamble": preambleWords, "key adjective": keyAdjectives, "key noun": keyNouns}
	for name, list := range lists {
		for _, w := range list {
			if words[w] {
				t.Errorf("%s word %q occurs in the prose", name, w)
			}
		}
	}
	for _, w := range strings.FieldsFunc(strings.ToLower(NoiseText), func(r rune) bool { return !unicode.IsLetter(r) }) {
		for name, list := range lists {
			for _, x := range list {
				if x == w {
					t.Errorf("%s word %q occurs in the noise haystack", name, w)
				}
			}
		}
	}
}

// TestWordLists: the lists are disjoint, and no value or canary word hides
// inside another word of the fixed phrasing or the lists (a substring would
// make "appears exactly once" false).
func TestWordLists(t *testing.T) {
	all := map[string]string{}
	for name, list := range map[string][]string{"value": valueWords, "canary": canaryWords, "preamble": preambleWords, "key adjective": keyAdjectives, "key noun": keyNouns} {
		for _, w := range list {
			if other, ok := all[w]; ok {
				t.Errorf("%q is in both the %s and the %s list", w, other, name)
			}
			all[w] = name
			if w != strings.ToLower(w) || strings.ContainsAny(w, " -") {
				t.Errorf("%s word %q must be one lower-case word", name, w)
			}
		}
	}
	fixed := strings.Join([]string{SystemPrompt, needleLead, questionLead, answerLead, askOneLead, askAllLead, askTail, chainAskLead, chainAnsLead, headCanaryLead, tailCanaryLead, canaryAsk, "Archive reference", "numbers uuids words number uuid word are is"}, " ")
	for _, list := range [][]string{valueWords, canaryWords} {
		for _, v := range list {
			if strings.Contains(fixed, v) {
				t.Errorf("%q occurs inside the fixed phrasing", v)
			}
			for w := range all {
				if w != v && strings.Contains(w, v) {
					t.Errorf("%q occurs inside the list word %q", v, w)
				}
			}
		}
	}
}
