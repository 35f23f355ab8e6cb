package sim

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// answers sends prompts (concurrently when parallel) and returns the answer
// text per prompt, the n-th repeat of a prompt under key "prompt#n".
func answers(t *testing.T, cfg Config, prompts []string, repeats int, parallel bool) map[string][]string {
	t.Helper()
	_, ts := startToy(t, cfg)
	var mu sync.Mutex
	out := map[string][]string{}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, p := range prompts {
		for range repeats {
			run := func() {
				defer wg.Done()
				resp, body := post(t, ts.Client(), ts.URL+"/v1/chat/completions", chatBody(p, false))
				var r openAIResponse
				if resp == nil || json.Unmarshal(body, &r) != nil || len(r.Choices) != 1 {
					t.Errorf("bad response %s", body)
					return
				}
				mu.Lock()
				out[p] = append(out[p], r.Choices[0].Message.Content+"|"+resp.Header.Get("X-Sim-Right"))
				mu.Unlock()
			}
			wg.Add(1)
			if parallel {
				sem <- struct{}{}
				go func() { defer func() { <-sem }(); run() }()
			} else {
				run()
			}
		}
	}
	wg.Wait()
	return out
}

func TestSameSeedSameAnswers(t *testing.T) {
	cfg := testConfig(t, func(c *Config) { c.BaseAccuracy = 0.5; c.FaultSlow = 0.3; c.FaultStall = 0.2 })
	var prompts []string
	for i := range 30 {
		prompts = append(prompts, fmt.Sprintf("the value of key-%d is %d. the value of other-%d is %d. What is the value of key-%d?", i, 1000+i, i, 2000+i, i))
	}
	a := answers(t, cfg, prompts, 3, false)
	b := answers(t, cfg, prompts, 3, true)
	cfg.Seed++
	c := answers(t, cfg, prompts, 3, false)
	differ := 0
	for _, p := range prompts {
		// Repeats of one prompt may differ, but the multiset is the same.
		if fmt.Sprint(sortedCopy(a[p])) != fmt.Sprint(sortedCopy(b[p])) {
			t.Fatalf("prompt %q: sequential %v, concurrent %v", p, a[p], b[p])
		}
		if fmt.Sprint(sortedCopy(a[p])) != fmt.Sprint(sortedCopy(c[p])) {
			differ++
		}
	}
	if differ == 0 {
		t.Errorf("another seed gave the same answers to all %d prompts", len(prompts))
	}
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

func TestRNGDependsOnSeedHashOccurrence(t *testing.T) {
	base := newRNG(1, 2, 3, streamAnswer)
	for _, other := range []rng{newRNG(2, 2, 3, streamAnswer), newRNG(1, 3, 3, streamAnswer), newRNG(1, 2, 4, streamAnswer), newRNG(1, 2, 3, streamFault)} {
		a, b := base, other
		if a.next() == b.next() {
			t.Fatalf("two different inputs gave the same draw")
		}
	}
	a, b := newRNG(1, 2, 3, streamAnswer), newRNG(1, 2, 3, streamAnswer)
	for range 10 {
		if a.float64() != b.float64() {
			t.Fatal("same inputs, different draws")
		}
	}
}

// TestServerAnswersFromKeptText uses the toy reader: the server answers
// right when the needle is kept, and can never answer what truncation cut.
func TestServerAnswersFromKeptText(t *testing.T) {
	needle := "the value of blue-otter is 4242. "
	question := " What is the value of blue-otter?"
	tests := []struct {
		name     string
		overflow string
		text     string
		right    bool
	}{
		{"fits", OverflowTruncateLeft, needle + words(50) + question, true},
		{"left cut drops head needle", OverflowTruncateLeft, needle + words(400) + question, false},
		{"left cut keeps tail needle", OverflowTruncateLeft, words(400) + needle + question, true},
		{"right cut drops question", OverflowTruncateRight, needle + words(400) + question, false},
		{"middle cut keeps head needle", OverflowTruncateMiddle, needle + words(400) + question, true},
		{"middle cut drops middle needle", OverflowTruncateMiddle, words(200) + needle + words(200) + question, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ts := startToy(t, testConfig(t, func(c *Config) { c.ContextWindow = 207; c.Overflow = tt.overflow }))
			for i := range 5 {
				resp, body := post(t, ts.Client(), ts.URL+"/v1/chat/completions", chatBody(tt.text, false))
				if resp.StatusCode != 200 {
					t.Fatalf("%d %s", resp.StatusCode, body)
				}
				var r openAIResponse
				if err := json.Unmarshal(body, &r); err != nil {
					t.Fatal(err)
				}
				got := strings.Contains(r.Choices[0].Message.Content, "4242")
				if got != tt.right {
					t.Fatalf("try %d: answer %q, want right=%v", i, r.Choices[0].Message.Content, tt.right)
				}
			}
		})
	}
}

// TestGreedyRepeatsAgree: at temperature 0 repeats of a prompt get the same
// answer; otherwise repeats draw afresh.
func TestGreedyRepeatsAgree(t *testing.T) {
	cfg := testConfig(t, func(c *Config) { c.BaseAccuracy = 0.5 })
	_, ts := startToy(t, cfg)
	prompt := "the value of k-1 is 11. the value of k-2 is 22. What is the value of k-1?"
	for _, tt := range []struct {
		temp     any
		distinct bool
	}{{0.0, false}, {nil, true}} {
		seen := map[string]bool{}
		for range 40 {
			b := chatBody(prompt, false)
			if tt.temp != nil {
				b["temperature"] = tt.temp
			}
			resp, body := post(t, ts.Client(), ts.URL+"/v1/chat/completions", b)
			var r openAIResponse
			if resp == nil || json.Unmarshal(body, &r) != nil {
				t.Fatalf("%s", body)
			}
			seen[r.Choices[0].Message.Content] = true
		}
		if (len(seen) > 1) != tt.distinct {
			t.Errorf("temperature %v: %d distinct answers in 40 repeats", tt.temp, len(seen))
		}
	}
}
