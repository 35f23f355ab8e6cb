package sim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func TestOverflowReject(t *testing.T) {
	cfg := testConfig(t, func(c *Config) { c.ContextWindow = 200 })
	s, ts := startTest(t, cfg)
	text := words(300)
	sent := s.tok.Count(text) + cfg.TemplateOverhead

	resp, body := post(t, ts.Client(), ts.URL+"/v1/chat/completions", chatBody(text, true))
	var oe openAIErrorBody
	if err := json.Unmarshal(body, &oe); err != nil || resp.StatusCode != 400 {
		t.Fatalf("%v %s", err, body)
	}
	wantMsg := fmt.Sprintf("This model's maximum context length is 200 tokens. However, you requested %d tokens", sent)
	if !strings.HasPrefix(oe.Error.Message, wantMsg) || oe.Error.Type != "invalid_request_error" ||
		oe.Error.Code == nil || *oe.Error.Code != "context_length_exceeded" || oe.Error.Param == nil || *oe.Error.Param != "messages" {
		t.Errorf("OpenAI overflow error %s", body)
	}

	ab := anthropicBody(text, 10, false)
	delete(ab, "system")
	resp, body = post(t, ts.Client(), ts.URL+"/v1/messages", ab)
	var ae anthropicErrorBody
	if err := json.Unmarshal(body, &ae); err != nil || resp.StatusCode != 400 {
		t.Fatalf("%v %s", err, body)
	}
	if ae.Type != "error" || ae.Error.Type != "invalid_request_error" || ae.Error.Message != fmt.Sprintf("prompt is too long: %d tokens > 200 maximum", sent) {
		t.Errorf("Anthropic overflow error %s", body)
	}

	// Just fitting is accepted.
	fit := strings.Join(strings.Fields(text)[:40], " ")
	if n := s.tok.Count(fit) + cfg.TemplateOverhead; n > 200 {
		t.Fatalf("test prompt too long: %d", n)
	}
	if resp, body := post(t, ts.Client(), ts.URL+"/v1/chat/completions", chatBody(fit, false)); resp.StatusCode != 200 {
		t.Errorf("fitting prompt: %d %s", resp.StatusCode, body)
	}

	// As vLLM does, the room asked for the answer counts too: a prompt that
	// fits, with a max_tokens that does not, is refused, saying both.
	n := s.tok.Count(fit) + cfg.TemplateOverhead
	b := chatBody(fit, false)
	b["max_tokens"] = 200 - n + 1
	resp, body = post(t, ts.Client(), ts.URL+"/v1/chat/completions", b)
	if err := json.Unmarshal(body, &oe); err != nil || resp.StatusCode != 400 {
		t.Fatalf("prompt + max_tokens over the window: %d %s", resp.StatusCode, body)
	}
	want := fmt.Sprintf("However, you requested 201 tokens (%d in the messages, %d in the completion)", n, 200-n+1)
	if !strings.Contains(oe.Error.Message, want) {
		t.Errorf("message %q, want it to contain %q", oe.Error.Message, want)
	}
	b["max_tokens"] = 200 - n
	if resp, body := post(t, ts.Client(), ts.URL+"/v1/chat/completions", b); resp.StatusCode != 200 {
		t.Errorf("prompt + max_tokens exactly the window: %d %s", resp.StatusCode, body)
	}
}

// TestOverflowTruncate sends a prompt over the window to servers of each
// truncating mode and checks the counts they report: usage.prompt_tokens is
// what was kept plus the template, and the X-Sim headers say what was sent
// and kept. Which part was kept is checked by TestKeptText and, with real
// Cases and canaries, by TestRealCasesTruncation.
func TestOverflowTruncate(t *testing.T) {
	for _, mode := range []string{OverflowTruncateLeft, OverflowTruncateRight, OverflowTruncateMiddle} {
		t.Run(mode, func(t *testing.T) {
			cfg := testConfig(t, func(c *Config) { c.ContextWindow = 107; c.Overflow = mode })
			s, ts := startTest(t, cfg)
			text := words(400)
			sent := s.tok.Count(text)
			resp, body := post(t, ts.Client(), ts.URL+"/v1/chat/completions", chatBody(text, false))
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			var r openAIResponse
			if err := json.Unmarshal(body, &r); err != nil {
				t.Fatal(err)
			}
			if r.Usage.PromptTokens != 107 {
				t.Errorf("prompt_tokens %d, want the window 107 (100 kept + 7 template)", r.Usage.PromptTokens)
			}
			if got := resp.Header.Get("X-Sim-Prompt-Tokens-Kept"); got != "100" {
				t.Errorf("kept %s, want 100", got)
			}
			if got := resp.Header.Get("X-Sim-Prompt-Tokens-Sent"); got != strconv.Itoa(sent) {
				t.Errorf("sent %s, want %d", got, sent)
			}
		})
	}
}
