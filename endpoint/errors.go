package endpoint

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/needlestorm/needlestorm/internal/termsafe"
	"github.com/needlestorm/needlestorm/run"
)

// Error classification of failed requests. Every failure a target records
// gets exactly one class (the Err* constants of record.go) and a message
// phrased for the user who has to act on it.

// errorBodyLimit bounds how much of an error response body is read.
const errorBodyLimit = 64 << 10

// errorMessageLimit bounds the server message quoted in a Record's Error.
const errorMessageLimit = 600

// errorRecordLimit bounds a Record's whole Error: the server's message and
// what needlestorm says about it.
const errorRecordLimit = 2000

// errTargetTimeout is the cancellation cause of a request that ran past the
// target's own timeout.
var errTargetTimeout = errors.New("request timeout")

// contextOverflowMarkers are lower-case fragments of the bodies servers send
// when a prompt does not fit the model's context. Sources, checked against the
// servers' code and reports:
//   - OpenAI: code "context_length_exceeded", "This model's maximum context
//     length is N tokens ... Please reduce the length of the messages"
//   - vLLM: "This model's maximum context length is N tokens. However, you
//     requested ...", "'max_tokens' or 'max_completion_tokens' is too large:
//     ... maximum context length is", V1 engine "The decoder prompt (length N)
//     is longer than the maximum model length of M"
//   - llama.cpp server: "request (N tokens) exceeds the available context size
//     (M tokens), try increasing it" with type "exceed_context_size_error";
//     older builds "the request exceeds the available context size";
//     embeddings "input is too large to process" and "is larger than the max
//     context size"
//   - TGI: "Input validation error: `inputs` tokens + `max_new_tokens` must be
//     <= N", "`inputs` must have less than N tokens"
//   - Ollama: "the input length exceeds the context length"
//   - Anthropic: "prompt is too long: N tokens > M maximum", "input length and
//     `max_tokens` exceed context limit"
//   - others: "too many tokens", "context window exceeded"
var contextOverflowMarkers = []string{
	"context_length_exceeded",
	"maximum context length",
	"reduce the length of the messages",
	"longer than the maximum model length",
	"exceeds the available context size",
	"exceed_context_size_error",
	"larger than the max context size",
	"input is too large",
	"`inputs` tokens + `max_new_tokens` must be",
	"`inputs` must have less than",
	"input length exceeds the context length",
	"prompt is too long",
	"exceed context limit",
	"too many tokens",
	"context window exceeded",
	"exceeds the context window",
	"model_context_window_exceeded",
}

// IsContextOverflow reports whether a server's error text says that the prompt
// did not fit the model's context window.
func IsContextOverflow(text string) bool {
	if text == "" {
		return false
	}
	lower := strings.ToLower(text)
	for _, m := range contextOverflowMarkers {
		if strings.Contains(lower, m) {
			return true
		}
	}
	return false
}

// ClassifyHTTPError returns the error class of a response with a non-2xx
// status, from the status and the (possibly truncated) body.
func ClassifyHTTPError(status int, body []byte) string {
	switch {
	case status == http.StatusTooManyRequests:
		return run.ErrRateLimited
	case status >= 500:
		return run.ErrServerError
	case status == http.StatusRequestTimeout:
		return run.ErrTimeout
	case status == http.StatusRequestEntityTooLarge:
		// 413 can only be the prompt: it is the one part of a request that grows.
		return run.ErrContextOverflow
	case status >= 400 && IsContextOverflow(string(body)):
		return run.ErrContextOverflow
	default:
		return run.ErrBadResponse
	}
}

// targetInfo is what error messages say about a target. It holds no secret.
type targetInfo struct {
	name      string
	kind      string
	baseURL   string // with any password removed
	endpoint  string // the full URL requests go to, with any password removed
	model     string
	apiKeyEnv string // the NAME of the key's variable
	keySent   bool   // whether an API key is sent
	timeout   time.Duration
	connect   time.Duration
}

// httpFailure classifies a non-2xx response and phrases its message.
func (ti *targetInfo) httpFailure(status int, body []byte) (class, msg string) {
	class = ClassifyHTTPError(status, body)
	server := errorBodyMessage(body)
	quote := ""
	if server != "" {
		quote = ": " + server
	}
	st := statusText(status)
	switch {
	case status == http.StatusUnauthorized && !ti.keySent:
		msg = fmt.Sprintf("the server wants an API key (%s) and none was sent: set the variable %s or name another one in api_key_env%s",
			st, ti.apiKeyEnv, quote)
	case status == http.StatusUnauthorized:
		msg = fmt.Sprintf("the server refused the API key (%s): check the variable named in api_key_env (%s)%s",
			st, ti.apiKeyEnv, quote)
	case status == http.StatusForbidden:
		msg = fmt.Sprintf("the server denied access (%s): the key in %s may lack permission for model %q%s",
			st, ti.apiKeyEnv, ti.model, quote)
	case status == http.StatusNotFound:
		msg = fmt.Sprintf("not found (%s) at %s: check base_url (OpenAI-compatible servers usually serve under /v1) and that the server knows model %q%s",
			st, ti.endpoint, ti.model, quote)
	case status == http.StatusMethodNotAllowed:
		msg = fmt.Sprintf("the server does not accept POST at %s (%s): check base_url%s", ti.endpoint, st, quote)
	case status >= 300 && status < 400:
		msg = fmt.Sprintf("the server redirected the request (%s): set base_url to the address it redirects to%s", st, quote)
	case status < 200:
		msg = fmt.Sprintf("unexpected informational status %s%s", st, quote)
	case class == run.ErrContextOverflow:
		msg = fmt.Sprintf("the server refused the prompt's length (%s)%s", st, quote)
	case class == run.ErrRateLimited:
		msg = fmt.Sprintf("rate limited (%s)%s", st, quote)
	case class == run.ErrServerError:
		msg = fmt.Sprintf("server error (%s)%s", st, quote)
	case class == run.ErrTimeout:
		msg = fmt.Sprintf("the server timed out the request (%s)%s", st, quote)
	default:
		msg = fmt.Sprintf("the server rejected the request (%s)%s", st, quote)
	}
	return class, msg
}

// statusText is status with its standard text, such as "404 Not Found",
// or the bare number for a status with none (Anthropic's 529, a proxy's
// 599), so that a message never shows "(529 )".
func statusText(status int) string {
	if text := http.StatusText(status); text != "" {
		return strconv.Itoa(status) + " " + text
	}
	return strconv.Itoa(status)
}

// transportFailure classifies an error that happened before any response
// arrived. ctx is the request's context.
func (ti *targetInfo) transportFailure(ctx context.Context, err error) (class, msg string) {
	if class, msg, ok := ti.contextFailure(ctx, err, "before the server answered"); ok {
		return class, msg
	}
	var (
		dnsErr  *net.DNSError
		opErr   *net.OpError
		certErr *tls.CertificateVerificationError
		unkAuth x509.UnknownAuthorityError
		hostErr x509.HostnameError
		recErr  tls.RecordHeaderError
	)
	hint := ""
	switch {
	case errors.As(err, &dnsErr):
		hint = "the host name does not resolve"
	case errors.Is(err, syscall.ECONNREFUSED):
		hint = "nothing listens on that address (connection refused)"
	case errors.As(err, &certErr), errors.As(err, &unkAuth), errors.As(err, &hostErr):
		hint = "its TLS certificate was not accepted"
	case errors.As(err, &recErr):
		hint = "it does not speak TLS: use http:// in base_url"
	case errors.As(err, &opErr) && opErr.Op == "dial" && opErr.Timeout():
		hint = fmt.Sprintf("no connection within the %s connect timeout", ti.connect)
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		hint = "the server closed the connection before answering"
	}
	if hint != "" {
		hint = ": " + hint
	}
	return run.ErrConnection, fmt.Sprintf("target %s is unreachable at %s%s (%v)", ti.name, ti.baseURL, hint, err)
}

// streamFailure classifies an error while reading a response body that had
// started with a 2xx status.
func (ti *targetInfo) streamFailure(ctx context.Context, err error) (class, msg string) {
	if class, msg, ok := ti.contextFailure(ctx, err, "while the answer streamed"); ok {
		return class, msg
	}
	switch {
	case errors.Is(err, errSSETruncated):
		return run.ErrStreamBroken, "the stream was cut off in the middle of an event before the model finished"
	case errors.Is(err, errSSELineTooLong), errors.Is(err, errSSEEventTooLarge):
		return run.ErrBadResponse, fmt.Sprintf("the response is not a usable event stream: %v", err)
	}
	return run.ErrStreamBroken, fmt.Sprintf("the stream broke before the model finished (%v)", err)
}

// contextFailure recognises a request ended by its context: the target's
// timeout, the caller's deadline or the caller's cancellation.
func (ti *targetInfo) contextFailure(ctx context.Context, err error, when string) (class, msg string, ok bool) {
	if ctx.Err() == nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return run.ErrTimeout, fmt.Sprintf("timed out %s (%v)", when, err), true
		}
		if errors.Is(err, context.Canceled) {
			return run.ErrCanceled, fmt.Sprintf("canceled %s", when), true
		}
		return "", "", false
	}
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, errTargetTimeout):
		return run.ErrTimeout, fmt.Sprintf("no complete answer within the %s request timeout: it ran out %s (raise timeout for long prompts)", ti.timeout, when), true
	case errors.Is(cause, context.DeadlineExceeded):
		return run.ErrTimeout, fmt.Sprintf("the run's deadline passed %s", when), true
	default:
		return run.ErrCanceled, fmt.Sprintf("canceled %s (%v)", when, cause), true
	}
}

// errorBodyMessage extracts the human message from an error body: OpenAI,
// vLLM and llama.cpp {"error":{"message":...}}, older vLLM {"message":...},
// TGI and Ollama {"error":"..."}, Anthropic {"type":"error","error":{...}},
// FastAPI {"detail":...}. Anything else is quoted as text. The result is one
// line of at most errorMessageLimit bytes.
func errorBodyMessage(body []byte) string {
	body = trimSpaceBytes(body)
	if len(body) == 0 {
		return ""
	}
	var eb struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	msg := ""
	if json.Unmarshal(body, &eb) == nil {
		msg = errorJSONMessage(eb.Error)
		if msg == "" {
			msg = eb.Message
		}
		if msg == "" && len(eb.Detail) > 0 {
			var s string
			if json.Unmarshal(eb.Detail, &s) == nil {
				msg = s
			} else {
				msg = string(eb.Detail)
			}
		}
	}
	if msg == "" {
		msg = string(body)
	}
	return oneLine(msg, errorMessageLimit)
}

// errorJSONMessage reads the "error" member of an error body: a string, or an
// object with a message (and type/code, quoted when they add something).
func errorJSONMessage(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Code    json.RawMessage `json:"code"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return string(raw)
	}
	msg := o.Message
	var extra []string
	if o.Type != "" && !strings.Contains(msg, o.Type) {
		extra = append(extra, "type "+o.Type)
	}
	if code := strings.Trim(string(o.Code), `"`); code != "" && code != "null" && !strings.Contains(msg, code) {
		extra = append(extra, "code "+code)
	}
	if len(extra) > 0 {
		if msg == "" {
			return strings.Join(extra, ", ")
		}
		msg += " (" + strings.Join(extra, ", ") + ")"
	}
	return msg
}

// errorJSONStatus returns the HTTP status an in-stream error object implies:
// its numeric "code" when that is one, else fallback.
func errorJSONStatus(raw json.RawMessage, fallback int) int {
	var o struct {
		Code       json.RawMessage `json:"code"`
		HTTPStatus int             `json:"http_status_code"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return fallback
	}
	if o.HTTPStatus >= 400 && o.HTTPStatus < 600 {
		return o.HTTPStatus
	}
	if n, err := strconv.Atoi(strings.Trim(string(o.Code), `"`)); err == nil && n >= 400 && n < 600 {
		return n
	}
	return fallback
}

// oneLine returns s with control characters and whitespace runs collapsed to
// one space, C1 and bidirectional controls and invalid UTF-8 replaced by
// '?' (so no server text can drive a terminal), and at most limit bytes long.
func oneLine(s string, limit int) string {
	out, _ := cutLine(s, limit)
	return out
}

// cutMark ends a line cutLine cut short.
const cutMark = "..."

// cutLine is oneLine, also reporting whether s was cut (the result then
// ends in cutMark).
func cutLine(s string, limit int) (string, bool) {
	var b strings.Builder
	b.Grow(min(len(s), limit+3))
	pending := false
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			pending = b.Len() > 0
			continue
		}
		if r == utf8.RuneError || termsafe.IsControl(r) {
			r = '?'
		}
		n := utf8.RuneLen(r)
		if pending {
			n++
		}
		if b.Len()+n > limit {
			b.WriteString(cutMark)
			return b.String(), true
		}
		if pending {
			b.WriteByte(' ')
			pending = false
		}
		b.WriteRune(r)
	}
	return b.String(), false
}

func trimSpaceBytes(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\r' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// MaxRetryAfter is the longest wait a server's Retry-After is believed for.
// One rule for every form (milliseconds, seconds, an HTTP date): a wait
// longer than a day is not a rate limit a test can act on but a broken or
// hostile header, and is discarded (0), as are negative, zero, past and
// unreadable values (NaN, Inf, garbage).
const MaxRetryAfter = 24 * time.Hour

// parseRetryAfter reads how long the server asked the client to wait:
// "retry-after-ms" (milliseconds, sent by OpenAI and Azure), else
// "Retry-After" as delay-seconds or an HTTP date. It returns 0 when there is
// no usable value (see MaxRetryAfter).
func parseRetryAfter(h http.Header, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil {
			if d, ok := retryAfterUsable(ms / 1000); ok {
				return d
			}
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		d, _ := retryAfterUsable(s)
		return d
	}
	if t, err := http.ParseTime(v); err == nil {
		d, _ := retryAfterUsable(t.Sub(now).Seconds())
		return d
	}
	return 0
}

// retryAfterUsable turns a wait in seconds into a duration when it is
// positive and at most MaxRetryAfter.
func retryAfterUsable(s float64) (time.Duration, bool) {
	// The comparison is false for NaN.
	if !(s > 0 && s <= MaxRetryAfter.Seconds()) {
		return 0, false
	}
	return time.Duration(s * float64(time.Second)), true
}
