package sim

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sashabaranov/go-openai"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/probes"
)

const simPadded = simDataset + `{"id": "m1", "task_type": "extraction", "messages": [{"role": "system", "content": "Answer with the code only."}, {"role": "user", "content": "Read the memo.\n<<<Memo: the vault code is 7731.>>>\nWhat is the vault code?"}], "expected": {"equals": "7731"}}
{"id": "s1", "task_type": "code", "prompt": "Ok?", "expected": {"equals": "ok"}}
`

// paddedCases writes the dataset and pads every case to two lengths at
// three depths.
func paddedCases(t *testing.T, haystack string) (string, *corpus.Dataset, []corpus.Case) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "d.jsonl")
	if err := os.WriteFile(path, []byte(simPadded), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := corpus.LoadDataset(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := corpus.NewBuilder(haystack, "", 3)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := d.BuildPadded(context.Background(), b, corpus.Padding{PadTo: []int{600, 3000}, Depths: []float64{0, 0.5, 1}})
	if err != nil {
		t.Fatal(err)
	}
	return path, d, cases
}

// TestPaddedLookup: a padded prompt is recognised as its case, on both
// built-in haystacks, and a prompt whose buried content was changed is not.
func TestPaddedLookup(t *testing.T) {
	for _, hs := range []string{corpus.HaystackProse, corpus.HaystackNoise} {
		path, d, cases := paddedCases(t, hs)
		idx, err := loadDataset(path)
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]*datasetCase{}
		for _, c := range cases[:len(d.Cases)] {
			byID[c.ID] = idx.lookup(contentsOf(c))
		}
		for _, c := range cases[len(d.Cases):] {
			id, _, _ := strings.Cut(c.ID, "@")
			got := idx.lookup(contentsOf(c))
			if got == nil || got != byID[id] {
				t.Fatalf("%s %s: padded prompt not recognised as case %s", hs, c.ID, id)
			}
			changed := contentsOf(c)
			last := changed[len(changed)-1]
			// the content's first letter changed
			_, _, core, _ := d.Cases[caseIndex(d, id)].PadParts()
			changed[len(changed)-1] = strings.Replace(last, core, "X"+core[1:], 1)
			if dc := idx.lookup(changed); dc == got && dc != nil {
				t.Fatalf("%s %s: a changed content still taken for case %s", hs, c.ID, id)
			}
		}
	}
}

func caseIndex(d *corpus.Dataset, id string) int {
	for i, c := range d.Cases {
		if c.ID == id {
			return i
		}
	}
	return -1
}

func contentsOf(c corpus.Case) []string {
	var out []string
	for _, m := range c.Messages {
		out = append(out, m.Content)
	}
	return out
}

// TestPaddedAnswers: the server answers padded cases like the cases as
// written: right when its task accuracy is 1, over HTTP.
func TestPaddedAnswers(t *testing.T) {
	path, d, cases := paddedCases(t, corpus.HaystackProse)
	cfg := testConfig(t, func(c *Config) {
		c.Dataset = path
		c.BaseAccuracy = 1
		c.TaskAccuracy = "extraction=1,classification=1,code=1,summarization=1"
	})
	_, ts := startTest(t, cfg)
	client := openAIClient(ts.URL)
	for _, c := range cases[len(d.Cases):] {
		if len(c.Matchers) == 0 || !strings.Contains(c.ID, "@3k") {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var msgs []openai.ChatCompletionMessage
		for _, m := range c.Messages {
			msgs = append(msgs, openai.ChatCompletionMessage{Role: m.Role, Content: m.Content})
		}
		resp, err := client.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "m", Messages: msgs})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if ans := resp.Choices[0].Message.Content; !probes.ScoreMatchers(c.Matchers, ans).Strict {
			t.Errorf("%s: answer %q fails the case's matchers", c.ID, ans)
		}
	}
}

// BenchmarkPaddedLookupMiss is what a loaded dataset costs a needle prompt
// of 128k tokens that is no dataset case: the padded lookup's scan of its
// newlines.
func BenchmarkPaddedLookupMiss(b *testing.B) {
	path := filepath.Join(b.TempDir(), "d.jsonl")
	if err := os.WriteFile(path, []byte(simPadded), 0o600); err != nil {
		b.Fatal(err)
	}
	idx, err := loadDataset(path)
	if err != nil {
		b.Fatal(err)
	}
	bl, err := corpus.NewBuilder(corpus.HaystackProse, "", 1)
	if err != nil {
		b.Fatal(err)
	}
	c, err := bl.Build(corpus.Spec{Task: corpus.TaskSingle, Length: 128_000, Depth: 50})
	if err != nil {
		b.Fatal(err)
	}
	contents := contentsOf(c)
	b.ResetTimer()
	for range b.N {
		if idx.lookup(contents) != nil {
			b.Fatal("a needle prompt taken for a dataset case")
		}
	}
}

// TestPaddedTruncatedMiddle: a server that drops the middle of long
// prompts still answers a padded case whose content sits at the start or
// the end of the haystack (the cut took only haystack), and never one
// whose content sat in the middle.
func TestPaddedTruncatedMiddle(t *testing.T) {
	path, d, cases := paddedCases(t, corpus.HaystackProse)
	cfg := testConfig(t, func(c *Config) {
		c.Dataset = path
		c.BaseAccuracy = 1
		c.TaskAccuracy = "extraction=1,classification=1,code=1,summarization=1"
		c.ContextWindow = 1500
		c.Overflow = OverflowTruncateMiddle
	})
	_, ts := startTest(t, cfg)
	client := openAIClient(ts.URL)
	checked := map[string]int{}
	for _, c := range cases[len(d.Cases):] {
		id, form, _ := strings.Cut(c.ID, "@")
		_, _, core, _ := d.Cases[caseIndex(d, id)].PadParts()
		if len(c.Matchers) == 0 || !strings.HasPrefix(form, "3k-") || len(core) < 20 {
			continue // a short content could occur in the haystack by chance
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var msgs []openai.ChatCompletionMessage
		for _, m := range c.Messages {
			msgs = append(msgs, openai.ChatCompletionMessage{Role: m.Role, Content: m.Content})
		}
		resp, err := client.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "m", Messages: msgs})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		right := probes.ScoreMatchers(c.Matchers, resp.Choices[0].Message.Content).Strict
		if want := form != "3k-d50"; right != want {
			t.Errorf("%s: right %v through a 1500-token truncate_middle window, want %v (answer %q)", c.ID, right, want, resp.Choices[0].Message.Content)
		}
		checked[form]++
	}
	if checked["3k-d0"] == 0 || checked["3k-d50"] == 0 || checked["3k-d100"] == 0 {
		t.Fatalf("checked %v: want cases at every depth", checked)
	}
}
