package endpoint

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/internal/testkit"
	"github.com/needlestorm/needlestorm/run"
)

// Events as the Anthropic API sends them.
func testAnthropicEvent(typ, data string) string {
	return "event: " + typ + "\ndata: " + data + "\n\n"
}

func testAnthropicText(text string) string {
	b, _ := json.Marshal(text)
	return testAnthropicEvent("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":`+string(b)+`}}`)
}

var (
	testAnthropicStart = testAnthropicEvent("message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-test","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":40,"cache_creation_input_tokens":5,"cache_read_input_tokens":10,"output_tokens":1}}}`)
	testAnthropicPing  = testAnthropicEvent("ping", `{"type": "ping"}`)
	testAnthropicThink = testAnthropicEvent("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}`) +
		testAnthropicEvent("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"The number is in the text."}}`) +
		testAnthropicEvent("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQB"}}`) +
		testAnthropicEvent("content_block_stop", `{"type":"content_block_stop","index":0}`)
	testAnthropicBlockStart = testAnthropicEvent("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}`)
	testAnthropicBlockStop  = testAnthropicEvent("content_block_stop", `{"type":"content_block_stop","index":1}`)
	testAnthropicDelta      = testAnthropicEvent("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":7}}`)
	testAnthropicStop       = testAnthropicEvent("message_stop", `{"type":"message_stop"}`)
)

func newTestAnthropic(t testing.TB, url string, mutate func(*TargetConfig)) Target {
	t.Helper()
	cfg := TargetConfig{Kind: KindAnthropic, BaseURL: url, Model: "claude-test"}
	if mutate != nil {
		mutate(&cfg)
	}
	tg, err := NewTarget(cfg, TargetEnv(testEnv))
	if err != nil {
		t.Fatal(err)
	}
	testClose(t, tg)
	return tg
}

func TestAnthropicMeasuresStream(t *testing.T) {
	pieces := []string{testSleep, testAnthropicStart, testAnthropicPing, testSleep, testAnthropicThink, testSleep, testAnthropicBlockStart}
	for _, a := range testAnswer {
		pieces = append(pieces, testAnthropicText(a), testSleep)
	}
	pieces = append(pieces, testAnthropicBlockStop, testAnthropicDelta, testAnthropicStop)
	srv := testkit.NewServer(t, testSSE(pieces...))
	tg := newTestAnthropic(t, srv.URL+"/", nil)

	rec := testSend(t, tg)
	if rec.ErrorClass != "" {
		t.Fatalf("%s: %s", rec.ErrorClass, rec.Error)
	}
	if !(0 < rec.TTFB && rec.TTFB < rec.TTFT && rec.TTFT < rec.E2E) {
		t.Errorf("want 0 < ttfb < ttft < e2e, got %v %v %v", rec.TTFB.Duration(), rec.TTFT.Duration(), rec.E2E.Duration())
	}
	// One thinking delta and five text deltas.
	if len(rec.ChunkGaps) != 5 {
		t.Errorf("%d chunk gaps, want 5", len(rec.ChunkGaps))
	}
	if rec.Answer != "The magic number is 4217." || rec.FinishReason != "end_turn" || rec.Status != 200 {
		t.Errorf("answer %q finish %q status %d", rec.Answer, rec.FinishReason, rec.Status)
	}
	if rec.PromptTokensServer != 55 || rec.CachedTokens != 10 || rec.OutputTokens != 7 || rec.OutputTokensEstimated || rec.PromptTokensClient != 42 {
		t.Errorf("tokens: server %d cached %d output %d estimated %v client %d",
			rec.PromptTokensServer, rec.CachedTokens, rec.OutputTokens, rec.OutputTokensEstimated, rec.PromptTokensClient)
	}
	if want := (rec.E2E.Duration() - rec.TTFT.Duration()) / 6; rec.TPOT.Duration() != want {
		t.Errorf("tpot %v, want %v", rec.TPOT.Duration(), want)
	}

	req := srv.Last(t)
	if req.Path != "/v1/messages" {
		t.Errorf("path %s", req.Path)
	}
	if req.Header.Get("X-Api-Key") != testCanaryKey || req.Header.Get("Anthropic-Version") != "2023-06-01" ||
		req.Header.Get("Content-Type") != "application/json" || req.Header.Get("Authorization") != "" {
		t.Errorf("headers %v", req.Header)
	}
	var body struct {
		Model       string            `json:"model"`
		System      string            `json:"system"`
		Messages    []json.RawMessage `json:"messages"`
		Stream      bool              `json:"stream"`
		MaxTokens   int               `json:"max_tokens"`
		Temperature *float64          `json:"temperature"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatalf("body %s: %v", req.Body, err)
	}
	if body.Model != "claude-test" || body.System != "You answer briefly." || len(body.Messages) != 1 || !body.Stream ||
		body.MaxTokens != DefaultMaxTokens || body.Temperature == nil || *body.Temperature != 0 {
		t.Errorf("body %s", req.Body)
	}
	if strings.Contains(string(body.Messages[0]), "system") {
		t.Errorf("the system message stayed in messages: %s", body.Messages[0])
	}
}

func TestAnthropicStreamEnds(t *testing.T) {
	normal := testAnthropicStart + testAnthropicBlockStart + testAnthropicText("4217") + testAnthropicBlockStop
	tests := []struct {
		name    string
		pieces  []string
		class   string
		answer  string
		wantMsg string
	}{
		{"complete", []string{normal, testAnthropicDelta, testAnthropicStop}, "", "4217", ""},
		{"no message_stop after stop_reason", []string{normal, testAnthropicDelta}, "", "4217", ""},
		{"no stop_reason", []string{normal}, run.ErrStreamBroken, "4217", "before the model finished"},
		{"cut midway", []string{normal, testAbort}, run.ErrStreamBroken, "4217", "broke"},
		{"overloaded mid-stream", []string{normal, testAnthropicEvent("error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)}, run.ErrServerError, "4217", "Overloaded"},
		{"rate limit mid-stream", []string{testAnthropicEvent("error", `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`)}, run.ErrRateLimited, "", "slow down"},
		{"prompt too long mid-stream", []string{testAnthropicEvent("error", `{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}`)}, run.ErrContextOverflow, "", "prompt is too long"},
		{"data not JSON", []string{"event: message_start\ndata: {oops\n\n"}, run.ErrBadResponse, "", "not JSON"},
		{"unknown events are ignored", []string{normal, testAnthropicEvent("future_event", `{"type":"future_event"}`), testAnthropicDelta, testAnthropicStop}, "", "4217", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testkit.NewServer(t, testSSE(tt.pieces...))
			rec := testSend(t, newTestAnthropic(t, srv.URL, nil))
			if rec.ErrorClass != tt.class || rec.Answer != tt.answer {
				t.Fatalf("class %q answer %q (%s), want %q %q", rec.ErrorClass, rec.Answer, rec.Error, tt.class, tt.answer)
			}
			if !strings.Contains(rec.Error, tt.wantMsg) {
				t.Errorf("error %q lacks %q", rec.Error, tt.wantMsg)
			}
		})
	}
}

func TestAnthropicHTTPErrors(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		class      string
		retryAfter time.Duration
		wantMsg    string
	}{
		{"prompt too long", testStatus(400, `{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}`), run.ErrContextOverflow, 0, "prompt is too long"},
		{"request too large", testStatus(413, `{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}`), run.ErrContextOverflow, 0, "request_too_large"},
		{"overloaded 529", testStatus(529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`), run.ErrServerError, 0, "Overloaded"},
		{"rate limited", testStatus(429, `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}`, "Retry-After", "12"), run.ErrRateLimited, 12 * time.Second, "rate limit"},
		{"bad key", testStatus(401, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`), run.ErrBadResponse, 0, "refused the API key (401 Unauthorized): check the variable named in api_key_env (ANTHROPIC_API_KEY)"},
		{"unknown model", testStatus(404, `{"type":"error","error":{"type":"not_found_error","message":"model: claude-nope"}}`), run.ErrBadResponse, 0, "/v1/messages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testkit.NewServer(t, tt.handler)
			rec := testSend(t, newTestAnthropic(t, srv.URL+"/v1", nil))
			if srv.Last(t).Path != "/v1/messages" {
				t.Errorf("a base URL ending in /v1 sent to %s", srv.Last(t).Path)
			}
			if rec.ErrorClass != tt.class {
				t.Fatalf("class %q (%s), want %q", rec.ErrorClass, rec.Error, tt.class)
			}
			if !strings.Contains(rec.Error, tt.wantMsg) {
				t.Errorf("error %q lacks %q", rec.Error, tt.wantMsg)
			}
			if rec.RetryAfter.Duration() != tt.retryAfter {
				t.Errorf("retry_after %v, want %v", rec.RetryAfter.Duration(), tt.retryAfter)
			}
		})
	}
}

func TestAnthropicExtraBodyAndThinking(t *testing.T) {
	srv := testkit.NewServer(t, testSSE(testAnthropicStart, testAnthropicText("ok"), testAnthropicDelta, testAnthropicStop))
	tg := newTestAnthropic(t, srv.URL, func(c *TargetConfig) {
		c.ExtraBody = map[string]any{"thinking": map[string]any{"type": "enabled", "budget_tokens": 1024}, "max_tokens": 2048}
		c.Headers = map[string]string{"Anthropic-Beta": "test-beta"}
	})
	if rec := testSend(t, tg); rec.ErrorClass != "" {
		t.Fatalf("%s: %s", rec.ErrorClass, rec.Error)
	}
	req := srv.Last(t)
	body := string(req.Body)
	if strings.Contains(body, `"temperature"`) || !strings.Contains(body, `"budget_tokens":1024`) || strings.Count(body, `"max_tokens"`) != 1 || !strings.Contains(body, `"max_tokens":2048`) {
		t.Errorf("body %s", body)
	}
	if req.Header.Get("Anthropic-Beta") != "test-beta" {
		t.Errorf("headers %v", req.Header)
	}
	if _, err := NewAnthropic(TargetConfig{Model: "m", ExtraBody: map[string]any{"system": "x"}}, TargetEnv(testEnv)); err == nil {
		t.Error("extra_body could set system")
	}
}

func TestAnthropicCanaryKeyNeverRecorded(t *testing.T) {
	echo := func(r *http.Request) string {
		b, _ := json.Marshal("got key " + r.Header.Get("X-Api-Key"))
		return string(b)
	}
	handlers := map[string]http.HandlerFunc{
		"401": func(w http.ResponseWriter, r *http.Request) {
			testStatus(401, `{"type":"error","error":{"type":"authentication_error","message":`+echo(r)+`}}`)(w, r)
		},
		"500": func(w http.ResponseWriter, r *http.Request) { testStatus(500, echo(r))(w, r) },
		"error event": func(w http.ResponseWriter, r *http.Request) {
			testSSE(testAnthropicStart, testAnthropicEvent("error", `{"type":"error","error":{"type":"api_error","message":`+echo(r)+`}}`))(w, r)
		},
		"bad event": func(w http.ResponseWriter, r *http.Request) {
			testSSE(testAnthropicStart, fmt.Sprintf("event: x\ndata: %s}\n\n", echo(r)))(w, r)
		},
	}
	for name, h := range handlers {
		t.Run(name, func(t *testing.T) {
			srv := testkit.NewServer(t, h)
			rec := testSend(t, newTestAnthropic(t, srv.URL, nil))
			if rec.ErrorClass == "" || !strings.Contains(rec.Error, redactedMark) {
				t.Errorf("class %q error %q: the echo was not scrubbed", rec.ErrorClass, rec.Error)
			}
		})
	}
}
