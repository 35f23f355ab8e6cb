package endpoint

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/internal/testkit"

	"github.com/needlestorm/needlestorm/run"
)

// Chunks as vLLM sends them.
func testChunk(content string) string {
	b, _ := json.Marshal(content)
	return `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":` + string(b) + `},"logprobs":null,"finish_reason":null}]}` + "\n\n"
}

const (
	testRoleChunk   = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}` + "\n\n"
	testFinishChunk = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"stop"}]}` + "\n\n"
	testUsageChunk  = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":50,"total_tokens":56,"completion_tokens":6,"prompt_tokens_details":{"cached_tokens":16}}}` + "\n\n"
	testDone        = "data: [DONE]\n\n"
)

var testAnswer = []string{"The", " magic", " number", " is", " 4217."}

func newTestOpenAI(t testing.TB, url string, mutate func(*TargetConfig), opts ...TargetOption) Target {
	t.Helper()
	cfg := TargetConfig{Kind: KindOpenAI, BaseURL: url + "/v1", Model: "test-model"}
	if mutate != nil {
		mutate(&cfg)
	}
	tg, err := NewOpenAI(cfg, append([]TargetOption{TargetEnv(testEnv)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	testClose(t, tg)
	return tg
}

func testSend(t testing.TB, tg Target) *run.Record {
	t.Helper()
	return testSendCtx(context.Background(), t, tg)
}

func testSendCtx(ctx context.Context, t testing.TB, tg Target) *run.Record {
	t.Helper()
	rec := &run.Record{}
	tg.Send(ctx, testCase(), rec)
	testNoSecret(t, rec)
	return rec
}

func TestOpenAIMeasuresNormalStream(t *testing.T) {
	pieces := []string{testSleep, testSleep, testRoleChunk, testSleep}
	for _, a := range testAnswer {
		pieces = append(pieces, testChunk(a), testSleep)
	}
	pieces = append(pieces, testFinishChunk, testUsageChunk, testDone)
	srv := testkit.NewServer(t, testSSE(pieces...))
	tg := newTestOpenAI(t, srv.URL, nil)

	before := time.Now()
	rec := testSend(t, tg)
	after := time.Now()

	if rec.ErrorClass != "" {
		t.Fatalf("error %s: %s", rec.ErrorClass, rec.Error)
	}
	if rec.SentAt.Before(before) || rec.SentAt.After(after) {
		t.Errorf("sent_at %v outside [%v, %v]", rec.SentAt, before, after)
	}
	if !(0 < rec.TTFB && rec.TTFB < rec.TTFT && rec.TTFT < rec.E2E) {
		t.Errorf("want 0 < ttfb < ttft < e2e, got %v %v %v", rec.TTFB.Duration(), rec.TTFT.Duration(), rec.E2E.Duration())
	}
	// The server waits 30 ms after the headers before the role chunk, and the
	// role chunk must not count as the first token.
	if d := rec.TTFT.Duration() - rec.TTFB.Duration(); d < 40*time.Millisecond {
		t.Errorf("ttft - ttfb = %v: the empty role chunk was counted as a token", d)
	}
	if len(rec.ChunkGaps) != len(testAnswer)-1 {
		t.Fatalf("%d chunk gaps, want %d", len(rec.ChunkGaps), len(testAnswer)-1)
	}
	var sum time.Duration
	for _, g := range rec.ChunkGaps {
		if g.Duration() < 10*time.Millisecond {
			t.Errorf("gap %v shorter than the server's 15 ms pause", g.Duration())
		}
		sum += g.Duration()
	}
	if sum > (rec.E2E - rec.TTFT).Duration() {
		t.Errorf("gaps sum %v beyond e2e - ttft %v", sum, (rec.E2E - rec.TTFT).Duration())
	}
	wantTPOT := (rec.E2E.Duration() - rec.TTFT.Duration()) / time.Duration(6-1)
	if rec.TPOT.Duration() != wantTPOT {
		t.Errorf("tpot %v, want (e2e-ttft)/(6-1) = %v", rec.TPOT.Duration(), wantTPOT)
	}
	if rec.PromptTokensClient != 42 || rec.PromptTokensServer != 50 || rec.OutputTokens != 6 || rec.CachedTokens != 16 || rec.OutputTokensEstimated {
		t.Errorf("tokens: client %d server %d output %d cached %d estimated %v",
			rec.PromptTokensClient, rec.PromptTokensServer, rec.OutputTokens, rec.CachedTokens, rec.OutputTokensEstimated)
	}
	if rec.FinishReason != "stop" || rec.Status != 200 || rec.Answer != "The magic number is 4217." {
		t.Errorf("finish %q status %d answer %q", rec.FinishReason, rec.Status, rec.Answer)
	}
	if rec.Target != "test-model" || rec.Model != "test-model" || rec.RetryAfter != 0 || rec.Error != "" {
		t.Errorf("target %q model %q retry_after %v error %q", rec.Target, rec.Model, rec.RetryAfter, rec.Error)
	}

	req := srv.Last(t)
	if req.Path != "/v1/chat/completions" {
		t.Errorf("path %s", req.Path)
	}
	if got := req.Header.Get("Authorization"); got != "Bearer "+testCanaryKey {
		t.Errorf("Authorization %q", got)
	}
	var body map[string]any
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatalf("request body %s: %v", req.Body, err)
	}
	so, _ := body["stream_options"].(map[string]any)
	msgs, _ := body["messages"].([]any)
	if body["model"] != "test-model" || body["stream"] != true || body["max_tokens"] != float64(DefaultMaxTokens) ||
		body["temperature"] != float64(0) || so["include_usage"] != true || len(msgs) != 2 {
		t.Errorf("request body %s", req.Body)
	}
}

func TestOpenAISSEEdgeCases(t *testing.T) {
	answer := strings.Join(testAnswer, "")
	chunks := func(sep string) string {
		var b strings.Builder
		for _, a := range testAnswer {
			b.WriteString(strings.ReplaceAll(testChunk(a), "\n", sep))
		}
		return b.String()
	}
	normal := testRoleChunk + chunks("\n") + testFinishChunk + testUsageChunk
	reasoning := func(field string) string {
		return `data: {"choices":[{"index":0,"delta":{"` + field + `":"Let me think."},"finish_reason":null}]}` + "\n\n"
	}
	tests := []struct {
		name       string
		pieces     []string
		class      string
		answer     string
		finish     string
		chunks     int // content+reasoning chunks; -1 = don't check
		estimated  bool
		wantErrMsg string
	}{
		{"keep-alive comments beyond go-openai's limit", []string{strings.Repeat(": keep-alive\n\n", 1000), normal, testDone}, "", answer, "stop", 5, false, ""},
		{"event lines", []string{"event: message\n" + strings.ReplaceAll(normal, "data: ", "event: chunk\ndata: "), testDone}, "", answer, "stop", 5, false, ""},
		{"data without a space", []string{strings.ReplaceAll(normal, "data: ", "data:"), "data:[DONE]\n\n"}, "", answer, "stop", 5, false, ""},
		{"CRLF line endings", []string{strings.ReplaceAll(normal+testDone, "\n", "\r\n")}, "", answer, "stop", 5, false, ""},
		{"bare CR line endings", []string{strings.ReplaceAll(normal+testDone, "\n", "\r")}, "", answer, "stop", 5, false, ""},
		{"extra empty lines and id fields", []string{"\n\n\nid: 1\nretry: 10\n", strings.ReplaceAll(normal, "\n\n", "\n\n\n\n"), testDone}, "", answer, "stop", 5, false, ""},
		{"missing [DONE] after finish", []string{normal}, "", answer, "stop", 5, false, ""},
		{"missing [DONE] and no finish", []string{testRoleChunk, chunks("\n")}, run.ErrStreamBroken, answer, "", 5, true, "before the model finished"},
		{"cut in the middle of a line after finish", []string{normal, `data: {"choi`}, "", answer, "stop", 5, false, ""},
		{"cut in the middle of a line", []string{testRoleChunk, testChunk("The"), `data: {"choices":[{"ind`}, run.ErrStreamBroken, "The", "", 1, true, "middle"},
		{"connection cut midway", []string{testRoleChunk, testChunk("The"), testAbort}, run.ErrStreamBroken, "The", "", 1, true, "broke"},
		{"reasoning_content counts for ttft", []string{reasoning("reasoning_content"), normal, testDone}, "", answer, "stop", 6, false, ""},
		{"reasoning counts for ttft", []string{reasoning("reasoning"), normal, testDone}, "", answer, "stop", 6, false, ""},
		{"no usage: estimate", []string{testRoleChunk, chunks("\n"), testFinishChunk, testDone}, "", answer, "stop", 5, true, ""},
		{"html instead of a stream", []string{"<html>\n<body>Welcome to nginx</body>\n</html>\n"}, run.ErrBadResponse, "", "", 0, true, "not with an event stream"},
		{"non-streamed JSON answer", []string{`{"id":"x","object":"chat.completion","choices":[{"message":{"content":"4217"}}]}`, "\n"}, run.ErrBadResponse, "", "", 0, true, "not with an event stream"},
		{"non-streamed JSON answer without newline", []string{`{"id":"x","object":"chat.completion","choices":[{"message":{"content":"4217"}}]}`}, run.ErrBadResponse, "", "", 0, true, "not with an event stream"},
		{"cut in the first line", []string{`data: {"choices":[{"ind`}, run.ErrStreamBroken, "", "", 0, true, "middle"},
		{"data that is not JSON", []string{testRoleChunk, "data: hello there\n\n"}, run.ErrBadResponse, "", "", 0, true, "not JSON"},
		{"empty body", nil, run.ErrStreamBroken, "", "", 0, true, "before any event"},
		{"error chunk with overflow", []string{`data: {"error":{"message":"This model's maximum context length is 4096 tokens.","type":"BadRequestError","code":400}}` + "\n\n"}, run.ErrContextOverflow, "", "", 0, true, "maximum context length"},
		{"vLLM error object", []string{testRoleChunk, testChunk("The"), `data: {"object":"error","message":"engine died","type":"InternalServerError","code":500}` + "\n\n"}, run.ErrServerError, "The", "", 1, true, "engine died"},
		{"llama.cpp error line", []string{`error: {"code":400,"message":"the request exceeds the available context size, try increasing it","type":"invalid_request_error"}` + "\n\n"}, run.ErrContextOverflow, "", "", 0, true, "available context size"},
		{"TGI error chunk", []string{"data: {\"error\":\"Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4000 `inputs` tokens and 256 `max_new_tokens`\",\"error_type\":\"validation\"}\n\n"}, run.ErrContextOverflow, "", "", 0, true, "must be <= 4096"},
		{"error chunk without code", []string{testRoleChunk, `data: {"error":{"message":"CUDA out of memory"}}` + "\n\n"}, run.ErrServerError, "", "", 0, true, "CUDA out of memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testkit.NewServer(t, testSSE(tt.pieces...))
			tg := newTestOpenAI(t, srv.URL, nil)
			rec := testSend(t, tg)
			if rec.ErrorClass != tt.class {
				t.Fatalf("class %q (%s), want %q", rec.ErrorClass, rec.Error, tt.class)
			}
			if tt.wantErrMsg != "" && !strings.Contains(rec.Error, tt.wantErrMsg) {
				t.Errorf("error %q lacks %q", rec.Error, tt.wantErrMsg)
			}
			if rec.Answer != tt.answer || rec.FinishReason != tt.finish {
				t.Errorf("answer %q finish %q, want %q %q", rec.Answer, rec.FinishReason, tt.answer, tt.finish)
			}
			if tt.chunks >= 0 {
				wantGaps := max(tt.chunks-1, 0)
				if len(rec.ChunkGaps) != wantGaps {
					t.Errorf("%d chunk gaps, want %d", len(rec.ChunkGaps), wantGaps)
				}
				if (tt.chunks > 0) != (rec.TTFT > 0) {
					t.Errorf("ttft %v with %d chunks", rec.TTFT.Duration(), tt.chunks)
				}
			}
			if rec.OutputTokensEstimated != tt.estimated {
				t.Errorf("output_tokens_estimated %v, want %v", rec.OutputTokensEstimated, tt.estimated)
			}
			if rec.Status != 200 || rec.E2E <= 0 || rec.TTFB <= 0 {
				t.Errorf("status %d e2e %v ttfb %v", rec.Status, rec.E2E, rec.TTFB)
			}
			if tt.class != "" && rec.TPOT != 0 {
				t.Errorf("tpot %v on a failed request", rec.TPOT)
			}
		})
	}
}

func TestOpenAIOutputTokenEstimate(t *testing.T) {
	srv := testkit.NewServer(t, testSSE(testChunk("The magic number"), testChunk(" is 4217."), testFinishChunk, testDone))
	rec := testSend(t, newTestOpenAI(t, srv.URL, nil))
	tok, err := corpus.GetTokenizer(corpus.DefaultEncoding)
	if err != nil {
		t.Fatal(err)
	}
	want := tok.Count("The magic number is 4217.")
	if !rec.OutputTokensEstimated || rec.OutputTokens != want {
		t.Fatalf("output tokens %d (estimated %v), want the tokenizer's %d", rec.OutputTokens, rec.OutputTokensEstimated, want)
	}
	if wantTPOT := (rec.E2E.Duration() - rec.TTFT.Duration()) / time.Duration(want-1); rec.TPOT.Duration() != wantTPOT {
		t.Errorf("tpot %v, want %v", rec.TPOT.Duration(), wantTPOT)
	}
}

func TestOpenAIErrorClasses(t *testing.T) {
	date := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		class      string
		status     int
		retryAfter time.Duration // tolerance 2 s
		wantMsg    string
	}{
		{"429 retry-after seconds", testStatus(429, `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`, "Retry-After", "7"), run.ErrRateLimited, 429, 7 * time.Second, "Rate limit reached"},
		{"429 retry-after date", testStatus(429, `{"error":"slow down"}`, "Retry-After", date), run.ErrRateLimited, 429, 30 * time.Second, "slow down"},
		{"429 retry-after-ms", testStatus(429, `{}`, "Retry-After-Ms", "1500", "Retry-After", "9"), run.ErrRateLimited, 429, 1500 * time.Millisecond, "429"},
		{"500", testStatus(500, `Internal Server Error`, "Content-Type", "text/plain"), run.ErrServerError, 500, 0, "Internal Server Error"},
		{"503 with retry-after", testStatus(503, `{"error":{"message":"Service Unavailable","code":503}}`, "Retry-After", "2"), run.ErrServerError, 503, 2 * time.Second, "Service Unavailable"},
		{"OpenAI overflow", testStatus(400, `{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`), run.ErrContextOverflow, 400, 0, "maximum context length"},
		{"vLLM overflow", testStatus(400, `{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 4352 tokens (4096 in the messages, 256 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","param":null,"code":400}`), run.ErrContextOverflow, 400, 0, "4096"},
		{"vLLM V1 overflow", testStatus(400, `{"error":{"message":"The decoder prompt (length 9000) is longer than the maximum model length of 8192. Make sure that `+"`max_model_len`"+` is no smaller than the number of text tokens.","type":"BadRequestError","param":null,"code":400}}`), run.ErrContextOverflow, 400, 0, "maximum model length"},
		{"llama.cpp overflow", testStatus(400, `{"error":{"code":400,"message":"request (5000 tokens) exceeds the available context size (4096 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":5000,"n_ctx":4096}}`), run.ErrContextOverflow, 400, 0, "exceeds the available context size"},
		{"TGI overflow", testStatus(422, "{\"error\":\"Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4000 `inputs` tokens and 256 `max_new_tokens`\",\"error_type\":\"validation\"}"), run.ErrContextOverflow, 422, 0, "must be <= 4096"},
		{"TGI input length", testStatus(422, "{\"error\":\"Input validation error: `inputs` must have less than 2048 tokens. Given: 3000\",\"error_type\":\"validation\"}"), run.ErrContextOverflow, 422, 0, "less than 2048"},
		{"Ollama overflow", testStatus(400, `{"error":"the input length exceeds the context length"}`), run.ErrContextOverflow, 400, 0, "input length exceeds"},
		{"413 from a proxy", testStatus(413, "<html><head><title>413 Request Entity Too Large</title></head></html>", "Content-Type", "text/html"), run.ErrContextOverflow, 413, 0, "413"},
		{"400 other", testStatus(400, `{"error":{"message":"temperature must be a float","type":"invalid_request_error"}}`), run.ErrBadResponse, 400, 0, "temperature must be a float"},
		{"401", testStatus(401, `{"error":{"message":"Incorrect API key provided","code":"invalid_api_key"}}`), run.ErrBadResponse, 401, 0, "refused the API key (401 Unauthorized): check the variable named in api_key_env (OPENAI_API_KEY)"},
		{"403", testStatus(403, `{"error":"forbidden"}`), run.ErrBadResponse, 403, 0, "denied access"},
		{"404 model", testStatus(404, `{"object":"error","message":"The model `+"`x`"+` does not exist.","type":"NotFoundError","code":404}`), run.ErrBadResponse, 404, 0, "check base_url"},
		{"408", testStatus(408, `timeout`), run.ErrTimeout, 408, 0, "408"},
		{"302 redirect", testStatus(302, ``, "Location", "https://elsewhere/v1/chat/completions"), run.ErrBadResponse, 302, 0, "redirected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testkit.NewServer(t, tt.handler)
			rec := testSend(t, newTestOpenAI(t, srv.URL, nil))
			if rec.ErrorClass != tt.class || rec.Status != tt.status {
				t.Fatalf("class %q status %d (%s), want %q %d", rec.ErrorClass, rec.Status, rec.Error, tt.class, tt.status)
			}
			if !strings.Contains(rec.Error, tt.wantMsg) {
				t.Errorf("error %q lacks %q", rec.Error, tt.wantMsg)
			}
			if d := rec.RetryAfter.Duration() - tt.retryAfter; d < -2*time.Second || d > 2*time.Second {
				t.Errorf("retry_after %v, want about %v", rec.RetryAfter.Duration(), tt.retryAfter)
			}
			if rec.TTFB <= 0 || rec.E2E < rec.TTFB || rec.TTFT != 0 || rec.Answer != "" {
				t.Errorf("ttfb %v e2e %v ttft %v answer %q", rec.TTFB, rec.E2E, rec.TTFT, rec.Answer)
			}
		})
	}
}

func TestOpenAIMissingKeyMessage(t *testing.T) {
	srv := testkit.NewServer(t, testStatus(401, `{"error":"no key"}`))
	tg, err := NewOpenAI(TargetConfig{BaseURL: srv.URL + "/v1", Model: "m", APIKeyEnv: "EMPTY_KEY"}, TargetEnv(testEnv))
	if err != nil {
		t.Fatal(err)
	}
	testClose(t, tg)
	rec := testSend(t, tg)
	if h := srv.Last(t).Header.Get("Authorization"); h != "" {
		t.Errorf("an empty key sent Authorization %q", h)
	}
	if rec.ErrorClass != run.ErrBadResponse || !strings.Contains(rec.Error, "none was sent: set the variable EMPTY_KEY") {
		t.Errorf("class %q error %q", rec.ErrorClass, rec.Error)
	}
}

func TestOpenAIConnectionRefused(t *testing.T) {
	addr := testClosedAddr(t)
	tg := newTestOpenAI(t, "http://"+addr, nil)
	rec := testSend(t, tg)
	if rec.ErrorClass != run.ErrConnection || rec.Status != 0 {
		t.Fatalf("class %q status %d: %s", rec.ErrorClass, rec.Status, rec.Error)
	}
	for _, want := range []string{"unreachable", "http://" + addr + "/v1", "connection refused"} {
		if !strings.Contains(rec.Error, want) {
			t.Errorf("error %q lacks %q", rec.Error, want)
		}
	}
	if rec.SentAt.IsZero() || rec.TTFB != 0 || rec.E2E != 0 {
		t.Errorf("sent_at %v ttfb %v e2e %v", rec.SentAt, rec.TTFB, rec.E2E)
	}
}

func TestOpenAITimeoutAndCancel(t *testing.T) {
	beforeHeaders := func(w http.ResponseWriter, r *http.Request) { testWrite(w, r, testBlock) }
	midStream := testSSE(testRoleChunk, testChunk("The"), testBlock)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		cancel  bool // cancel the caller's context instead of timing out
		class   string
		answer  string
		wantMsg string
	}{
		{"timeout before headers", beforeHeaders, false, run.ErrTimeout, "", "request timeout"},
		{"timeout mid-stream", midStream, false, run.ErrTimeout, "The", "while the answer streamed"},
		{"canceled before headers", beforeHeaders, true, run.ErrCanceled, "", "canceled"},
		{"canceled mid-stream", midStream, true, run.ErrCanceled, "The", "canceled while the answer streamed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testkit.NewServer(t, tt.handler)
			timeout := 150 * time.Millisecond
			if tt.cancel {
				timeout = time.Minute
			}
			tg := newTestOpenAI(t, srv.URL, func(c *TargetConfig) { c.Timeout = timeout })
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				time.AfterFunc(150*time.Millisecond, cancel)
			}
			start := time.Now()
			rec := testSendCtx(ctx, t, tg)
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("took %v", el)
			}
			if rec.ErrorClass != tt.class || rec.Answer != tt.answer {
				t.Fatalf("class %q answer %q (%s), want %q %q", rec.ErrorClass, rec.Answer, rec.Error, tt.class, tt.answer)
			}
			if !strings.Contains(rec.Error, tt.wantMsg) {
				t.Errorf("error %q lacks %q", rec.Error, tt.wantMsg)
			}
		})
	}
}

func TestOpenAIExtraBodyAndHeaders(t *testing.T) {
	srv := testkit.NewServer(t, testSSE(testChunk("ok"), testFinishChunk, testDone))
	tg := newTestOpenAI(t, srv.URL, func(c *TargetConfig) {
		c.ExtraBody = map[string]any{"options": map[string]any{"num_ctx": 8192}, "temperature": 0.5, "top_k": 3}
		c.Headers = map[string]string{"X-Trace": "abc", "Api-Key": "${CUSTOM_SECRET}", "User-Agent": "needlestorm-test"}
		c.MaxTokens = 64
	})
	rec := testSend(t, tg)
	if rec.ErrorClass != "" {
		t.Fatalf("%s: %s", rec.ErrorClass, rec.Error)
	}
	req := srv.Last(t)
	var body map[string]any
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatalf("body %s: %v", req.Body, err)
	}
	opts, _ := body["options"].(map[string]any)
	if opts["num_ctx"] != float64(8192) || body["temperature"] != 0.5 || body["top_k"] != float64(3) || body["max_tokens"] != float64(64) {
		t.Errorf("body %s", req.Body)
	}
	if n := strings.Count(string(req.Body), `"temperature"`); n != 1 {
		t.Errorf("temperature appears %d times in %s", n, req.Body)
	}
	if req.Header.Get("X-Trace") != "abc" || req.Header.Get("Api-Key") != testCanarySecret || req.Header.Get("User-Agent") != "needlestorm-test" {
		t.Errorf("headers %v", req.Header)
	}
}

func TestOpenAIReasoningModelFields(t *testing.T) {
	srv := testkit.NewServer(t, testSSE(testChunk("ok"), testFinishChunk, testDone))
	rec := testSend(t, newTestOpenAI(t, srv.URL, func(c *TargetConfig) {
		c.Model = "o3-mini"
		c.BaseURL += "/" // a trailing slash is accepted
		c.ExtraBody = map[string]any{"stream_options": nil}
	}))
	if rec.ErrorClass != "" {
		t.Fatalf("%s: %s", rec.ErrorClass, rec.Error)
	}
	req := srv.Last(t)
	body := string(req.Body)
	if !strings.Contains(body, `"max_completion_tokens":256`) || strings.Contains(body, `"max_tokens"`) ||
		strings.Contains(body, `"temperature"`) || strings.Contains(body, "stream_options") {
		t.Errorf("reasoning model body %s", body)
	}
	if req.Path != "/v1/chat/completions" {
		t.Errorf("path %s", req.Path)
	}
}

func TestOpenAIConnectionReuse(t *testing.T) {
	srv := testkit.NewServer(t, testSSE(testChunk("ok"), testFinishChunk, testUsageChunk, testDone))
	tg := newTestOpenAI(t, srv.URL, nil)
	for i := 0; i < 20; i++ {
		if rec := testSend(t, tg); rec.ErrorClass != "" {
			t.Fatalf("request %d: %s %s", i, rec.ErrorClass, rec.Error)
		}
	}
	conns := map[string]bool{}
	for _, r := range srv.Requests() {
		conns[r.RemoteAddr] = true
	}
	if len(conns) != 1 {
		t.Errorf("20 sequential requests used %d connections, want 1 (keep-alive)", len(conns))
	}
}

func TestOpenAICanaryKeyNeverRecorded(t *testing.T) {
	// Servers that echo every header they got, in every way a response can.
	echo := func(r *http.Request) string {
		return fmt.Sprintf("auth=%s api-key=%s", r.Header.Get("Authorization"), r.Header.Get("Api-Key"))
	}
	jsonEcho := func(r *http.Request) string { b, _ := json.Marshal(echo(r)); return string(b) }
	handlers := map[string]http.HandlerFunc{
		"401": func(w http.ResponseWriter, r *http.Request) {
			testStatus(401, `{"error":{"message":"Incorrect API key provided: `+r.Header.Get("Authorization")+`"}}`)(w, r)
		},
		"400": func(w http.ResponseWriter, r *http.Request) { testStatus(400, `{"error":`+jsonEcho(r)+`}`)(w, r) },
		"429": func(w http.ResponseWriter, r *http.Request) { testStatus(429, echo(r), "Retry-After", "1")(w, r) },
		"500": func(w http.ResponseWriter, r *http.Request) {
			testStatus(500, echo(r), "Content-Type", "text/plain")(w, r)
		},
		"404": func(w http.ResponseWriter, r *http.Request) { testStatus(404, `{"message":`+jsonEcho(r)+`}`)(w, r) },
		"stream": func(w http.ResponseWriter, r *http.Request) {
			testSSE(`data: {"error":{"message":`+jsonEcho(r)+`}}`+"\n\n")(w, r)
		},
		"llama": func(w http.ResponseWriter, r *http.Request) {
			testSSE(`error: {"message":`+jsonEcho(r)+`}`+"\n\n")(w, r)
		},
		"not json": func(w http.ResponseWriter, r *http.Request) {
			testSSE(testChunk("x"), "data: "+echo(r)+"\n\n")(w, r)
		},
	}
	for name, h := range handlers {
		t.Run(name, func(t *testing.T) {
			srv := testkit.NewServer(t, h)
			tg := newTestOpenAI(t, srv.URL, func(c *TargetConfig) { c.Headers = map[string]string{"Api-Key": "${CUSTOM_SECRET}"} })
			rec := testSend(t, tg) // testSend checks the record
			if rec.ErrorClass == "" || !strings.Contains(rec.Error, redactedMark) {
				t.Errorf("class %q error %q: the echo was not scrubbed", rec.ErrorClass, rec.Error)
			}
			if got := srv.Last(t).Header.Get("Authorization"); got != "Bearer "+testCanaryKey {
				t.Errorf("the key was not sent: %q", got)
			}
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		rec := testSend(t, newTestOpenAI(t, "http://"+testClosedAddr(t), nil))
		if rec.ErrorClass != run.ErrConnection {
			t.Errorf("class %q", rec.ErrorClass)
		}
	})
	t.Run("password in base_url", func(t *testing.T) {
		srv := testkit.NewServer(t, testStatus(500, "boom"))
		tg := newTestOpenAI(t, strings.Replace(srv.URL, "http://", "http://user:"+testCanaryKey+"@", 1), nil)
		rec := testSend(t, tg)
		if rec.ErrorClass != run.ErrServerError {
			t.Errorf("class %q", rec.ErrorClass)
		}
	})
}

// BenchmarkOpenAISend measures Send against a loopback server streaming a
// short answer (role chunk, 5 content chunks, finish, usage, [DONE]).
func BenchmarkOpenAISend(b *testing.B) {
	pieces := []string{testRoleChunk}
	for _, a := range testAnswer {
		pieces = append(pieces, testChunk(a))
	}
	pieces = append(pieces, testFinishChunk, testUsageChunk, testDone)
	body := strings.Join(pieces, "")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, body)
	}))
	defer srv.Close()
	tg := newTestOpenAI(b, srv.URL, nil)
	c := testCase()
	b.ReportAllocs()
	b.SetParallelism(8)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var rec run.Record
		for pb.Next() {
			rec = run.Record{}
			tg.Send(context.Background(), c, &rec)
			if rec.ErrorClass != "" {
				b.Errorf("%s: %s", rec.ErrorClass, rec.Error)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
