package endpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"
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
		// One rule for every form: more than a day is discarded.
		{http.Header{"Retry-After": {"Fri, 31 Dec 9999 23:59:59 GMT"}}, 0},
		{http.Header{"Retry-After": {"86400"}}, 24 * time.Hour},
		{http.Header{"Retry-After": {"86401"}}, 0},
		{http.Header{"Retry-After": {now.Add(25 * time.Hour).Format(http.TimeFormat)}}, 0},
		{http.Header{"Retry-After": {now.Add(23 * time.Hour).Format(http.TimeFormat)}}, 23 * time.Hour},
		{http.Header{"Retry-After": {"1e300"}}, 0},
		{http.Header{"Retry-After": {"NaN"}}, 0},
		{http.Header{"Retry-After": {"Inf"}}, 0},
		{http.Header{"Retry-After-Ms": {"1e15"}, "Retry-After": {"3"}}, 3 * time.Second},
		{http.Header{"Retry-After-Ms": {"-5"}}, 0},
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

// TestHTTPFailureStatus: the user's message names the status with its
// standard text, or as a bare number when it has none (it once read
// "server error (529 )").
func TestHTTPFailureStatus(t *testing.T) {
	ti := &targetInfo{name: "t", baseURL: "http://h/v1", endpoint: "http://h/v1/chat/completions", apiKeyEnv: "K", model: "m"}
	tests := []struct {
		status int
		want   string
	}{
		{529, "server error (529): Overloaded"},
		{599, "server error (599)"},
		{404, "not found (404 Not Found) at http://h/v1/chat/completions"},
		{429, "rate limited (429 Too Many Requests)"},
		{499, "the server rejected the request (499)"},
	}
	for _, tt := range tests {
		body := ""
		if tt.status == 529 {
			body = `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`
		}
		if _, msg := ti.httpFailure(tt.status, []byte(body)); !strings.HasPrefix(msg, tt.want) {
			t.Errorf("status %d: %q, want it to start %q", tt.status, msg, tt.want)
		}
	}
}

// checkOneLine fails unless msg is one short printable line: valid UTF-8,
// no control characters (so no line breaks, tabs or escapes), no leading,
// trailing or doubled space, and at most limit bytes plus an ellipsis.
func checkOneLine(t *testing.T, what, msg string, limit int) {
	t.Helper()
	switch {
	case !utf8.ValidString(msg):
		t.Fatalf("%s %q is not valid UTF-8", what, msg)
	case strings.IndexFunc(msg, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }) >= 0:
		t.Fatalf("%s %q holds a control character", what, msg)
	case strings.TrimSpace(msg) != msg || strings.Contains(msg, "  "):
		t.Fatalf("%s %q has leading, trailing or doubled space", what, msg)
	case limit > 0 && len(msg) > limit+len("..."):
		t.Fatalf("%s is %d bytes, above the %d allowed", what, len(msg), limit)
	}
}

// FuzzClassifyHTTPError checks, for any status and body, that
// classification never panics, always yields a known class and keeps its
// fixed rules; that the server's message is quoted as one short printable
// line; that the user's message agrees on the class, names the status and
// is one line too; and that the status read from an in-stream error is
// the fallback or an HTTP error status.
func FuzzClassifyHTTPError(f *testing.F) {
	f.Add(400, []byte(`{"error":{"message":"maximum context length","code":400}}`))
	f.Add(429, []byte(`{"error":"x"}`))
	f.Add(503, []byte(`<html>`))
	f.Add(422, []byte("{\"error\":\"`inputs` must have less than 5 tokens\"}"))
	f.Add(200, []byte(`{"detail":[1,2]}`))
	f.Add(-1, []byte("\xff\xfe"))
	f.Add(401, []byte("{\"error\":\"a\tb\r\nc\u0000d\u001be\u0085f\u009b31m\"}"))
	f.Add(284, []byte("\u0084"))
	f.Add(529, []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))
	f.Add(400, []byte(`{"error":{"code":"413","http_status_code":418}}`))
	known := map[string]bool{run.ErrRateLimited: true, run.ErrServerError: true, run.ErrTimeout: true, run.ErrContextOverflow: true, run.ErrBadResponse: true}
	anthropicTypes := map[string]int{"invalid_request_error": 400, "authentication_error": 401, "permission_error": 403, "not_found_error": 404,
		"request_too_large": 413, "rate_limit_error": 429, "timeout_error": 504, "overloaded_error": 529}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		class := ClassifyHTTPError(status, body)
		if !known[class] {
			t.Fatalf("unknown class %q", class)
		}
		switch {
		case status == 429 && class != run.ErrRateLimited,
			status >= 500 && class != run.ErrServerError,
			status == 408 && class != run.ErrTimeout,
			status == 413 && class != run.ErrContextOverflow,
			status < 400 && class != run.ErrBadResponse:
			t.Fatalf("status %d gave %q", status, class)
		}
		msg := errorBodyMessage(body)
		checkOneLine(t, "the server's message", msg, errorMessageLimit)
		// Only a body of nothing but spaces and control characters says
		// nothing; any other is quoted (as text when no message is found
		// in its JSON).
		blank := strings.TrimFunc(string(body), func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) == ""
		if (msg == "") != blank {
			t.Fatalf("body %q was quoted as %q", body, msg)
		}
		ti := &targetInfo{name: "t", baseURL: "http://h/v1", endpoint: "http://h/v1/chat/completions", apiKeyEnv: "K", model: "m"}
		c2, m2 := ti.httpFailure(status, body)
		if c2 != class {
			t.Fatalf("httpFailure classed status %d as %q, ClassifyHTTPError as %q", status, c2, class)
		}
		if !strings.Contains(m2, strconv.Itoa(status)) || (msg != "" && !strings.Contains(m2, msg)) {
			t.Fatalf("httpFailure's message %q lacks the status %d or the server's message %q", m2, status, msg)
		}
		checkOneLine(t, "httpFailure's message", m2, 0)
		if got := errorJSONStatus(body, 599); got != 599 && (got < 400 || got >= 600) {
			t.Fatalf("errorJSONStatus = %d, want the fallback or a 4xx/5xx status", got)
		}
		var e struct {
			Error struct {
				Type string `json:"type"`
			} `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		want, ok := anthropicTypes[e.Error.Type]
		if !ok {
			want = http.StatusInternalServerError
		}
		if got := anthropicErrorStatus(body); got != want {
			t.Fatalf("anthropicErrorStatus = %d for error type %q, want %d", got, e.Error.Type, want)
		}
	})
}
