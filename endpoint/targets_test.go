package endpoint

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/corpus"

	"github.com/needlestorm/needlestorm/run"
)

// Helpers shared by the target tests: scripted loopback servers, a test
// case, and an environment holding a canary key.

// testCanaryKey is a fake API key: it must never appear in a Record or error.
const testCanaryKey = "sk-canary-7f3a9c1e5b2d4f60a8e1"

// testCanarySecret is a fake secret passed in a "${NAME}" header.
const testCanarySecret = "hdr-secret-91c2e7d4b6a8"

// testEnv is an environment with the canary key in the default variables.
func testEnv(name string) (string, bool) {
	switch name {
	case DefaultOpenAIKeyEnv, DefaultAnthropicKeyEnv, "MY_KEY":
		return testCanaryKey, true
	case "CUSTOM_SECRET":
		return testCanarySecret, true
	case "EMPTY_KEY":
		return "", true
	}
	return "", false
}

// testCase returns a small Case.
func testCase() *corpus.Case {
	return &corpus.Case{
		Schema:       corpus.CaseSchema,
		ID:           "single-64-50-0",
		Task:         "single",
		Length:       42,
		PromptTokens: 42,
		Encoding:     corpus.DefaultEncoding,
		Expected:     []string{"4217"},
		Messages: []corpus.Message{
			{Role: "system", Content: "You answer briefly."},
			{Role: "user", Content: "The magic number is 4217. What is the magic number?"},
		},
	}
}

// Special pieces of a scripted body.
const (
	testAbort = "\x00abort" // cut the connection
	testSleep = "\x00sleep" // sleep 15 ms
	testBlock = "\x00block" // wait until the client goes away
)

// testWrite writes pieces, flushing after each.
func testWrite(w http.ResponseWriter, r *http.Request, pieces ...string) {
	f, _ := w.(http.Flusher)
	for _, p := range pieces {
		switch p {
		case testAbort:
			panic(http.ErrAbortHandler)
		case testSleep:
			time.Sleep(15 * time.Millisecond)
			continue
		case testBlock:
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		}
		if _, err := io.WriteString(w, p); err != nil {
			return
		}
		if f != nil {
			f.Flush()
		}
	}
}

// testSSE returns a handler that answers 200 text/event-stream with pieces.
func testSSE(pieces ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		testWrite(w, r, pieces...)
	}
}

// testStatus returns a handler that answers status with headers and body.
func testStatus(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// testClosedAddr returns a loopback address nothing listens on.
func testClosedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// testRecordJSON marshals rec and fails if it holds a canary.
func testNoSecret(t testing.TB, rec *run.Record) {
	t.Helper()
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{testCanaryKey, testCanarySecret, "canary-7f3a", "91c2e7d4"} {
		if strings.Contains(string(b), s) {
			t.Fatalf("the record holds a secret (%q): %s", s, b)
		}
	}
}

func testClose(t testing.TB, tg Target) {
	t.Cleanup(func() {
		if c, ok := tg.(io.Closer); ok {
			c.Close()
		}
	})
}

func TestOpenAITargetConfigJSON(t *testing.T) {
	cfg := TargetConfig{Name: "a", Kind: KindOpenAI, BaseURL: "http://x/v1", Model: "m", Timeout: 90 * time.Second, ConnectTimeout: 1500 * time.Millisecond}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"timeout":90`, `"connect_timeout":1.5`, `"base_url":"http://x/v1"`, `"temperature":0`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
	var back TargetConfig
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Timeout != cfg.Timeout || back.ConnectTimeout != cfg.ConnectTimeout || back.Model != "m" {
		t.Errorf("round trip: got %+v", back)
	}
	if err := json.Unmarshal([]byte(`{"kind":"openai","timeout":"10m","connect_timeout":"5s"}`), &back); err != nil {
		t.Fatal(err)
	}
	if back.Timeout != 10*time.Minute || back.ConnectTimeout != 5*time.Second {
		t.Errorf("duration strings: got %s %s", back.Timeout, back.ConnectTimeout)
	}
	if err := json.Unmarshal([]byte(`{"timeout":"soon"}`), &back); err == nil {
		t.Error("a bad duration was accepted")
	}
}

func TestOpenAIConfigValidation(t *testing.T) {
	env := TargetEnv(testEnv)
	tests := []struct {
		name    string
		cfg     TargetConfig
		wantErr string // "" = accepted
	}{
		{"ok", TargetConfig{Kind: KindOpenAI, BaseURL: "http://127.0.0.1:8000/v1/", Model: "m"}, ""},
		{"no scheme", TargetConfig{Kind: KindOpenAI, BaseURL: "127.0.0.1:8000/v1", Model: "m"}, "has no scheme: write it as http://127.0.0.1:8000/v1"},
		{"no scheme host only", TargetConfig{Kind: KindOpenAI, BaseURL: "localhost/v1", Model: "m"}, "has no scheme"},
		{"ftp", TargetConfig{Kind: KindOpenAI, BaseURL: "ftp://host/v1", Model: "m"}, "must start with http:// or https://"},
		{"no host", TargetConfig{Kind: KindOpenAI, BaseURL: "http:///v1", Model: "m"}, "has no host"},
		{"endpoint included", TargetConfig{Kind: KindOpenAI, BaseURL: "http://h:1/v1/chat/completions", Model: "m"}, "stop before /chat/completions, as in http://h:1/v1"},
		{"query", TargetConfig{Kind: KindOpenAI, BaseURL: "http://h:1/v1?x=1", Model: "m"}, "query"},
		{"no model", TargetConfig{Kind: KindOpenAI, BaseURL: "http://h/v1"}, "model is not set"},
		{"negative max tokens", TargetConfig{Kind: KindOpenAI, BaseURL: "http://h/v1", Model: "m", MaxTokens: -1}, "max_tokens"},
		{"temperature", TargetConfig{Kind: KindOpenAI, BaseURL: "http://h/v1", Model: "m", Temperature: 3}, "temperature"},
		{"negative timeout", TargetConfig{Kind: KindOpenAI, BaseURL: "http://h/v1", Model: "m", Timeout: -time.Second}, "timeout"},
		{"key in api_key_env", TargetConfig{Kind: KindOpenAI, BaseURL: "http://h/v1", Model: "m", APIKeyEnv: testCanaryKey}, "NAME of an environment variable"},
		{"named env unset", TargetConfig{Kind: KindOpenAI, BaseURL: "http://h/v1", Model: "m", APIKeyEnv: "NOT_SET_VAR"}, "NOT_SET_VAR is not set"},
		{"named env set", TargetConfig{Kind: KindOpenAI, BaseURL: "http://h/v1", Model: "m", APIKeyEnv: "MY_KEY"}, ""},
		{"literal credential header", TargetConfig{Kind: KindOpenAI, BaseURL: "http://h/v1", Model: "m", Headers: map[string]string{"Authorization": "Bearer " + testCanaryKey}}, "literal credential"},
		{"header env unset", TargetConfig{Kind: KindOpenAI, BaseURL: "http://h/v1", Model: "m", Headers: map[string]string{"Api-Key": "${NOPE}"}}, "NOPE is not set"},
		{"bad header name", TargetConfig{Kind: KindOpenAI, BaseURL: "http://h/v1", Model: "m", Headers: map[string]string{"X Bad": "1"}}, "not a valid HTTP header name"},
		{"reserved extra", TargetConfig{Kind: KindOpenAI, BaseURL: "http://h/v1", Model: "m", ExtraBody: map[string]any{"messages": 1}}, `may not set "messages"`},
		{"unmarshalable extra", TargetConfig{Kind: KindOpenAI, BaseURL: "http://h/v1", Model: "m", ExtraBody: map[string]any{"f": func() {}}}, "cannot be written as JSON"},
		{"kind missing", TargetConfig{BaseURL: "http://h/v1", Model: "m"}, "kind is not set"},
		{"kind unknown", TargetConfig{Kind: "grpc", BaseURL: "http://h/v1", Model: "m"}, `unknown target kind "grpc"`},
		{"anthropic endpoint included", TargetConfig{Kind: KindAnthropic, BaseURL: "https://api.anthropic.com/v1/messages", Model: "m"}, "stop before /v1/messages"},
		{"anthropic ok", TargetConfig{Kind: KindAnthropic, Model: "claude"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, err := NewTarget(tt.cfg, env)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				testClose(t, tg)
				return
			}
			if err == nil {
				t.Fatalf("accepted; want an error with %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q lacks %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), testCanaryKey) {
				t.Errorf("error %q holds the key", err)
			}
		})
	}
}

func TestOpenAIConfigDefaults(t *testing.T) {
	tg, err := NewOpenAI(TargetConfig{Model: "llama3"}, TargetEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	testClose(t, tg)
	cfg := tg.(interface{ Config() TargetConfig }).Config()
	if cfg.Name != "llama3" || cfg.BaseURL != DefaultOpenAIBaseURL || cfg.MaxTokens != DefaultMaxTokens ||
		cfg.Timeout != DefaultTimeout || cfg.ConnectTimeout != DefaultConnectTimeout || cfg.APIKeyEnv != DefaultOpenAIKeyEnv {
		t.Errorf("defaults not applied: %+v", cfg)
	}
	if tg.Name() != "llama3" {
		t.Errorf("Name() = %q", tg.Name())
	}
	tr := tg.(*openaiTarget).http.transport
	if tr.MaxIdleConnsPerHost != DefaultIdleConnsPerHost || tr.ForceAttemptHTTP2 || !tr.DisableCompression {
		t.Errorf("transport not tuned: idle %d", tr.MaxIdleConnsPerHost)
	}
}
