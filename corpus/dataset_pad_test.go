package corpus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const exampleCases = "../examples/datasets/cases.jsonl"

// padCases are the example dataset's cases and two of our own: one whose
// marked part is buried (the instruction after it stays after the
// haystack), one prompt starting with a slash and ending without
// punctuation.
func padCases(t *testing.T) *Dataset {
	t.Helper()
	d, err := LoadDataset(exampleCases)
	if err != nil {
		t.Fatal(err)
	}
	extra := `{"id": "marked", "task_type": "extraction", "messages": [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Read the memo below.\n<<<Memo: the vault code is 7731.\nKeep it safe>>>\nWhat is the vault code?"}], "expected": {"equals": "7731"}}
{"id": "slash", "prompt": "/etc/hosts maps names to addresses; which file maps names to addresses", "expected": {"contains": ["hosts"]}}`
	more, err := ReadDataset(strings.NewReader(extra), "extra.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	d.Cases = append(d.Cases, more.Cases...)
	return d
}

// TestPadExactLength: every padded prompt counts exactly its pad length
// in client tokens (a full recount of every message, as the needle
// builder's tests prove theirs), over haystacks, encodings, lengths and
// depths.
func TestPadExactLength(t *testing.T) {
	d := padCases(t)
	lengths := []int{512, 777, 2048, 8000}
	if testing.Short() {
		lengths = lengths[:2]
	}
	depths := []float64{0, 0.1, 0.5, 0.9, 1}
	n := 0
	for _, cb := range []struct{ haystack, encoding string }{{HaystackProse, "cl100k_base"}, {HaystackProse, "o200k_base"}, {HaystackNoise, "cl100k_base"}} {
		b := testBuilder(t, cb.haystack, cb.encoding, 5)
		for i, dc := range d.Cases {
			if i%raceScale() != 0 && dc.ID != "marked" && dc.ID != "slash" {
				continue
			}
			for j, L := range lengths {
				depth := depths[(i+j)%len(depths)]
				c, err := b.PadCase(context.Background(), dc, L, depth)
				if err != nil {
					t.Fatalf("%s %s: %s at %d, depth %v: %v", cb.haystack, cb.encoding, dc.ID, L, depth, err)
				}
				if c.PromptTokens != L || c.Length != L || c.PadTo != L {
					t.Fatalf("%s: prompt_tokens %d length %d pad_to %d, want %d", c.ID, c.PromptTokens, c.Length, c.PadTo, L)
				}
				if got := recount(t, c); got != L {
					t.Fatalf("%s %s %s: recount %d tokens, want %d", c.ID, cb.haystack, cb.encoding, got, L)
				}
				checkPadded(t, c, dc, depth)
				n++
			}
		}
	}
	t.Logf("%d padded cases recounted", n)
}

// checkPadded: the case's content starts at NeedleTokenIndex, the lead
// and trail of a marked case stay at the ends, the markers are gone, and
// the identity and matchers are the case's.
func checkPadded(t *testing.T, c Case, dc DatasetCase, depth float64) {
	t.Helper()
	tok, err := GetTokenizer(c.Encoding)
	if err != nil {
		t.Fatal(err)
	}
	before, lead, core, trail := dc.PadParts()
	if len(c.Messages) != len(before)+1 {
		t.Fatalf("%s: %d messages, want %d", c.ID, len(c.Messages), len(before)+1)
	}
	for i, m := range before {
		if c.Messages[i] != m {
			t.Fatalf("%s: message %d changed", c.ID, i)
		}
	}
	var toks []int
	for _, m := range c.Messages {
		toks = append(toks, tok.Encode(m.Content)...)
	}
	i := c.NeedleTokenIndex
	if i < 0 || i >= len(toks) {
		t.Fatalf("%s: needle_token_index %d outside 0..%d", c.ID, i, len(toks))
	}
	// The content starts at the token there (inside it, when its first
	// character joined the newlines before it into one token).
	at := tok.Decode(toks[i:min(i+40, len(toks))])
	want := core[:min(len(core), 30)]
	if k := strings.Index(at, want); k < 0 || k >= max(1, len(tok.Decode(toks[i:i+1]))) {
		t.Fatalf("%s: the text at needle_token_index %d is %q, want the content %q", c.ID, i, clip(at, 60, true), want)
	}
	user := c.Messages[len(c.Messages)-1].Content
	if strings.Count(user, core) != 1 {
		t.Fatalf("%s: the content occurs %d times", c.ID, strings.Count(user, core))
	}
	if lead != "" && !strings.HasPrefix(user, lead+"\n\n") || trail != "" && !strings.HasSuffix(user, "\n\n"+trail) {
		t.Fatalf("%s: lead %q or trail %q not at the ends of %q", c.ID, lead, trail, clip(user, 80, true))
	}
	if strings.Contains(user, PadOpen) || strings.Contains(user, PadClose) {
		t.Fatalf("%s: a marker was sent", c.ID)
	}
	if c.ID != PadID(dc.ID, c.PadTo, depth) || c.Task != TaskDataset || c.TaskType != dc.TaskType || len(c.Matchers) != len(dc.Expected) || c.Depth != padPercent(depth) {
		t.Fatalf("%s: identity %q task %q type %q depth %v, matchers %d", dc.ID, c.ID, c.Task, c.TaskType, c.Depth, len(c.Matchers))
	}
	// Depth: the content lands at the haystack boundary nearest the asked
	// depth, so within a sentence of it (64 tokens is longer than any
	// sentence of the built-in haystacks), and exactly at either end.
	hay := c.PadTo - len(toks[:0])
	for _, m := range before {
		hay -= tok.Count(m.Content)
	}
	hay -= tok.Count(core)
	if lead != "" {
		hay -= tok.Count(lead + "\n\n")
	}
	if trail != "" {
		hay -= tok.Count(trail)
	}
	tol := 100 * 64 / float64(hay)
	if abs(c.ActualDepth-100*depth) > tol {
		t.Fatalf("%s: actual depth %.2f%%, asked %.0f%% (tolerance %.2f points)", c.ID, c.ActualDepth, 100*depth, tol)
	}
	if depth == 0 && c.ActualDepth != 0 || depth == 1 && c.ActualDepth != 100 {
		t.Fatalf("%s: depth %v landed at %v%%", c.ID, depth, c.ActualDepth)
	}
}

// TestPadDepthPosition: the token index of the content over the prompt
// rises with the asked depth, and at depth 0.5 the content sits about
// half way through the haystack.
func TestPadDepthPosition(t *testing.T) {
	d := padCases(t)
	b := testBuilder(t, HaystackProse, DefaultEncoding, 9)
	dc := d.Cases[0]
	prev := -1
	for _, depth := range []float64{0, 0.25, 0.5, 0.75, 1} {
		c, err := b.PadCase(context.Background(), dc, 16000, depth)
		if err != nil {
			t.Fatal(err)
		}
		checkPadded(t, c, dc, depth)
		if c.NeedleTokenIndex <= prev {
			t.Fatalf("depth %v: content at token %d, not after %d", depth, c.NeedleTokenIndex, prev)
		}
		prev = c.NeedleTokenIndex
		if frac := float64(c.NeedleTokenIndex) / 16000; abs(frac-depth) > 0.02 {
			t.Errorf("depth %v: content at token %d of 16000 (%.3f)", depth, c.NeedleTokenIndex, frac)
		}
	}
}

func TestBuildPadded(t *testing.T) {
	d := padCases(t)
	b := testBuilder(t, HaystackProse, DefaultEncoding, 1)
	cases, err := d.BuildPadded(context.Background(), b, Padding{PadTo: []int{1000, 3000}, Depths: []float64{0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if want := len(d.Cases) * (1 + 2*2); len(cases) != want {
		t.Fatalf("%d cases, want %d (each as written, then at 2 lengths × 2 depths)", len(cases), want)
	}
	plain := cases[:len(d.Cases)]
	for i, c := range plain {
		if c.PadTo != 0 || c.ID != d.Cases[i].ID {
			t.Fatalf("case %d as written: %+v", i, c)
		}
	}
	if u := plain[len(plain)-2].Messages[1].Content; u != "Read the memo below.\nMemo: the vault code is 7731.\nKeep it safe\nWhat is the vault code?" {
		t.Errorf("the marked case as written is sent as %q, want it without markers", u)
	}
	seen := map[string]bool{}
	for _, c := range cases[len(d.Cases):] {
		if seen[c.ID] || c.PadTo == 0 || recount(t, c) != c.PadTo {
			t.Fatalf("padded case %s: repeated, or %d tokens for pad_to %d", c.ID, recount(t, c), c.PadTo)
		}
		seen[c.ID] = true
	}
	if !seen["inv-001@1k-d0"] || !seen["marked@3k-d100"] || PadID("x", 8000, 0.1) != "x@8k-d10" {
		t.Errorf("ids %v lack inv-001@1k-d0 or marked@3k-d100", seen)
	}
	// The same recipe gives the same prompts.
	again, err := d.BuildPadded(context.Background(), testBuilder(t, HaystackProse, DefaultEncoding, 1), Padding{PadTo: []int{1000, 3000}, Depths: []float64{0, 1}})
	if err != nil || again[len(d.Cases)+3].Messages[1].Content != cases[len(d.Cases)+3].Messages[1].Content {
		t.Errorf("padding is not reproducible (%v)", err)
	}
}

func TestPadErrors(t *testing.T) {
	d := padCases(t)
	b := testBuilder(t, HaystackProse, DefaultEncoding, 1)
	ctx := context.Background()
	// A pad length shorter than a case: its id and line.
	long := d.Cases[0]
	_, err := d.BuildPadded(ctx, b, Padding{PadTo: []int{40}})
	if err == nil || !errors.Is(err, ErrTooShort) || !strings.Contains(err.Error(), fmt.Sprintf("cases.jsonl:%d: ", long.Line)) || !strings.Contains(err.Error(), "case "+long.ID) || !strings.Contains(err.Error(), "shorter than the case") {
		t.Errorf("pad_to 40: error %v, want the first case named with its line", err)
	}
	for _, tc := range []struct {
		p    Padding
		want string
	}{
		{Padding{PadTo: []int{1000}, Depths: []float64{50}}, "outside 0 to 1"},
		{Padding{PadTo: []int{1000}, Depths: []float64{-0.1}}, "outside 0 to 1"},
		{Padding{PadTo: []int{1000}, Depths: []float64{0.5, 0.5}}, "twice"},
		{Padding{Depths: []float64{0.5}}, "without pad_to"},
		{Padding{PadTo: []int{0}}, "positive"},
		{Padding{PadTo: []int{MaxLength + 1}}, "maximum"},
		{Padding{PadTo: []int{8000, 8000}}, "twice"},
	} {
		if _, err := d.BuildPadded(ctx, b, tc.p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.p, err, tc.want)
		}
	}
	if _, err := ParsePadDepths("0,0.5,2"); err == nil || !strings.Contains(err.Error(), "outside 0 to 1") {
		t.Errorf("ParsePadDepths 2: %v", err)
	}
	if v, err := ParsePadDepths("0, 0.5,1"); err != nil || len(v) != 3 || v[1] != 0.5 {
		t.Errorf("ParsePadDepths: %v %v", v, err)
	}
	bad, err := ReadDataset(strings.NewReader(`{"id": "two", "prompt": "<<<a>>> and <<<b>>>?", "expected": {"equals": "a"}}`+"\n"+`{"id": "empty", "prompt": "Q: <<< >>>?", "expected": {"equals": "a"}}`), "m.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.BuildPadded(ctx, b, Padding{PadTo: []int{1000}})
	if err == nil || !strings.Contains(err.Error(), "m.jsonl:1: case two: the last message holds 2 <<<") || !strings.Contains(err.Error(), "m.jsonl:2: case empty: the part between") {
		t.Errorf("bad markers: error %v", err)
	}
}
