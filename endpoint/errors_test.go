package endpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/needlestorm/needlestorm/run"
)

func TestClassifyHTTPError(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   string
	}{
		{429, `{"error":"slow"}`, run.ErrRateLimited},
		{500, ``, run.ErrServerError},
		{502, `<html>Bad Gateway</html>`, run.ErrServerError},
		{503, `{"error":"maximum context length"}`, run.ErrServerError}, // a 5xx is the server's fault
		{529, `{"type":"error","error":{"type":"overloaded_error"}}`, run.ErrServerError},
		{408, ``, run.ErrTimeout},
		{413, ``, run.ErrContextOverflow},
		{400, `{"error":{"code":"context_length_exceeded"}}`, run.ErrContextOverflow},
		{400, `{"error":{"message":"This model's maximum context length is 8192 tokens"}}`, run.ErrContextOverflow},
		{400, `{"error":{"type":"exceed_context_size_error","message":"request (9000 tokens) exceeds the available context size (8192 tokens), try increasing it"}}`, run.ErrContextOverflow},
		{400, `{"error":"the request exceeds the available context size, try increasing it"}`, run.ErrContextOverflow},
		{500, `{"error":{"message":"input is too large to process. increase the physical batch size"}}`, run.ErrServerError},
		{400, `{"error":{"message":"input is too large to process. increase the physical batch size"}}`, run.ErrContextOverflow},
		{400, `{"error":"too many tokens: 9000 > 8192"}`, run.ErrContextOverflow},
		{422, "{\"error\":\"Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096\"}", run.ErrContextOverflow},
		{400, `{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}`, run.ErrContextOverflow},
		{400, `{"type":"error","error":{"type":"invalid_request_error","message":"input length and ` + "`max_tokens`" + ` exceed context limit: 199000 + 8000 > 200000"}}`, run.ErrContextOverflow},
		{400, `{"error":"the input length exceeds the context length"}`, run.ErrContextOverflow},
		{400, `{"error":"The decoder prompt (length 9000) is longer than the maximum model length of 8192."}`, run.ErrContextOverflow},
		{400, `{"error":{"message":"Invalid value for temperature"}}`, run.ErrBadResponse},
		{401, `{"error":"unauthorized"}`, run.ErrBadResponse},
		{404, `{"error":"maximum context length"}`, run.ErrContextOverflow}, // any 4xx saying so
		{302, ``, run.ErrBadResponse},
		{100, ``, run.ErrBadResponse},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %.40s", tt.status, tt.body), func(t *testing.T) {
			if got := ClassifyHTTPError(tt.status, []byte(tt.body)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClassifyErrorBodyMessage(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"error":{"message":"bad thing","type":"invalid_request_error","code":"oops"}}`, "bad thing (type invalid_request_error, code oops)"},
		{`{"error":{"code":400,"message":"request (5 tokens) exceeds","type":"exceed_context_size_error"}}`, "request (5 tokens) exceeds (type exceed_context_size_error, code 400)"},
		{`{"object":"error","message":"vllm says no","type":"BadRequestError","code":400}`, "vllm says no"},
		{`{"error":"tgi says no","error_type":"validation"}`, "tgi says no"},
		{`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, "Overloaded (type overloaded_error)"},
		{`{"detail":"Not Found"}`, "Not Found"},
		{`{"detail":[{"loc":["body","model"],"msg":"field required"}]}`, `[{"loc":["body","model"],"msg":"field required"}]`},
		{"<html>\n  <body>502 Bad Gateway</body>\n</html>", "<html> <body>502 Bad Gateway</body> </html>"},
		{"", ""},
		{"  \n ", ""},
		{"bad\xffutf8", "bad?utf8"},
	}
	for _, tt := range tests {
		if got := errorBodyMessage([]byte(tt.body)); got != tt.want {
			t.Errorf("errorBodyMessage(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
	long := errorBodyMessage([]byte(strings.Repeat("word ", 1000)))
	if len(long) > errorMessageLimit+3 || !strings.HasSuffix(long, "...") {
		t.Errorf("a long body is quoted as %d bytes", len(long))
	}
}

func TestClassifyRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header http.Header
		want   time.Duration
	}{
		{http.Header{"Retry-After": {"7"}}, 7 * time.Second},
		{http.Header{"Retry-After": {"0.5"}}, 500 * time.Millisecond},
		{http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second},
		{http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}, 0},
		{http.Header{"Retry-After": {"soon"}}, 0},
		{http.Header{"Retry-After": {"-3"}}, 0},
		{http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"1"}}, 250 * time.Millisecond},
		{http.Header{}, 0},
		{nil, 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.header, now); got != tt.want {
			t.Errorf("parseRetryAfter(%v) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestClassifyTransportFailure(t *testing.T) {
	ti := &targetInfo{name: "t", baseURL: "http://127.0.0.1:1/v1", timeout: time.Minute, connect: 10 * time.Second}
	live := context.Background()
	timedOut, cancel := context.WithTimeoutCause(live, 0, errTargetTimeout)
	defer cancel()
	canceled, cancel2 := context.WithCancel(live)
	cancel2()
	tests := []struct {
		name    string
		ctx     context.Context
		err     error
		class   string
		wantMsg string
	}{
		{"refused", live, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, run.ErrConnection, "connection refused"},
		{"dns", live, &net.DNSError{Err: "no such host", Name: "nohost"}, run.ErrConnection, "does not resolve"},
		{"reset", live, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, run.ErrConnection, "closed the connection"},
		{"eof", live, io.EOF, run.ErrConnection, "closed the connection"},
		{"our timeout", timedOut, context.DeadlineExceeded, run.ErrTimeout, "1m0s request timeout"},
		{"caller canceled", canceled, context.Canceled, run.ErrCanceled, "canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			class, msg := ti.transportFailure(tt.ctx, tt.err)
			if class != tt.class || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("got %q %q, want %q with %q", class, msg, tt.class, tt.wantMsg)
			}
			if class == run.ErrConnection && !strings.Contains(msg, ti.baseURL) {
				t.Errorf("message %q does not name the base URL", msg)
			}
		})
	}
	class, _ := ti.streamFailure(live, errors.New("unexpected EOF"))
	if class != run.ErrStreamBroken {
		t.Errorf("a stream read error: %q", class)
	}
}

// FuzzClassifyHTTPError checks that classification never panics, always
// yields a known class, and keeps its fixed rules.
func FuzzClassifyHTTPError(f *testing.F) {
	f.Add(400, []byte(`{"error":{"message":"maximum context length","code":400}}`))
	f.Add(429, []byte(`{"error":"x"}`))
	f.Add(503, []byte(`<html>`))
	f.Add(422, []byte("{\"error\":\"`inputs` must have less than 5 tokens\"}"))
	f.Add(200, []byte(`{"detail":[1,2]}`))
	f.Add(-1, []byte("\xff\xfe"))
	known := map[string]bool{run.ErrRateLimited: true, run.ErrServerError: true, run.ErrTimeout: true, run.ErrContextOverflow: true, run.ErrBadResponse: true}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		class := ClassifyHTTPError(status, body)
		if !known[class] {
			t.Fatalf("unknown class %q", class)
		}
		switch {
		case status == 429 && class != run.ErrRateLimited,
			status >= 500 && class != run.ErrServerError,
			status == 413 && class != run.ErrContextOverflow:
			t.Fatalf("status %d gave %q", status, class)
		}
		msg := errorBodyMessage(body)
		if len(msg) > errorMessageLimit+3 || !utf8.ValidString(msg) || strings.ContainsAny(msg, "\r\n") {
			t.Fatalf("message %q is not one short line", msg)
		}
		ti := &targetInfo{name: "t", baseURL: "http://h/v1", apiKeyEnv: "K", model: "m"}
		c2, m2 := ti.httpFailure(status, body)
		if c2 != class || m2 == "" {
			t.Fatalf("httpFailure %q %q vs %q", c2, m2, class)
		}
		_ = errorJSONStatus(body, 500)
		_ = anthropicErrorStatus(body)
	})
}
