package sim

import (
	"math"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/probes"
)

// TestCWERecallCurve: on the vllm-8b profile the simulator's cwe recall
// (as probes scores it, 100 cases of 10 words at each length, fixed seed)
// is within four standard errors of CWEAccuracy, falls with length, and a
// wrong answer names some right words and some other words of the list,
// never more than asked.
func TestCWERecallCurve(t *testing.T) {
	cfg, err := Profile("vllm-8b")
	if err != nil {
		t.Fatal(err)
	}
	cfg.TimeScale = 0
	prev := 2.0
	for _, length := range []int{2000, 8000} {
		cs := cases(t, corpus.Matrix{Tasks: []string{corpus.TaskCWE}, Lengths: []int{length}, Depths: []float64{0, 25, 50, 75, 100}, Samples: 20, Seed: 13})
		recall, mixed := 0.0, 0
		for _, c := range cs {
			text := c.Messages[0].Content + "\n" + c.Messages[1].Content
			g := newRNG(cfg.Seed, hashPrompt([]string{c.Messages[0].Content, c.Messages[1].Content}), 0, streamAnswer)
			rd := corpus.ReadPrompt(text)
			a := cfg.compose(rd, text, c.PromptTokens, 0, &g)
			v := probes.Judge(&c, probes.ResponseFacts{Answer: a.text, PromptTokensServer: c.PromptTokens})
			recall += v.Recall
			if v.Correct != (a.right == 1) {
				t.Fatalf("%s: judged %v, simulator right %d: %q", c.ID, v.Correct, a.right, a.text)
			}
			if n := len(strings.Split(strings.TrimSuffix(strings.TrimPrefix(a.text, "The most common words in the list are: "), "."), ", ")); n > len(c.Expected) {
				t.Fatalf("%s: %d words named for %d asked: %q", c.ID, n, len(c.Expected), a.text)
			}
			if v.Recall > 0 && v.Recall < 1 {
				mixed++
				wrong := 0
				for _, d := range rd.Distractors {
					if probes.Contains(a.text, d) {
						wrong++
					}
				}
				if wrong == 0 {
					t.Fatalf("%s: a partial answer with no other list word: %q", c.ID, a.text)
				}
			}
		}
		recall /= float64(len(cs))
		p := cfg.CWEAccuracy(length, 0)
		tol := 4*math.Sqrt(p*(1-p)/float64(10*len(cs))) + 0.01
		t.Logf("length %d: recall %.3f, curve %.3f (%d cases of 10 words, %d partial)", length, recall, p, len(cs), mixed)
		if math.Abs(recall-p) > tol {
			t.Errorf("length %d: recall %.3f, curve %.3f +- %.3f", length, recall, p, tol)
		}
		if recall >= prev {
			t.Errorf("length %d: recall %.3f did not fall from %.3f", length, recall, prev)
		}
		prev = recall
		if mixed == 0 {
			t.Errorf("length %d: no partial answers", length)
		}
	}
}

// TestCWEFaithful: a faithful server names exactly the most common words.
func TestCWEFaithful(t *testing.T) {
	cfg := testConfig(t, nil)
	cs := cases(t, corpus.Matrix{Tasks: []string{corpus.TaskCWE}, Lengths: []int{600, 3000}, Depths: []float64{0, 50, 100}, Seed: 2, Canaries: true})
	for _, c := range cs {
		text := c.Messages[0].Content + "\n" + c.Messages[1].Content
		g := newRNG(1, 1, 0, streamAnswer)
		a := cfg.compose(corpus.ReadPrompt(text), text, c.PromptTokens, 0, &g)
		v := probes.Judge(&c, probes.ResponseFacts{Answer: a.text, PromptTokensServer: c.PromptTokens})
		if !v.Correct || v.Recall != 1 || a.right != a.asks {
			t.Fatalf("%s: %+v for %q", c.ID, v, a.text)
		}
	}
}
