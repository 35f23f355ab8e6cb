package corpus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// builders caches one Builder per (haystack, encoding, seed) across tests:
// tokenizing a haystack is the slow part.
var (
	buildersMu sync.Mutex
	builders   = map[string]*Builder{}
)

func testBuilder(t testing.TB, haystack, encoding string, seed int64) *Builder {
	t.Helper()
	key := fmt.Sprint(haystack, "|", encoding, "|", seed)
	buildersMu.Lock()
	defer buildersMu.Unlock()
	if b, ok := builders[key]; ok {
		return b
	}
	b, err := NewBuilder(haystack, encoding, seed)
	if err != nil {
		t.Fatal(err)
	}
	builders[key] = b
	return b
}

func userOf(c Case) string { return c.Messages[1].Content }

// fullText is the prompt as ReadPrompt expects it.
func fullText(c Case) string { return c.Messages[0].Content + "\n" + c.Messages[1].Content }

// recount counts a Case's prompt the slow, sure way.
func recount(t testing.TB, c Case) int {
	t.Helper()
	tok, err := GetTokenizer(c.Encoding)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range c.Messages {
		n += tok.Count(m.Content)
	}
	return n
}

func raceScale() int {
	if raceEnabled {
		return 4
	}
	return 1
}

// TestExactLength: property-style sweep over lengths, seeds, tasks, depths,
// haystacks and encodings; every Case's full recount equals the request.
func TestExactLength(t *testing.T) {
	lengths := []int{256, 257, 263, 300, 333, 384, 500, 511, 512, 777, 1000, 1001, 1500, 2048, 3000, 4095, 5000, 8000, 12345, 20000}
	if testing.Short() {
		lengths = lengths[:8]
	}
	type combo struct {
		haystack, encoding string
		seeds              int
	}
	combos := []combo{
		{HaystackProse, "cl100k_base", 6},
		{HaystackProse, "o200k_base", 2},
		{HaystackNoise, "cl100k_base", 2},
		{HaystackNoise, "o200k_base", 1},
	}
	depths := []float64{0, 10, 33.3, 50, 90, 100}
	kinds := []string{KindNumber, KindUUID, KindWord}
	n := 0
	for _, cb := range combos {
		for seed := int64(0); seed < int64(cb.seeds); seed++ {
			b := testBuilder(t, cb.haystack, cb.encoding, seed*7919+3)
			for i, L := range lengths {
				if i%raceScale() != int(seed)%raceScale() {
					continue
				}
				task := Tasks[(i+int(seed))%len(Tasks)]
				spec := Spec{
					Task:         task,
					Length:       L,
					Depth:        depths[(i*3+int(seed))%len(depths)],
					Sample:       i % 3,
					Canaries:     (i+int(seed))%2 == 0,
					SharedPrefix: i%5 == 4,
				}
				if task != TaskChain {
					spec.ValueKind = kinds[(i+int(seed))%len(kinds)]
				}
				c, err := b.Build(spec)
				if err != nil {
					if errors.Is(err, ErrTooShort) && L < 400 {
						continue // a heavy task at a tiny length; checked elsewhere
					}
					t.Fatalf("%s %s seed %d %+v: %v", cb.haystack, cb.encoding, seed, spec, err)
				}
				if c.PromptTokens != L {
					t.Fatalf("%s: prompt_tokens %d, want %d", c.ID, c.PromptTokens, L)
				}
				if got := recount(t, c); got != L {
					t.Fatalf("%s %s %s seed %d: recount %d tokens, want %d", c.ID, cb.haystack, cb.encoding, seed, got, L)
				}
				n++
			}
		}
	}
	t.Logf("%d cases recounted", n)
}

// TestExactLengthDefaultsAt256: every task with its defaults fits 256 tokens
// exactly, with and without canaries, for many seeds.
func TestExactLengthDefaultsAt256(t *testing.T) {
	for seed := int64(0); seed < int64(12/raceScale()); seed++ {
		b := testBuilder(t, HaystackProse, DefaultEncoding, 1)
		for _, task := range Tasks {
			for _, canaries := range []bool{false, true} {
				spec := Spec{Task: task, Length: 256, Depth: float64(seed * 9 % 101), Sample: int(seed), Canaries: canaries}
				c, err := b.Build(spec)
				if err != nil {
					t.Fatalf("%+v: %v", spec, err)
				}
				if got := recount(t, c); got != 256 {
					t.Fatalf("%s: recount %d, want 256", c.ID, got)
				}
			}
		}
	}
}

// TestExactLengthLong covers the long end: 128k once, and 1,000,000 tokens
// once (skipped with -short).
func TestExactLengthLong(t *testing.T) {
	lengths := []int{128_000, 1_000_000}
	if testing.Short() {
		lengths = lengths[:1]
	}
	b := testBuilder(t, HaystackProse, DefaultEncoding, 42)
	for _, L := range lengths {
		c, err := b.Build(Spec{Task: TaskMultiKey, Length: L, Depth: 37, Canaries: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := recount(t, c); got != L {
			t.Fatalf("%s: recount %d, want %d", c.ID, got, L)
		}
		checkValuesOnce(t, c)
	}
}

// checkValuesOnce: every expected value, distractor value and canary value
// appears in the prompt exactly once, and no distractor equals an answer.
func checkValuesOnce(t *testing.T, c Case) {
	t.Helper()
	text := fullText(c)
	rd := ReadPrompt(text)
	answers := map[string]bool{}
	for _, v := range c.Expected {
		answers[v] = true
		if n := strings.Count(text, v); n != 1 {
			t.Fatalf("%s: expected value %q appears %d times", c.ID, v, n)
		}
	}
	for _, d := range rd.Distractors {
		if answers[d] {
			t.Fatalf("%s: distractor %q equals an answer", c.ID, d)
		}
		if n := strings.Count(text, d); n != 1 {
			t.Fatalf("%s: distractor value %q appears %d times", c.ID, d, n)
		}
	}
	if c.Canaries != nil {
		for _, v := range []string{c.Canaries.Head, c.Canaries.Tail} {
			if answers[v] {
				t.Fatalf("%s: canary %q is also an expected value", c.ID, v)
			}
			if n := strings.Count(text, v); n != 1 {
				t.Fatalf("%s: canary value %q appears %d times", c.ID, v, n)
			}
		}
	}
}

// expectedReading checks that ReadPrompt on the full prompt finds what the
// Case expects.
func expectedReading(t *testing.T, c Case) {
	t.Helper()
	rd := ReadPrompt(fullText(c))
	var got []string
	nCanary := 0
	for _, a := range rd.Asks {
		if a.Canary {
			nCanary++
			want := c.Canaries.Head
			if a.Key == CanaryTailKey {
				want = c.Canaries.Tail
			}
			if len(a.Values) != 1 || a.Values[0] != want {
				t.Fatalf("%s: canary ask %+v, want %q", c.ID, a, want)
			}
			continue
		}
		if len(a.Values) == 0 {
			t.Fatalf("%s: ask %q has no values in the full prompt", c.ID, a.Key)
		}
		got = append(got, a.Values...)
	}
	if (c.Canaries != nil) != (nCanary == 2) {
		t.Fatalf("%s: %d canary asks, canaries %v", c.ID, nCanary, c.Canaries)
	}
	if !sameSet(got, c.Expected) {
		t.Fatalf("%s: ReadPrompt values %v, expected %v", c.ID, got, c.Expected)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, v := range a {
		m[v]++
	}
	for _, v := range b {
		m[v]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestValuesAndReading: for every task and value kind, values appear
// exactly once, distractors never equal answers, ReadPrompt reads the
// expected values back, and the needle token index points at the needle.
func TestValuesAndReading(t *testing.T) {
	b := testBuilder(t, HaystackProse, DefaultEncoding, 7)
	tok := b.Tokenizer()
	for _, task := range Tasks {
		kinds := ValueKinds
		if task == TaskChain {
			kinds = []string{""}
		}
		for _, kind := range kinds {
			for s := 0; s < 4; s++ {
				for _, d := range []float64{0, 40, 100} {
					spec := Spec{Task: task, Length: 3000, Depth: d, Sample: s, ValueKind: kind, Canaries: s%2 == 0, Keys: []int{0, 2, 5, 8}[s]}
					c, err := b.Build(spec)
					if err != nil {
						t.Fatalf("%+v: %v", spec, err)
					}
					if task != TaskCWE { // cwe words repeat by design
						checkValuesOnce(t, c)
					}
					expectedReading(t, c)
					checkNeedleIndex(t, tok, c)
				}
			}
		}
	}
}

func checkNeedleIndex(t *testing.T, tok *Tokenizer, c Case) {
	t.Helper()
	// NeedleTokenIndex counts over all message contents in order.
	var toks []int
	for _, m := range c.Messages {
		toks = append(toks, tok.Encode(m.Content)...)
	}
	i := c.NeedleTokenIndex
	if sys := tok.Count(c.Messages[0].Content); i < sys {
		t.Fatalf("%s: needle_token_index %d is inside the system prompt's %d tokens", c.ID, i, sys)
	}
	if i < 0 || i >= len(toks) {
		t.Fatalf("%s: needle_token_index %d outside 0..%d", c.ID, i, len(toks))
	}
	at := strings.TrimLeft(tok.Decode(toks[i:min(i+60, len(toks))]), " ")
	lead := needleLead
	switch c.Task {
	case TaskChain:
		lead = varLead
	case TaskLatent:
		lead = latentNeedleLead
	case TaskCWE:
		// the list's first chunk; its words are checked by TestCWECases
		if !strings.HasPrefix(at, cweFirstLead) {
			t.Fatalf("%s: text at needle_token_index %d is %q, want the list's start", c.ID, i, clip(at, 60, true))
		}
		return
	}
	if !strings.HasPrefix(at, lead) {
		t.Fatalf("%s: text at needle_token_index %d is %q, want the needle", c.ID, i, clip(at, 60, true))
	}
	end := strings.Index(at, ".")
	if end < 0 || !strings.Contains(at[:end+1], c.Expected[0]) {
		t.Fatalf("%s: the needle at needle_token_index is %q, want the one with %q", c.ID, clip(at, 80, true), c.Expected[0])
	}
	if i > 0 && (strings.HasSuffix(tok.Decode(toks[i-1:i]), "One") || strings.HasSuffix(tok.Decode(toks[i-1:i]), "Act")) {
		t.Fatalf("%s: needle_token_index is inside the needle", c.ID)
	}
}

// TestDepth: the needle sits at the candidate position nearest the
// requested depth, so within one sentence of it, and actual_depth says
// where.
func TestDepth(t *testing.T) {
	for _, hs := range []string{HaystackProse, HaystackNoise} {
		b := testBuilder(t, hs, DefaultEncoding, 11)
		for _, L := range []int{300, 1000, 4000, 16000, 64000} {
			for d := 0.0; d <= 100; d += 12.5 {
				for _, task := range Tasks {
					var info buildInfo
					spec := Spec{Task: task, Length: L, Depth: d, Sample: int(d)}
					c, err := b.build(context.Background(), spec, &info)
					if err != nil {
						t.Fatalf("%+v: %v", spec, err)
					}
					target := d / 100 * float64(info.hayTokens)
					cands := info.candidates
					// neighbours of the target among the candidates
					lo, hi := 0, len(cands)-1
					for k, p := range cands {
						if float64(p) <= target {
							lo = k
						}
						if float64(p) >= target {
							hi = k
							break
						}
					}
					if info.mainHay != cands[lo] && info.mainHay != cands[hi] {
						t.Fatalf("%s: needle at haystack token %d, not at a boundary next to the target %.1f (%d or %d)", c.ID, info.mainHay, target, cands[lo], cands[hi])
					}
					if dist, other := abs(float64(info.mainHay)-target), min(abs(float64(cands[lo])-target), abs(float64(cands[hi])-target)); dist > other {
						t.Fatalf("%s: needle %.1f tokens from the target, the nearest boundary is %.1f", c.ID, dist, other)
					}
					// within one sentence: the gap between the neighbours.
					if gap := cands[hi] - cands[lo]; abs(float64(info.mainHay)-target) > float64(gap) {
						t.Fatalf("%s: needle farther than one sentence from the target", c.ID)
					}
					want := 100 * float64(info.mainHay) / float64(info.hayTokens)
					if abs(c.ActualDepth-want) > 0.006 {
						t.Fatalf("%s: actual_depth %.3f, want %.3f", c.ID, c.ActualDepth, want)
					}
					if d == 0 && c.ActualDepth != 0 || d == 100 && c.ActualDepth != 100 {
						t.Fatalf("%s: depth %v landed at %v", c.ID, d, c.ActualDepth)
					}
				}
			}
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestDeterminism: the same seed gives identical Cases (also from a fresh
// Builder and in another order), another seed gives different ones.
func TestDeterminism(t *testing.T) {
	m := Matrix{Tasks: Tasks, Lengths: []int{500, 3000}, Depths: []float64{0, 50, 100}, Samples: 2, Seed: 5, Canaries: true}
	a, err := m.Cases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Cases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same matrix and seed gave different Cases")
	}
	// One Case alone, from a builder that built others first.
	bl := testBuilder(t, HaystackProse, DefaultEncoding, 5)
	for _, task := range Tasks {
		if _, err := bl.Build(Spec{Task: task, Length: 9000, Depth: 10}); err != nil {
			t.Fatal(err)
		}
	}
	last := a[len(a)-1]
	c, err := bl.Build(Spec{Task: last.Task, Length: last.Length, Depth: last.Depth, Sample: last.Sample, Canaries: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, last) {
		t.Fatal("a Case depends on what the builder built before")
	}
	ids := map[string]bool{}
	pre := map[string]bool{}
	for _, c := range a {
		if ids[c.ID] {
			t.Fatalf("duplicate id %s", c.ID)
		}
		ids[c.ID] = true
		p := strings.SplitN(userOf(c), "\n", 2)[0]
		if pre[p] {
			t.Fatalf("preamble %q repeated", p)
		}
		pre[p] = true
	}
	m.Seed = 6
	d, err := m.Cases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	for i := range a {
		if a[i].ID != d[i].ID {
			t.Fatal("ids depend on the seed")
		}
		sameAnswer := reflect.DeepEqual(a[i].Expected, d[i].Expected)
		if a[i].Task == TaskLatent {
			// a few dozen names: the same answer to another question is
			// no repeat.
			qa, qd := userOf(a[i]), userOf(d[i])
			sameAnswer = sameAnswer && qa[strings.LastIndex(qa, questionLead):] == qd[strings.LastIndex(qd, questionLead):]
		}
		if userOf(a[i]) == userOf(d[i]) || sameAnswer {
			same++
		}
	}
	if same > 0 {
		t.Fatalf("%d of %d Cases identical under another seed", same, len(a))
	}
}

// TestSharedPrefix: without the preamble, Cases of one seed share their
// start; with it, every Case starts differently.
func TestSharedPrefix(t *testing.T) {
	b := testBuilder(t, HaystackProse, DefaultEncoding, 3)
	c1, err := b.Build(Spec{Task: TaskSingle, Length: 2000, Depth: 50, SharedPrefix: true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(userOf(c1), "Archive reference") || !c1.SharedPrefix {
		t.Fatal("shared prefix Case has a preamble")
	}
	c2, err := b.Build(Spec{Task: TaskSingle, Length: 2000, Depth: 50})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(userOf(c2), "Archive reference ") {
		t.Fatalf("default Case has no preamble: %q", clip(userOf(c2), 60, true))
	}
}

// TestJSONRoundTrip: a Case survives encoding/json unchanged and carries the
// schema's fields.
func TestJSONRoundTrip(t *testing.T) {
	b := testBuilder(t, HaystackProse, DefaultEncoding, 1)
	for _, canaries := range []bool{false, true} {
		c, err := b.Build(Spec{Task: TaskMultiValue, Length: 1200, Depth: 25, Canaries: canaries})
		if err != nil {
			t.Fatal(err)
		}
		data, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var back Case
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c, back) {
			t.Fatalf("round trip changed the Case:\n%+v\n%+v", c, back)
		}
		var fields map[string]any
		if err := json.Unmarshal(data, &fields); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"schema", "id", "task", "length", "prompt_tokens", "encoding", "depth", "actual_depth", "needle_token_index", "expected", "messages", "seed", "haystack"} {
			if _, ok := fields[f]; !ok {
				t.Fatalf("Case JSON lacks %q", f)
			}
		}
		if fields["schema"] != CaseSchema {
			t.Fatalf("schema %v", fields["schema"])
		}
		if _, ok := fields["canaries"]; ok != canaries {
			t.Fatalf("canaries field present=%v with canaries=%v", ok, canaries)
		}
	}
}

// TestDirHaystack: a folder of the user's files, read in name order,
// repeated when short, exact at every length.
func TestDirHaystack(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"b.md":    "# Second file\n\nThe second file talks about bridges. Bridges carry roads over rivers!\nIs that not so? It is.\n",
		"a.txt":   "First file. It has two sentences about apples and pears.\r\n\r\nA new paragraph follows here.",
		"c.txt":   "   \n",
		"skip.go": "package nothing // not read",
		"d.txt":   "Unicode text: caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, na\u00efve. \u201cQuoted speech.\u201d Then more words follow \xff invalid byte.",
	}
	for n, s := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The folder is read in name order: a.txt, b.md, (c.txt is blank), d.txt.
	text, err := readDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ia, ib, id := strings.Index(text, "First file."), strings.Index(text, "# Second file"), strings.Index(text, "Unicode text")
	if ia < 0 || ia > ib || ib > id {
		t.Fatalf("files not read in name order: a.txt at %d, b.md at %d, d.txt at %d", ia, ib, id)
	}
	for _, enc := range Encodings {
		b, err := NewBuilder("dir:"+dir, enc, 1)
		if err != nil {
			t.Fatal(err)
		}
		for i, L := range []int{256, 700, 1500, 5000, 20000} {
			c, err := b.Build(Spec{Task: Tasks[i%len(Tasks)], Length: L, Depth: float64(i * 25), Canaries: true, ValueKind: map[bool]string{true: "", false: KindWord}[Tasks[i%len(Tasks)] == TaskChain]})
			if err != nil {
				t.Fatalf("%s %d: %v", enc, L, err)
			}
			if got := recount(t, c); got != L {
				t.Fatalf("%s %s: recount %d, want %d", enc, c.ID, got, L)
			}
			if c.Haystack != "dir:"+dir {
				t.Fatalf("haystack %q", c.Haystack)
			}
			u := userOf(c)
			if strings.Contains(u, "package nothing") {
				t.Fatal("a .go file was read")
			}
			if L >= 1500 {
				ia, ib := strings.Index(u, "First file."), strings.Index(u, "# Second file")
				if ia < 0 || ib < 0 {
					t.Fatalf("%s: folder text missing from the prompt", c.ID)
				}

				if strings.Count(u, "bridges") < 2 {
					t.Fatalf("%s: short folder text not repeated", c.ID)
				}
			}
			checkValuesOnce(t, c)
			expectedReading(t, c)
		}
	}
}

// TestBadInputs: every bad input gives an error that says what to fix.
func TestBadInputs(t *testing.T) {
	b := testBuilder(t, HaystackProse, DefaultEncoding, 1)
	empty := t.TempDir()
	onlyEmpty := t.TempDir()
	os.WriteFile(filepath.Join(onlyEmpty, "x.txt"), []byte(" \n\t\n"), 0o644)
	file := filepath.Join(t.TempDir(), "f.txt")
	os.WriteFile(file, []byte("text"), 0o644)
	unreadable := t.TempDir()
	os.WriteFile(filepath.Join(unreadable, "x.txt"), []byte("text."), 0o644)
	os.Chmod(unreadable, 0)
	t.Cleanup(func() { os.Chmod(unreadable, 0o755) })

	cases := []struct {
		name string
		run  func() error
		want []string
	}{
		{"unknown task", func() error { _, err := b.Build(Spec{Task: "needle", Length: 1000}); return err }, []string{`unknown task "needle"`, "single, multikey, multivalue, multiquery, chain"}},
		{"zero length", func() error { _, err := b.Build(Spec{Task: TaskSingle, Length: 0}); return err }, []string{"positive number of tokens"}},
		{"negative length", func() error { _, err := b.Build(Spec{Task: TaskSingle, Length: -5}); return err }, []string{"positive", "-5"}},
		{"too small", func() error { _, err := b.Build(Spec{Task: TaskSingle, Length: 40}); return err }, []string{"needs at least", "tokens", "use a longer length"}},
		{"too small multiquery", func() error {
			_, err := b.Build(Spec{Task: TaskMultiQuery, Length: 300, Keys: 20, ValueKind: KindUUID})
			return err
		}, []string{"task multiquery", "needs at least"}},
		{"bad depth", func() error { _, err := b.Build(Spec{Task: TaskSingle, Length: 1000, Depth: 101}); return err }, []string{"between 0 and 100"}},
		{"bad kind", func() error { _, err := b.Build(Spec{Task: TaskSingle, Length: 1000, ValueKind: "emoji"}); return err }, []string{`unknown value kind "emoji"`, "number, uuid, word"}},
		{"chain hops", func() error { _, err := b.Build(Spec{Task: TaskChain, Length: 1000, Keys: 1}); return err }, []string{"at least 2 hops"}},
		{"unknown encoding", func() error { _, err := NewBuilder(HaystackProse, "gpt2", 1); return err }, []string{`unknown encoding "gpt2"`, "cl100k_base, o200k_base"}},
		{"unknown haystack", func() error { _, err := NewBuilder("wiki", "", 1); return err }, []string{`unknown haystack "wiki"`, "dir:PATH"}},
		{"empty dir name", func() error { _, err := NewBuilder("dir:", "", 1); return err }, []string{"needs a folder"}},
		{"missing folder", func() error { _, err := NewBuilder("dir:"+filepath.Join(empty, "nope"), "", 1); return err }, []string{"does not exist"}},
		{"empty folder", func() error { _, err := NewBuilder("dir:"+empty, "", 1); return err }, []string{"has no .txt or .md files"}},
		{"empty files", func() error { _, err := NewBuilder("dir:"+onlyEmpty, "", 1); return err }, []string{"only empty"}},
		{"file not folder", func() error { _, err := NewBuilder("dir:"+file, "", 1); return err }, []string{"is a file, not a folder"}},
		{"folder path through a file", func() error { _, err := NewBuilder("dir:"+filepath.Join(file, "sub"), "", 1); return err }, []string{"cannot be read", "check the path"}},
		{"matrix no lengths", func() error { _, err := Matrix{}.Cases(context.Background()); return err }, []string{"no lengths"}},
		{"matrix bad task", func() error {
			_, err := Matrix{Tasks: []string{"x"}, Lengths: []int{1000}}.Cases(context.Background())
			return err
		}, []string{`unknown task "x"`}},
		{"matrix bad encoding", func() error {
			_, err := Matrix{Lengths: []int{1000}, Encoding: "r50k"}.Cases(context.Background())
			return err
		}, []string{"unknown encoding"}},
		{"matrix zero length", func() error { _, err := Matrix{Lengths: []int{0}}.Cases(context.Background()); return err }, []string{"positive"}},
	}
	if os.Getuid() != 0 && runtime.GOOS != "windows" {
		cases = append(cases, struct {
			name string
			run  func() error
			want []string
		}{"unreadable folder", func() error { _, err := NewBuilder("dir:"+unreadable, "", 1); return err }, []string{"cannot be read", "permissions"}})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestUnreadableFile: a file in the folder that cannot be read is named (a
// dangling link, which fails even for root, and a file without read
// permission where permissions apply).
func TestUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("Some text."), 0o644)
	if err := os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "link.md")); err != nil {
		t.Skip("no symlinks here:", err)
	}
	_, err := NewBuilder("dir:"+dir, "", 1)
	if err == nil || !strings.Contains(err.Error(), "link.md") || !strings.Contains(err.Error(), "cannot be read") {
		t.Fatalf("got %v", err)
	}
	if os.Getuid() == 0 {
		return // permissions do not stop root
	}
	dir = t.TempDir()
	os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("text."), 0o000)
	_, err = NewBuilder("dir:"+dir, "", 1)
	if err == nil || !strings.Contains(err.Error(), "secret.txt") || !strings.Contains(err.Error(), "cannot be read") {
		t.Fatalf("got %v", err)
	}
}

// TestConcurrentBuild: one Builder serves many goroutines.
func TestConcurrentBuild(t *testing.T) {
	b, err := NewBuilder(HaystackProse, DefaultEncoding, 99)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			c, err := b.Build(Spec{Task: Tasks[g%len(Tasks)], Length: 1000 + 3000*g, Depth: 50})
			if err == nil && c.PromptTokens != 1000+3000*g {
				err = fmt.Errorf("length %d", c.PromptTokens)
			}
			if err != nil {
				errs <- err
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// FuzzDirHaystack: whatever text a user's folder holds, a Case built from
// it has exactly the requested length (full recount) or a clear error.
func FuzzDirHaystack(f *testing.F) {
	f.Add("Hello there. This is text.\n\nAnother paragraph!", uint16(300), uint8(0))
	f.Add("# Title\n\n/path/to/file\n\n- item one\n- item two\n\n```go\nfunc main() {}\n```\n", uint16(900), uint8(1))
	f.Add("no punctuation at all just words and words and more words", uint16(2000), uint8(2))
	f.Add("\u4e2d\u6587\u6587\u672c\u3002\u6ca1\u6709\u7a7a\u683c\u3002", uint16(700), uint8(3))
	f.Add("Numbers 1234567 and 7654321. Words: marmalade. VAR ABCDE = 12345.", uint16(500), uint8(4))
	f.Add("a.\n/b. c!  d?\t\te\r\n\r\nf", uint16(256), uint8(5))
	f.Fuzz(func(t *testing.T, text string, length uint16, sel uint8) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		enc := Encodings[int(sel)%len(Encodings)]
		b, err := NewBuilder("dir:"+dir, enc, int64(sel))
		if err != nil {
			if strings.Contains(err.Error(), "only empty") {
				return
			}
			t.Fatal(err)
		}
		L := 256 + int(length)%6000
		spec := Spec{Task: Tasks[int(sel)%len(Tasks)], Length: L, Depth: float64(sel % 101), Canaries: sel%2 == 0}
		c, err := b.Build(spec)
		if err != nil {
			if errors.Is(err, ErrTooShort) {
				return
			}
			t.Fatalf("%+v: %v", spec, err)
		}
		if got := recount(t, c); got != L {
			t.Fatalf("%+v: recount %d, want %d", spec, got, L)
		}
	})
}
