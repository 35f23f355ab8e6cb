package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// errKind is an error's meaning, written in each API's own vocabulary.
type errKind int

const (
	kindInvalid errKind = iota
	kindContextLength
	kindNotFound
	kindMethod
	kindRateLimit
	kindServer
	kindOverloaded
)

// apiError is an error response, independent of the API that writes it.
type apiError struct {
	status  int
	kind    errKind
	message string
	param   string
	// retryAfter is the Retry-After header in seconds (429 only); -1 = none.
	retryAfter int
}

func badRequest(param, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, kind: kindInvalid, param: param, message: fmt.Sprintf(format, args...)}
}

func (e *apiError) Error() string { return e.message }

// api names which wire format a response uses.
type api int

const (
	apiOpenAI api = iota
	apiAnthropic
)

type openAIErrorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

type anthropicErrorBody struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// write sends e in a's shape.
func (e *apiError) write(w http.ResponseWriter, a api) {
	var body any
	switch a {
	case apiAnthropic:
		var b anthropicErrorBody
		b.Type = "error"
		b.Error.Message = e.message
		b.Error.Type = map[errKind]string{
			kindInvalid: "invalid_request_error", kindContextLength: "invalid_request_error",
			kindNotFound: "not_found_error", kindMethod: "invalid_request_error",
			kindRateLimit: "rate_limit_error", kindServer: "api_error", kindOverloaded: "overloaded_error",
		}[e.kind]
		body = b
	default:
		var b openAIErrorBody
		b.Error.Message = e.message
		b.Error.Param = strp(e.param)
		switch e.kind {
		case kindContextLength:
			b.Error.Type, b.Error.Code = "invalid_request_error", strp("context_length_exceeded")
		case kindRateLimit:
			b.Error.Type, b.Error.Code = "requests", strp("rate_limit_exceeded")
		case kindServer, kindOverloaded:
			b.Error.Type = "server_error"
		case kindNotFound:
			b.Error.Type, b.Error.Code = "invalid_request_error", strp("not_found")
		default:
			b.Error.Type = "invalid_request_error"
		}
		body = b
	}
	out, _ := json.Marshal(body) // plain structs of strings: cannot fail
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.status == http.StatusTooManyRequests && e.retryAfter >= 0 {
		h.Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	w.WriteHeader(e.status)
	_, _ = w.Write(out)
}

// overflowError is the 400 of a prompt of requested tokens over window, in
// the wording of vLLM/OpenAI or Anthropic.
func overflowError(a api, prompt, completion, window int) *apiError {
	e := &apiError{status: http.StatusBadRequest, kind: kindContextLength, param: "messages"}
	switch {
	case a == apiAnthropic:
		e.message = fmt.Sprintf("prompt is too long: %d tokens > %d maximum", prompt, window)
	case completion > 0:
		e.message = fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the messages, %d in the completion). Please reduce the length of the messages or completion.", window, prompt+completion, prompt, completion)
	default:
		e.message = fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens in the messages. Please reduce the length of the messages.", window, prompt)
	}
	return e
}

// faultError is the response of an injected 429, 500 or 503.
func faultError(f Fault, retryAfter int) *apiError {
	switch f {
	case Fault429:
		return &apiError{status: http.StatusTooManyRequests, kind: kindRateLimit, retryAfter: retryAfter,
			message: "Rate limit reached for requests (simulated). Please try again later."}
	case Fault503:
		return &apiError{status: http.StatusServiceUnavailable, kind: kindOverloaded,
			message: "The server is overloaded or not ready yet (simulated)."}
	default:
		return &apiError{status: http.StatusInternalServerError, kind: kindServer,
			message: "The server had an error while processing your request (simulated)."}
	}
}

// queueFullError is the 429 of a full wait queue.
func queueFullError(queued, retryAfter int) *apiError {
	return &apiError{status: http.StatusTooManyRequests, kind: kindRateLimit, retryAfter: retryAfter,
		message: fmt.Sprintf("Too many requests: %d are already waiting for a sequence slot. Please retry after %d seconds.", queued, retryAfter)}
}
