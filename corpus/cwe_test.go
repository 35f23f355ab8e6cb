package corpus

import (
	"errors"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

var cweEntry = regexp.MustCompile(`([0-9]+)\. ([a-z]+)[ .]`)

// TestCWECases: every generated cwe case is exact in tokens; its list is
// numbered 1..E in text order across chunks that start at the asked depth;
// the expected words are the Keys words of the highest count, each
// strictly more common than every other word; and the reader reads them
// back.
func TestCWECases(t *testing.T) {
	n := 0
	for _, hs := range []string{HaystackProse, HaystackNoise} {
		for _, enc := range Encodings {
			if hs == HaystackNoise && enc != DefaultEncoding {
				continue // slow to count, and no different
			}
			b := testBuilder(t, hs, enc, 5)
			for s := 0; s < 24/raceScale(); s++ {
				spec := Spec{Task: TaskCWE, Length: []int{256, 600, 2000, 5000, 12000}[s%5], Depth: float64(s * 17 % 101), Sample: s, Keys: []int{0, 1, 4, 10, 25}[s%5], Canaries: s%2 == 1}
				c, err := b.Build(spec)
				if err != nil {
					if errors.Is(err, ErrTooShort) && spec.Length < 400 && spec.Keys > 10 {
						continue
					}
					t.Fatalf("%+v: %v", spec, err)
				}
				n++
				if got := recount(t, c); got != spec.Length {
					t.Fatalf("%s: recount %d, want %d", c.ID, got, spec.Length)
				}
				keys := spec.Keys
				if keys == 0 {
					keys = taskDefaultKeys[TaskCWE]
				}
				checkCWEList(t, c, keys)
				expectedReading(t, c)
				checkNeedleIndex(t, b.Tokenizer(), c)
			}
		}
	}
	t.Logf("%d cwe cases checked", n)
}

func checkCWEList(t *testing.T, c Case, keys int) {
	t.Helper()
	u := userOf(c)
	qi := strings.LastIndex(u, questionLead)
	counts := map[string]int{}
	next := 1
	for _, m := range cweEntry.FindAllStringSubmatch(u[:qi], -1) {
		if m[1] != strconv.Itoa(next) {
			t.Fatalf("%s: entry %s where %d was due", c.ID, m[1], next)
		}
		next++
		counts[m[2]]++
	}
	if len(c.Expected) != keys {
		t.Fatalf("%s: %d expected words, want %d", c.ID, len(c.Expected), keys)
	}
	least := 1 << 30
	for _, w := range c.Expected {
		least = min(least, counts[w])
	}
	for w, k := range counts {
		common := false
		for _, e := range c.Expected {
			common = common || e == w
		}
		if !common && k >= least {
			t.Fatalf("%s: uncommon %q occurs %d times, a common word only %d", c.ID, w, k, least)
		}
	}
	if len(counts) <= keys {
		t.Fatalf("%s: no uncommon words", c.ID)
	}
	if !strings.Contains(u[qi:], strconv.Itoa(keys)+" most common words") && !(keys == 1 && strings.Contains(u[qi:], "the most common word")) {
		t.Fatalf("%s: question %q does not ask for %d words", c.ID, u[qi:], keys)
	}
	// the list starts at the asked depth: nothing of it before the main chunk
	if first := strings.Index(u, "Numbered list"); first != strings.Index(u, cweFirstLead) {
		t.Fatalf("%s: a chunk precedes the list's start", c.ID)
	}
}

// TestCWELongList: a long prompt gets RULER's full scheme (30 against 3),
// its list spread over the haystack from the asked depth.
func TestCWELongList(t *testing.T) {
	b := testBuilder(t, HaystackProse, DefaultEncoding, 9)
	c, err := b.Build(Spec{Task: TaskCWE, Length: 32000, Depth: 10})
	if err != nil {
		t.Fatal(err)
	}
	u := userOf(c)
	counts := map[string]int{}
	for _, m := range cweEntry.FindAllStringSubmatch(u, -1) {
		counts[m[2]]++
	}
	for _, w := range c.Expected {
		if counts[w] != 30 {
			t.Fatalf("%q occurs %d times, want 30", w, counts[w])
		}
	}
	if len(counts) != len(cweWords) {
		t.Fatalf("%d distinct words, want the whole vocabulary of %d", len(counts), len(cweWords))
	}
	first, last := strings.Index(u, cweFirstLead), strings.LastIndex(u, cweNextLead)
	if f := float64(first) / float64(len(u)); f < 0.05 || f > 0.15 {
		t.Fatalf("the list starts at %.2f of the text, want about 0.10", f)
	}
	if l := float64(last) / float64(len(u)); l < 0.8 {
		t.Fatalf("the list's last chunk is at %.2f of the text, want it spread to the end", l)
	}
	if k := strings.Count(u, "Numbered list"); k != cweMaxChunks {
		t.Fatalf("%d chunks, want %d", k, cweMaxChunks)
	}
}

// TestCWEWords: the vocabulary is one lower-case word each, none a word
// of the haystacks, the other lists, the names or the fixed phrasing.
func TestCWEWords(t *testing.T) {
	g := newProseGen(42)
	var sb strings.Builder
	for sb.Len() < 1<<20/raceScale() {
		sb.WriteString(g.paragraph())
	}
	hay := map[string]bool{}
	fixed := strings.Join([]string{sb.String(), NoiseText, SystemPrompt, cweFirstLead, cweNextLead, cweAskOne, cweAskMid, cweAnsMid, cweAnsOne, questionLead, answerLead, canaryAsk, headCanaryLead, tailCanaryLead}, " ")
	for _, w := range strings.FieldsFunc(strings.ToLower(fixed), func(r rune) bool { return !unicode.IsLetter(r) }) {
		hay[w] = true
	}
	for _, l := range [][]string{valueWords, canaryWords, preambleWords, keyAdjectives, keyNouns, characterNames} {
		for _, w := range l {
			hay[strings.ToLower(w)] = true
		}
	}
	seen := map[string]bool{}
	for _, w := range cweWords {
		if seen[w] || hay[w] || !regexp.MustCompile(`^[a-z]+$`).MatchString(w) {
			t.Errorf("cwe word %q is repeated, not one lower-case word, or a word of the haystack, phrasing or other lists", w)
		}
		seen[w] = true
		for _, enc := range Encodings {
			tok, err := GetTokenizer(enc)
			if err != nil {
				t.Fatal(err)
			}
			if n := tok.Count(" " + w); n > 2 {
				t.Errorf("cwe word %q is %d tokens in %s", w, n, enc)
			}
		}
	}
	if len(cweWords) < 2*maxKeys {
		t.Errorf("%d cwe words cannot hold %d common and as many uncommon words", len(cweWords), maxKeys)
	}
}

func TestReadCWEHandwritten(t *testing.T) {
	text := "Numbered list of words: 1. teapot 2. gong 3. teapot. Grass grows. Numbered list, continued: 4. quail 5. gong 6. teapot 7. nonsense 8. kayak. Numbered list, continued: 9. kay\n\nLost lead 10. quail 11. gong 12. teap\n\nQuestion: What are the 2 most common words in the numbered list spread through the text?\nAnswer: The 2 most common words in the numbered list are"
	want := Reading{Asks: []Ask{{Key: CWEKey, Values: []string{"teapot", "gong"}}}, Distractors: []string{"quail", "kayak"}, Task: TaskCWE}
	if r := ReadPrompt(text); !reflect.DeepEqual(r, want) {
		t.Fatalf("got %+v, want %+v", r, want)
	}
	one := strings.Replace(text, "What are the 2 most common words in the numbered list spread through the text?", cweAskOne, 1)
	if r := ReadPrompt(one); len(r.Asks) != 1 || !reflect.DeepEqual(r.Asks[0].Values, []string{"teapot"}) {
		t.Fatalf("one word: %+v", r)
	}
	if r := ReadPrompt(strings.Replace(text, "the 2 most", "the most", 1)); len(r.Asks) != 0 {
		t.Fatalf("a malformed question asks %+v", r)
	}
}
