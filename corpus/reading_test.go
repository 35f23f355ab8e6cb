package corpus

import (
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestReadPromptHandwritten(t *testing.T) {
	text := SystemPrompt + "\n" +
		"Archive reference anchor-beacon-compass-dial-ember.\n\n" +
		"The opening passphrase is: saffron.\n\n" +
		"Grass grows. One of the special magic numbers for happy-falcon is: 1234567. More grass. " +
		"One of the special magic uuids for calm-otter is: 0f8b5a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b. " +
		"One of the special magic words for bold-lynx is: marmalade. " +
		"One of the special magic numbers for happy-falcon is: 7654321.\n\n" +
		"The closing passphrase is: cobalt.\n\n" +
		"Question: What are all the special magic numbers for happy-falcon and bold-lynx mentioned in the provided text? Also, what are the opening passphrase and the closing passphrase?\n" +
		"Answer: The special magic numbers for happy-falcon and bold-lynx mentioned in the provided text are"
	got := ReadPrompt(text)
	want := Reading{
		Asks: []Ask{
			{Key: "happy-falcon", Values: []string{"1234567", "7654321"}},
			{Key: "bold-lynx", Values: []string{"marmalade"}},
			{Key: CanaryHeadKey, Values: []string{"saffron"}, Canary: true},
			{Key: CanaryTailKey, Values: []string{"cobalt"}, Canary: true},
		},
		Distractors: []string{"0f8b5a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}

	chain := "VAR BBBBB = VAR AAAAA. noise VAR AAAAA = 12345. VAR CCCCC = VAR BBBBB. VAR XXXXX = 99999. VAR YYYYY = VAR XXXXX.\n\n" +
		"Question: Following the VAR assignments in the text, what is the number held by VAR CCCCC?\nAnswer: The number held by VAR CCCCC is"
	got = ReadPrompt(chain)
	want = Reading{Asks: []Ask{{Key: "CCCCC", Values: []string{"12345"}}}, Distractors: []string{"99999"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("chain: got %+v\nwant %+v", got, want)
	}
	// a broken chain resolves to nothing; a cycle too.
	broken := strings.Replace(chain, "VAR AAAAA = 12345.", "", 1)
	if r := ReadPrompt(broken); len(r.Asks) != 1 || len(r.Asks[0].Values) != 0 {
		t.Fatalf("broken chain: %+v", r)
	}
	cycle := strings.Replace(chain, "VAR AAAAA = 12345.", "VAR AAAAA = VAR CCCCC.", 1)
	if r := ReadPrompt(cycle); len(r.Asks) != 1 || len(r.Asks[0].Values) != 0 {
		t.Fatalf("cycle: %+v", r)
	}
	// cut question: nothing asked; everything stated is a distractor.
	cut := text[:strings.Index(text, "mentioned in the provided text?")]
	r := ReadPrompt(cut)
	if len(r.Asks) != 0 || len(r.Distractors) != 4 {
		t.Fatalf("cut question: %+v", r)
	}
	// a wrongly shaped value is not read.
	if r := ReadPrompt("One of the special magic numbers for a-b is: 12345.\nQuestion: What is the special magic number for a-b mentioned in the provided text?"); len(r.Asks) != 1 || len(r.Asks[0].Values) != 0 {
		t.Fatalf("short number read: %+v", r)
	}
	if r := ReadPrompt(""); len(r.Asks) != 0 || len(r.Distractors) != 0 {
		t.Fatalf("empty: %+v", r)
	}
}

// oracle says what survives of a Case's user text when only the byte ranges
// in kept survive.
type oracle struct {
	user     string
	c        Case
	question [2]int // the main question sentence
	canaryQ  [2]int // the canary clause
	spans    map[string][][2]int
	head     [2]int
	tail     [2]int
}

var chainRE = regexp.MustCompile(`VAR ([A-Z]{5}) = (VAR [A-Z]{5}|[0-9]+)\.`)

func newOracle(t *testing.T, c Case) *oracle {
	t.Helper()
	u := userOf(c)
	o := &oracle{user: u, c: c, spans: map[string][][2]int{}}
	qi := strings.LastIndex(u, "\n"+questionLead) + 1
	qe := qi + strings.Index(u[qi:], "?") + 1
	o.question = [2]int{qi, qe}
	if c.Canaries != nil {
		ce := qe + strings.Index(u[qe:], "?") + 1
		o.canaryQ = [2]int{qe, ce}
		hi := strings.Index(u, headCanaryLead)
		o.head = [2]int{hi, hi + len(headCanaryLead) + len(c.Canaries.Head) + 1}
		ti := strings.Index(u, tailCanaryLead)
		o.tail = [2]int{ti, ti + len(tailCanaryLead) + len(c.Canaries.Tail) + 1}
	}
	if c.Task == TaskChain {
		// spans of the asked chain, keyed by the expected value
		defs := map[string][2]int{}
		src := map[string]string{}
		for _, m := range chainRE.FindAllStringSubmatchIndex(u[:qi], -1) {
			name := u[m[2]:m[3]]
			defs[name] = [2]int{m[0], m[1]}
			src[name] = u[m[4]:m[5]]
		}
		asked := ReadPrompt(fullText(c)).Asks[0].Key
		var spans [][2]int
		for n := asked; ; {
			spans = append(spans, defs[n])
			s := src[n]
			if !strings.HasPrefix(s, varLead) {
				break
			}
			n = s[len(varLead):]
		}
		o.spans[c.Expected[0]] = spans
		return o
	}
	if c.Task == TaskCWE {
		return o // checked by checkCWE
	}
	if c.Task == TaskLatent {
		v := c.Expected[0]
		p := strings.Index(u, latentNeedleLead+v+latentNeedleMid)
		if p < 0 {
			t.Fatalf("%s: needle of %q not found", c.ID, v)
		}
		o.spans[v] = [][2]int{{p, p + strings.IndexByte(u[p:], '.') + 1}}
		return o
	}
	for _, v := range c.Expected {
		p := strings.Index(u, needleIs+v+".")
		if p < 0 {
			t.Fatalf("%s: needle of %q not found", c.ID, v)
		}
		s := strings.LastIndex(u[:p], "special magic ")
		o.spans[v] = [][2]int{{s, p + len(needleIs) + len(v) + 1}}
	}
	return o
}

func within(sp [2]int, kept [][2]int) bool {
	for _, k := range kept {
		if sp[0] >= k[0] && sp[1] <= k[1] {
			return true
		}
	}
	return false
}

// check compares ReadPrompt on the surviving text with what survived.
func (o *oracle) check(t *testing.T, what string, kept [][2]int, text string) {
	t.Helper()
	r := ReadPrompt(text)
	if !within(o.question, kept) {
		if len(r.Asks) != 0 {
			t.Fatalf("%s %s: question cut but asks %+v", o.c.ID, what, r.Asks)
		}
		return
	}
	var main []Ask
	var canaries []Ask
	for _, a := range r.Asks {
		if a.Canary {
			canaries = append(canaries, a)
		} else {
			main = append(main, a)
		}
	}
	if len(main) == 0 {
		t.Fatalf("%s %s: question survived but nothing asked", o.c.ID, what)
	}
	if o.c.Task == TaskCWE {
		o.checkCWE(t, what, kept, main[0])
		main = nil
	}
	found := map[string]bool{}
	for _, a := range main {
		for _, v := range a.Values {
			found[v] = true
		}
	}
	for _, v := range o.c.Expected {
		if o.c.Task == TaskCWE {
			break
		}
		survived := true
		for _, sp := range o.spans[v] {
			if !within(sp, kept) {
				survived = false
			}
		}
		if survived != found[v] {
			t.Fatalf("%s %s: value %q survived=%v but read=%v (%+v)", o.c.ID, what, v, survived, found[v], r)
		}
	}
	answers := map[string]bool{}
	for _, v := range o.c.Expected {
		answers[v] = true
	}
	if o.c.Canaries != nil {
		if within(o.canaryQ, kept) != (len(canaries) == 2) {
			t.Fatalf("%s %s: canary question survived=%v, canary asks %+v", o.c.ID, what, within(o.canaryQ, kept), canaries)
		}
		for _, a := range canaries {
			sp, v := o.head, o.c.Canaries.Head
			if a.Key == CanaryTailKey {
				sp, v = o.tail, o.c.Canaries.Tail
			}
			if within(sp, kept) != (len(a.Values) == 1 && a.Values[0] == v) {
				t.Fatalf("%s %s: canary %s survived=%v, read %v", o.c.ID, what, a.Key, within(sp, kept), a.Values)
			}
		}
	}
}

// TestReadPromptTruncated: for every task, ReadPrompt on the full prompt and
// on left-truncated, right-truncated and middle-cut prompts (cut at token
// boundaries, as a server truncates) finds exactly what survived.
func TestReadPromptTruncated(t *testing.T) {
	b := testBuilder(t, HaystackProse, DefaultEncoding, 21)
	tok := b.Tokenizer()
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, task := range Tasks {
		for s, d := range []float64{0, 30, 70, 100} {
			c, err := b.Build(Spec{Task: task, Length: 2500, Depth: d, Sample: s, Canaries: s%2 == 0})
			if err != nil {
				t.Fatal(err)
			}
			o := newOracle(t, c)
			toks := tok.Encode(userOf(c))
			n := len(toks)
			off := make([]int, n+1) // byte offset of token i
			for i := 0; i < n; i++ {
				off[i+1] = off[i] + len(tok.Decode(toks[i:i+1]))
			}
			u := userOf(c)
			sys := c.Messages[0].Content + "\n"
			full := [][2]int{{0, len(u)}}
			o.check(t, "full", full, sys+u)

			idx := c.NeedleTokenIndex - tok.Count(c.Messages[0].Content) // within the user content
			lefts := []int{0, max(idx-1, 0), min(idx+3, n), min(idx+40, n), n - 60, n - 10}
			rights := []int{n, n - 3, n - 30, min(idx+5, n), idx, 10}
			for i := 0; i < 20; i++ {
				lefts = append(lefts, rnd.IntN(n+1))
				rights = append(rights, rnd.IntN(n+1))
			}
			for _, k := range lefts {
				o.check(t, "left", [][2]int{{off[k], len(u)}}, u[off[k]:])
			}
			for _, k := range rights {
				o.check(t, "right", [][2]int{{0, off[k]}}, sys+u[:off[k]])
			}
			mids := [][2]int{{max(idx-2, 0), min(idx+30, n)}, {1, n - 80}, {idx, idx + 1}}
			for i := 0; i < 20; i++ {
				a, z := rnd.IntN(n+1), rnd.IntN(n+1)
				if a > z {
					a, z = z, a
				}
				mids = append(mids, [2]int{a, z})
			}
			for _, m := range mids {
				kept := [][2]int{{0, off[m[0]]}, {off[m[1]], len(u)}}
				o.check(t, "middle", kept, sys+u[:off[m[0]]]+u[off[m[1]]:])
			}
		}
	}
}

// FuzzReadPrompt: ReadPrompt never panics and its asks are well formed.
func FuzzReadPrompt(f *testing.F) {
	b, err := NewBuilder(HaystackNoise, DefaultEncoding, 1)
	if err != nil {
		f.Fatal(err)
	}
	for _, task := range Tasks {
		c, err := b.Build(Spec{Task: task, Length: 400, Depth: 50, Canaries: true})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fullText(c))
	}
	f.Add("Question: What is the special magic number for a-b mentioned in the provided text?")
	f.Add("VAR A = VAR A.\nQuestion: Following the VAR assignments in the text, what is the number held by VAR A?")
	f.Add("special magic numbers for  is: .")
	f.Add("Question: What are all the special magic words for , and  mentioned in the provided text?")
	f.Fuzz(func(t *testing.T, s string) {
		r := ReadPrompt(s)
		for _, a := range r.Asks {
			if a.Key == "" {
				t.Fatalf("empty key in %+v", r)
			}
			for _, v := range a.Values {
				if !strings.Contains(s, v) {
					t.Fatalf("value %q not in the text", v)
				}
			}
		}
		for _, v := range r.Distractors {
			if !strings.Contains(s, v) {
				t.Fatalf("distractor %q not in the text", v)
			}
		}
	})
}

// TestReadPromptLinear: doubling the text roughly doubles the time (no
// quadratic corner), checked by counting work rather than timing: a text of
// many near-miss markers is read quickly.
func TestReadPromptLinear(t *testing.T) {
	bad := strings.Repeat("special magic numbers for a-b is: 12345 VAR AB = VAR ", 20000) + "\nQuestion: What is the special magic number for a-b mentioned in the provided text?"
	r := ReadPrompt(bad)
	if len(r.Asks) != 1 || len(r.Asks[0].Values) != 0 {
		t.Fatalf("%+v", r)
	}
	qs := strings.Repeat("x\nQuestion: ", 50000)
	if r := ReadPrompt(qs); len(r.Asks) != 0 {
		t.Fatalf("%+v", r)
	}
}

var cweEntryRE = regexp.MustCompile(`([0-9]+)\. ([a-z]+)[ .]`)

// checkCWE: the cwe ask read from a cut prompt holds the most common
// words of the whole entries that survived, and nothing when none did.
func (o *oracle) checkCWE(t *testing.T, what string, kept [][2]int, a Ask) {
	t.Helper()
	counts := map[string]int{}
	for _, k := range kept {
		for _, m := range cweEntryRE.FindAllStringSubmatch(o.user[k[0]:k[1]], -1) {
			if cweSet[m[2]] {
				counts[m[2]]++
			}
		}
	}
	if len(a.Values) == 0 {
		if len(counts) > 0 {
			t.Fatalf("%s %s: nothing read from %d surviving list words", o.c.ID, what, len(counts))
		}
		return
	}
	least := counts[a.Values[0]]
	for _, v := range a.Values {
		if counts[v] == 0 {
			t.Fatalf("%s %s: read %q, which did not survive", o.c.ID, what, v)
		}
		least = min(least, counts[v])
	}
	// a word not read may not be clearly more common than one read (a
	// chunk cut in its middle may add one entry either way).
	read := map[string]bool{}
	for _, v := range a.Values {
		read[v] = true
	}
	for w, n := range counts {
		if !read[w] && n > least+1 {
			t.Fatalf("%s %s: %q (%d) not read, but %v were (least %d)", o.c.ID, what, w, n, a.Values, least)
		}
	}
}
