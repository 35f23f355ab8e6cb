package sim

import (
	"math"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/probes"
)

// runTask answers every Case of a task at one length as the server does
// (reading the whole prompt, nothing queued) and returns the share judged
// correct, the mean of the curve's probabilities over those answers, and
// the answers.
func runTask(t *testing.T, cfg Config, task string, length, samples int) (acc, curve float64, answers []string) {
	t.Helper()
	cs := cases(t, corpus.Matrix{Tasks: []string{task}, Lengths: []int{length}, Depths: []float64{0, 25, 50, 75, 100}, Samples: samples, Seed: 11})
	right := 0
	for _, c := range cs {
		text := c.Messages[0].Content + "\n" + c.Messages[1].Content
		g := newRNG(cfg.Seed, hashPrompt([]string{c.Messages[0].Content, c.Messages[1].Content}), 0, streamAnswer)
		a := cfg.compose(corpus.ReadPrompt(text), text, c.PromptTokens, 0, &g)
		if probes.Judge(&c, probes.ResponseFacts{Answer: a.text, PromptTokensServer: c.PromptTokens}).Correct {
			right++
		}
		curve += a.accuracy
		answers = append(answers, a.text)
	}
	n := float64(len(cs))
	return float64(right) / n, curve / n, answers
}

// TestLatentHarderThanSingle: on the vllm-8b profile the simulator answers
// latent questions right less often than single ones at the same lengths
// (200 cases each, fixed seed), each task within four standard errors of
// its own curve, and a wrong latent answer names another character of the
// prompt.
func TestLatentHarderThanSingle(t *testing.T) {
	cfg, err := Profile("vllm-8b")
	if err != nil {
		t.Fatal(err)
	}
	cfg.TimeScale = 0
	for _, length := range []int{1000, 4000} {
		single, singleCurve, _ := runTask(t, cfg, corpus.TaskSingle, length, 40)
		latent, latentCurve, answers := runTask(t, cfg, corpus.TaskLatent, length, 40)
		t.Logf("length %d: single %.3f (curve %.3f), latent %.3f (curve %.3f), 200 cases each", length, single, singleCurve, latent, latentCurve)
		se := func(p float64) float64 { return 4 * math.Sqrt(p*(1-p)/200) }
		if math.Abs(single-singleCurve) > se(singleCurve)+0.01 || math.Abs(latent-latentCurve) > se(latentCurve)+0.01 {
			t.Errorf("length %d: accuracy off its curve: single %.3f vs %.3f, latent %.3f vs %.3f", length, single, singleCurve, latent, latentCurve)
		}
		if latent > single-0.05 || latentCurve > singleCurve-0.05 {
			t.Errorf("length %d: latent %.3f (curve %.3f) is not clearly below single %.3f (curve %.3f)", length, latent, latentCurve, single, singleCurve)
		}
		for _, a := range answers {
			if !strings.HasPrefix(a, "The character who has been to ") {
				t.Fatalf("latent answer %q names no character", a)
			}
		}
	}
	// the drop comes earlier: at the length where single still holds,
	// latent has fallen below 0.85 of its short-prompt accuracy.
	if r := cfg.LatentAccuracy(8000, 0, 0) / cfg.LatentAccuracy(500, 0, 0); r > 0.85 {
		t.Errorf("latent at 8k keeps %.2f of its short accuracy", r)
	}
	if r := cfg.Accuracy(8000, 0, 0) / cfg.Accuracy(500, 0, 0); r < 0.95 {
		t.Errorf("single at 8k keeps only %.2f of its short accuracy", r)
	}
}

// TestLatentFaithful: a faithful server answers latent right, and a
// never-right one names a distractor, or no one when there is none.
func TestLatentFaithful(t *testing.T) {
	r := corpus.Reading{Task: corpus.TaskLatent, Asks: []corpus.Ask{{Key: "Paris", Values: []string{"Yuki"}}}, Distractors: []string{"Lars"}}
	text := "Actually, Yuki lives next to the Eiffel Tower. Actually, Lars lives next to the Colosseum."
	for seed := range uint64(20) {
		g := newRNG(1, seed, 0, streamAnswer)
		if a := (Config{BaseAccuracy: 1, MaxSeqs: 1}).compose(r, text, 1000, 0, &g); a.right != 1 || !strings.Contains(a.text, "Yuki") {
			t.Fatalf("faithful: %+v", a)
		}
		g = newRNG(1, seed, 0, streamAnswer)
		if a := (Config{BaseAccuracy: 0, MaxSeqs: 1}).compose(r, text, 1000, 0, &g); a.right != 0 || !strings.Contains(a.text, "Lars") {
			t.Fatalf("never right: %+v", a)
		}
		r2 := r
		r2.Distractors = nil
		g = newRNG(1, seed, 0, streamAnswer)
		if a := (Config{BaseAccuracy: 0, MaxSeqs: 1}).compose(r2, text, 1000, 0, &g); strings.Contains(a.text, "Yuki") || !strings.Contains(a.text, "No character") {
			t.Fatalf("never right, no distractor: %+v", a)
		}
	}
}
