package corpus

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestLandmarksShareNoWord checks every pair of the latent table: its
// question and its needle share no content word, at least 100 pairs
// exist, and no landmark is listed twice.
func TestLandmarksShareNoWord(t *testing.T) {
	if len(Landmarks) < 100 {
		t.Fatalf("%d landmarks, want at least 100", len(Landmarks))
	}
	seen := map[string]bool{}
	for _, l := range Landmarks {
		key := strings.ToLower(l.Landmark)
		if seen[key] {
			t.Errorf("landmark %q listed twice", l.Landmark)
		}
		seen[key] = true
		q := contentWords(LatentQuestion(l))
		for w := range contentWords(LatentNeedle("Yuki", l)) {
			if q[w] {
				t.Errorf("%q and %q share the word %q", LatentNeedle("Yuki", l), LatentQuestion(l), w)
			}
		}
	}
}

// latentSentence matches a latent needle sentence.
var latentSentence = regexp.MustCompile(`Actually, [A-Z][a-z]+ lives next to the [^.]+\.`)

// TestLatentCases: every generated latent case is exact in tokens, its
// question (with the answer lead and any canary clause) shares no content
// word with any needle of the prompt, it has the asked number of
// distractor characters, every one of them next to a landmark of another
// country, and the reader finds the one right character.
func TestLatentCases(t *testing.T) {
	n := 0
	for _, hs := range []string{HaystackProse, HaystackNoise} {
		b := testBuilder(t, hs, DefaultEncoding, 3)
		for s := 0; s < 40/raceScale(); s++ {
			keys := []int{0, 1, 3, 6}[s%4]
			spec := Spec{Task: TaskLatent, Length: []int{300, 900, 2500, 6000}[s%4], Depth: float64(s * 13 % 101), Sample: s, Keys: keys, Canaries: s%3 == 0}
			c, err := b.Build(spec)
			if err != nil {
				t.Fatalf("%+v: %v", spec, err)
			}
			n++
			if got := recount(t, c); got != spec.Length {
				t.Fatalf("%s: recount %d, want %d", c.ID, got, spec.Length)
			}
			u := userOf(c)
			qi := strings.LastIndex(u, questionLead)
			question := contentWords(u[qi:])
			needles := latentSentence.FindAllString(u[:qi], -1)
			if want := max(keys, 1) + 1; keys == 0 && len(needles) != taskDefaultKeys[TaskLatent]+1 || keys > 0 && len(needles) != want {
				t.Fatalf("%s: %d needles for keys %d: %q", c.ID, len(needles), keys, needles)
			}
			place := strings.TrimSuffix(strings.TrimPrefix(u[qi+len(questionLead):strings.IndexByte(u[qi:], '?')+qi+1], latentAskLead), "?")
			for _, nd := range needles {
				for w := range contentWords(nd) {
					if question[w] {
						t.Fatalf("%s: the question %q and the needle %q share %q", c.ID, u[qi:], nd, w)
					}
				}
				lm := nd[strings.Index(nd, latentNeedleMid)+len(latentNeedleMid) : len(nd)-1]
				p, ok := landmarkPlace[lm]
				if !ok {
					t.Fatalf("%s: needle %q names no landmark of the table", c.ID, nd)
				}
				right := strings.HasPrefix(nd, latentNeedleLead+c.Expected[0]+" ")
				if right != (p == place) || !right && placeCountry[p] == placeCountry[place] {
					t.Fatalf("%s: needle %q (place %s) against the asked place %s, answer %s", c.ID, nd, p, place, c.Expected[0])
				}
			}
			checkValuesOnce(t, c)
			expectedReading(t, c)
			checkNeedleIndex(t, b.Tokenizer(), c)
			rd := ReadPrompt(fullText(c))
			if rd.Task != TaskLatent || len(rd.Distractors) != len(needles)-1 {
				t.Fatalf("%s: reading %+v", c.ID, rd)
			}
		}
	}
	t.Logf("%d latent cases checked", n)
}

// TestLatentTables: every place has a country, every character name is
// one capitalised word that is no word of the table, the prose or the
// noise haystack, and no two names repeat.
func TestLatentTables(t *testing.T) {
	g := newProseGen(42)
	var sb strings.Builder
	for sb.Len() < 1<<20/raceScale() {
		sb.WriteString(g.paragraph())
	}
	hay := contentWords(sb.String() + " " + NoiseText)
	table := map[string]bool{}
	for _, l := range Landmarks {
		if placeCountry[l.Place] == "" {
			t.Errorf("place %q has no country", l.Place)
		}
		for w := range contentWords(l.Landmark + " " + l.Place) {
			table[w] = true
		}
	}
	seen := map[string]bool{}
	for _, n := range characterNames {
		w := strings.ToLower(n)
		if seen[w] || hay[w] || table[w] || !regexp.MustCompile(`^[A-Z][a-z]+$`).MatchString(n) {
			t.Errorf("character name %q is repeated, not one capitalised word, or a word of the haystack or table", n)
		}
		seen[w] = true
	}
	if len(characterNames) <= maxKeys {
		t.Errorf("%d names cannot hold %d distractors and the answer", len(characterNames), maxKeys)
	}
}

func TestReadLatentHandwritten(t *testing.T) {
	text := "Grass. Actually, Yuki lives next to the Eiffel Tower. Yuki lives next to the Louvre. Actually, Lars lives next to the Colosseum. Actually, Noor lives next to the Nowhere Spot.\n\nQuestion: Which character has been to Paris?\nAnswer: The character who has been to Paris is"
	r := ReadPrompt(text)
	want := Reading{Asks: []Ask{{Key: "Paris", Values: []string{"Yuki"}}}, Distractors: []string{"Lars"}, Task: TaskLatent}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("got %+v, want %+v", r, want)
	}
	if r := ReadPrompt(strings.Replace(text, "Paris?", "Paris", 1)); len(r.Asks) != 0 {
		t.Fatalf("an unfinished question asks %+v", r)
	}
	// many near misses and no stop: read in linear time, nothing found
	bad := strings.Repeat("Actually, Yuki lives next to the ", 40000) + "\nQuestion: Which character has been to Paris?"
	if r := ReadPrompt(bad); len(r.Asks) != 1 || len(r.Asks[0].Values) != 0 {
		t.Fatalf("near misses: %+v", r)
	}
	cwe := strings.Repeat("1. teapot 2", 40000) + "\nQuestion: What are the 3 most common words in the numbered list spread through the text?"
	if r := ReadPrompt(cwe); len(r.Asks) != 1 || len(r.Asks[0].Values) != 1 {
		t.Fatalf("cwe near misses: %+v", r)
	}
}
