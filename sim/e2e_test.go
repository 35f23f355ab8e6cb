package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
)

// cases builds real needle Cases from the corpus package. The bound only
// keeps a broken build from hanging the test: 100 cwe cases of 8k tokens
// took over 30 s under the race detector on a loaded 2-core machine.
func cases(t *testing.T, m corpus.Matrix) []corpus.Case {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cs, err := m.Cases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) == 0 {
		t.Fatal("no cases")
	}
	return cs
}

// ask sends a Case's messages to the OpenAI endpoint and returns the
// response, its answer and its usage.
func ask(t *testing.T, client *http.Client, base string, c corpus.Case) (*http.Response, string, openAIUsage) {
	t.Helper()
	body := map[string]any{"model": "m", "messages": c.Messages}
	resp, raw := post(t, client, base+"/v1/chat/completions", body)
	if resp == nil {
		t.Fatalf("%s", raw)
	}
	var r openAIResponse
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(raw, &r); err != nil || len(r.Choices) != 1 {
			t.Fatalf("%v %s", err, raw)
		}
		return resp, r.Choices[0].Message.Content, r.Usage
	}
	return resp, string(raw), openAIUsage{}
}

func hasAll(answer string, values []string) bool {
	for _, v := range values {
		if !strings.Contains(strings.ToLower(answer), strings.ToLower(v)) {
			return false
		}
	}
	return true
}

// TestRealCasesAnsweredRight: a faithful server answers every task right and
// counts prompt tokens as the client does, plus the template.
func TestRealCasesAnsweredRight(t *testing.T) {
	cfg := testConfig(t, nil)
	_, ts := startTest(t, cfg)
	cs := cases(t, corpus.Matrix{Tasks: corpus.Tasks, Lengths: []int{500, 2000}, Depths: []float64{0, 50, 100}, Seed: 3, Canaries: true})
	for _, c := range cs {
		resp, answer, usage := ask(t, ts.Client(), ts.URL, c)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", c.ID, resp.StatusCode, answer)
		}
		if usage.PromptTokens != c.PromptTokens+cfg.TemplateOverhead {
			t.Errorf("%s: prompt_tokens %d, want %d + %d", c.ID, usage.PromptTokens, c.PromptTokens, cfg.TemplateOverhead)
		}
		want := append([]string(nil), c.Expected...)
		if c.Canaries != nil {
			want = append(want, c.Canaries.Head, c.Canaries.Tail)
		}
		if !hasAll(answer, want) {
			t.Errorf("%s: answer %q lacks some of %v", c.ID, answer, want)
		}
	}
}

// TestRealCasesTruncation: past the window, each overflow behaviour loses
// the right canary and the needles it cut, and reject answers 400.
func TestRealCasesTruncation(t *testing.T) {
	cs := cases(t, corpus.Matrix{Tasks: []string{corpus.TaskSingle}, Lengths: []int{4000}, Depths: []float64{5, 50, 95}, Seed: 5, Canaries: true})
	tests := []struct {
		overflow string
		head     bool
		tail     bool
		// found reports whether the needle at depth survives.
		found func(depth float64) bool
	}{
		{OverflowTruncateLeft, false, true, func(d float64) bool { return d > 60 }},
		{OverflowTruncateRight, false, false, func(float64) bool { return false }}, // the question at the end is cut
		{OverflowTruncateMiddle, true, true, func(d float64) bool { return d < 20 || d > 80 }},
	}
	for _, tt := range tests {
		t.Run(tt.overflow, func(t *testing.T) {
			cfg := testConfig(t, func(c *Config) { c.ContextWindow = 2007; c.Overflow = tt.overflow })
			_, ts := startTest(t, cfg)
			for _, c := range cs {
				resp, answer, usage := ask(t, ts.Client(), ts.URL, c)
				if resp.StatusCode != 200 || usage.PromptTokens != 2007 {
					t.Fatalf("%s: %d, prompt_tokens %d, want 200 and 2007", c.ID, resp.StatusCode, usage.PromptTokens)
				}
				if got := hasAll(answer, []string{c.Canaries.Head}); got != tt.head {
					t.Errorf("%s: head canary answered=%v, want %v: %q", c.ID, got, tt.head, answer)
				}
				if got := hasAll(answer, []string{c.Canaries.Tail}); got != tt.tail {
					t.Errorf("%s: tail canary answered=%v, want %v: %q", c.ID, got, tt.tail, answer)
				}
				if got, want := hasAll(answer, c.Expected), tt.found(c.ActualDepth); got != want {
					t.Errorf("%s (depth %.0f): needle answered=%v, want %v: %q", c.ID, c.ActualDepth, got, want, answer)
				}
			}
		})
	}
	_, ts := startTest(t, testConfig(t, func(c *Config) { c.ContextWindow = 2007 }))
	if resp, body, _ := ask(t, ts.Client(), ts.URL, cs[0]); resp.StatusCode != 400 || !strings.Contains(body, "context_length_exceeded") {
		t.Errorf("reject: %d %s", resp.StatusCode, body)
	}
}

// TestRealCasesLostInTheMiddle: with a strong middle dip the server answers
// needles at the ends more often than in the middle.
func TestRealCasesLostInTheMiddle(t *testing.T) {
	cfg := testConfig(t, func(c *Config) { c.BaseAccuracy, c.MiddleDip, c.EffectiveLength = 1, 0.8, 1000 })
	_, ts := startTest(t, cfg)
	cs := cases(t, corpus.Matrix{Tasks: []string{corpus.TaskSingle}, Lengths: []int{1000}, Depths: []float64{0, 50, 100}, Samples: 40, Seed: 9})
	right := map[float64]int{}
	total := map[float64]int{}
	for _, c := range cs {
		_, answer, _ := ask(t, ts.Client(), ts.URL, c)
		total[c.Depth]++
		if hasAll(answer, c.Expected) {
			right[c.Depth]++
		}
	}
	ends := float64(right[0]+right[100]) / float64(total[0]+total[100])
	mid := float64(right[50]) / float64(total[50])
	if !(ends > 0.85 && mid < 0.5) {
		t.Errorf("accuracy at the ends %.2f, in the middle %.2f: want a U shape", ends, mid)
	}
}
