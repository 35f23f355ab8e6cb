package sim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// anthropicEvent is one decoded server-sent event.
type anthropicEvent struct {
	name string
	data map[string]any
}

// decodeAnthropicStream is a strict decoder of the Messages API event
// stream: every event is "event: NAME\ndata: JSON\n\n", the data's type
// equals the event name, and unknown fields are errors.
func decodeAnthropicStream(body []byte) ([]anthropicEvent, error) {
	var evs []anthropicEvent
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		name, ok := strings.CutPrefix(line, "event: ")
		if !ok {
			return evs, fmt.Errorf("expected an event: line, got %q", line)
		}
		if !sc.Scan() {
			return evs, fmt.Errorf("event %s has no data line", name)
		}
		raw, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			return evs, fmt.Errorf("event %s: expected a data: line, got %q", name, sc.Text())
		}
		if !sc.Scan() || sc.Text() != "" {
			return evs, fmt.Errorf("event %s: no blank line after data", name)
		}
		var data map[string]any
		if err := json.Unmarshal([]byte(raw), &data); err != nil {
			return evs, fmt.Errorf("event %s: %w", name, err)
		}
		if data["type"] != name {
			return evs, fmt.Errorf("event %s carries type %v", name, data["type"])
		}
		if err := checkKeys(name, data); err != nil {
			return evs, err
		}
		evs = append(evs, anthropicEvent{name, data})
	}
	return evs, sc.Err()
}

// checkKeys requires exactly the documented fields of each event.
func checkKeys(name string, data map[string]any) error {
	want := map[string][]string{
		"message_start":       {"type", "message"},
		"content_block_start": {"type", "index", "content_block"},
		"ping":                {"type"},
		"content_block_delta": {"type", "index", "delta"},
		"content_block_stop":  {"type", "index"},
		"message_delta":       {"type", "delta", "usage"},
		"message_stop":        {"type"},
	}[name]
	if want == nil {
		return fmt.Errorf("unknown event %s", name)
	}
	if len(data) != len(want) {
		return fmt.Errorf("event %s has fields %v, want %v", name, keys(data), want)
	}
	for _, k := range want {
		if _, ok := data[k]; !ok {
			return fmt.Errorf("event %s lacks %s", name, k)
		}
	}
	return nil
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func anthropicBody(text string, maxTokens int, stream bool) map[string]any {
	return map[string]any{
		"model":      "claude-sim",
		"max_tokens": maxTokens,
		"system":     "You answer briefly.",
		"messages":   []map[string]any{{"role": "user", "content": []map[string]any{{"type": "text", "text": text}}}},
		"stream":     stream,
	}
}

func TestAnthropicStreamStrict(t *testing.T) {
	for _, tt := range []struct {
		maxTokens int
		stop      string
	}{{1000, "end_turn"}, {2, "max_tokens"}} {
		cfg := testConfig(t, func(c *Config) { c.TimeScale = 0.001 })
		s, ts := startTest(t, cfg)
		resp, body := post(t, ts.Client(), ts.URL+"/v1/messages", anthropicBody(words(40), tt.maxTokens, true), "anthropic-version", "2023-06-01")
		if resp == nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("response %v: %s", resp, body)
		}
		evs, err := decodeAnthropicStream(body)
		if err != nil {
			t.Fatalf("%v\n%s", err, body)
		}
		var names []string
		var text strings.Builder
		for _, e := range evs {
			if len(names) == 0 || names[len(names)-1] != e.name || e.name != "content_block_delta" {
				names = append(names, e.name)
			}
			if e.name == "content_block_delta" {
				d := e.data["delta"].(map[string]any)
				if d["type"] != "text_delta" || len(d) != 2 || e.data["index"] != 0.0 {
					t.Fatalf("delta %v", e.data)
				}
				text.WriteString(d["text"].(string))
			}
		}
		if got := strings.Join(names, ","); got != "message_start,content_block_start,ping,content_block_delta,content_block_stop,message_delta,message_stop" {
			t.Fatalf("event order %s", got)
		}
		msg := evs[0].data["message"].(map[string]any)
		for _, k := range []string{"id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"} {
			if _, ok := msg[k]; !ok {
				t.Errorf("message_start.message lacks %s", k)
			}
		}
		wantIn := s.tok.Count("You answer briefly.") + s.tok.Count(words(40)) + cfg.TemplateOverhead
		if in := msg["usage"].(map[string]any)["input_tokens"]; in != float64(wantIn) {
			t.Errorf("input_tokens %v, want %d", in, wantIn)
		}
		if cb := evs[1].data["content_block"].(map[string]any); cb["type"] != "text" || cb["text"] != "" {
			t.Errorf("content_block %v", cb)
		}
		md := evs[len(evs)-2].data
		if md["delta"].(map[string]any)["stop_reason"] != tt.stop {
			t.Errorf("stop_reason %v, want %s", md["delta"], tt.stop)
		}
		out := md["usage"].(map[string]any)["output_tokens"].(float64)
		if int(out) != s.tok.Count(text.String()) || tt.stop == "max_tokens" && int(out) != tt.maxTokens {
			t.Errorf("output_tokens %v for %q", out, text.String())
		}
	}
}

func TestAnthropicNonStreaming(t *testing.T) {
	cfg := testConfig(t, nil)
	s, ts := startTest(t, cfg)
	resp, body := post(t, ts.Client(), ts.URL+"/v1/messages", anthropicBody("hello there", 100, false))
	if resp == nil || resp.StatusCode != 200 {
		t.Fatalf("%v %s", resp, body)
	}
	var m struct {
		ID         string  `json:"id"`
		Type       string  `json:"type"`
		Role       string  `json:"role"`
		Model      string  `json:"model"`
		Content    []part  `json:"content"`
		StopReason string  `json:"stop_reason"`
		StopSeq    *string `json:"stop_sequence"`
		Usage      struct {
			InputTokens              int `json:"input_tokens"`
			OutputTokens             int `json:"output_tokens"`
			CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
			CacheReadInputTokens     int `json:"cache_read_input_tokens"`
		} `json:"usage"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if m.Type != "message" || m.Role != "assistant" || m.Model != "claude-sim" || !strings.HasPrefix(m.ID, "msg_") || m.StopReason != "end_turn" {
		t.Errorf("message %+v", m)
	}
	if len(m.Content) != 1 || m.Content[0].Type != "text" || s.tok.Count(m.Content[0].Text) != m.Usage.OutputTokens {
		t.Errorf("content %+v usage %+v", m.Content, m.Usage)
	}
	if want := s.tok.Count("You answer briefly.") + s.tok.Count("hello there") + cfg.TemplateOverhead; m.Usage.InputTokens != want {
		t.Errorf("input_tokens %d, want %d", m.Usage.InputTokens, want)
	}
}
