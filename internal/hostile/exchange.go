package hostile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// dialect is the API a request spoke: OpenAI chat completions or
// Anthropic Messages.
type dialect int

const (
	openai dialect = iota
	anthropic
)

// errGone means the client went away (or the server is closing): a
// handler stops writing.
var errGone = errors.New("hostile: the client went away")

// exchange is one request being answered, with writers of both dialects'
// streams.
type exchange struct {
	s       *Server
	w       http.ResponseWriter
	r       *http.Request
	n       int64 // the request's number on the server, from 1
	ctx     context.Context
	chat    bool
	dialect dialect
	// out is where stream events go: w, or a gzip writer over it.
	out io.Writer
}

// header starts a 200 response of the given content type.
func (x *exchange) header(contentType string) {
	x.w.Header().Set("Content-Type", contentType)
	x.w.Header().Set("Cache-Control", "no-cache")
	x.w.WriteHeader(http.StatusOK)
	x.flush()
}

// flush pushes what was written to the client.
func (x *exchange) flush() {
	if f, ok := x.out.(interface{ Flush() error }); ok {
		_ = f.Flush()
	}
	if f, ok := x.w.(http.Flusher); ok {
		f.Flush()
	}
}

// write writes b and flushes it, or reports errGone.
func (x *exchange) write(b []byte) error {
	if x.ctx.Err() != nil {
		return errGone
	}
	out := x.out
	if out == nil {
		out = x.w
	}
	if _, err := out.Write(b); err != nil {
		return errGone
	}
	x.flush()
	return nil
}

// data writes one "data:" event.
func (x *exchange) data(payload string) error {
	return x.write([]byte("data: " + payload + "\n\n"))
}

// event writes one named event (Anthropic's "event: NAME").
func (x *exchange) event(name, payload string) error {
	return x.write([]byte("event: " + name + "\ndata: " + payload + "\n\n"))
}

// quote is s as a JSON string.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// open starts a streamed answer: the headers, then OpenAI's role chunk or
// Anthropic's message_start and content_block_start.
func (x *exchange) open() error {
	x.header("text/event-stream")
	if x.dialect == anthropic {
		if err := x.event("message_start", fmt.Sprintf(`{"type":"message_start","message":{"id":"msg_hostile","type":"message","role":"assistant","model":%s,"content":[],"stop_reason":null,"usage":{"input_tokens":0,"output_tokens":1}}}`, quote(x.s.cfg.model))); err != nil {
			return err
		}
		return x.event("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
	}
	return x.chunk(`{"role":"assistant","content":""}`, "null")
}

// chunk writes one OpenAI chunk with a raw delta object and finish reason.
func (x *exchange) chunk(delta, finish string) error {
	return x.data(fmt.Sprintf(`{"id":"chatcmpl-hostile","object":"chat.completion.chunk","created":1,"model":%s,"choices":[{"index":0,"delta":%s,"finish_reason":%s}]}`,
		quote(x.s.cfg.model), delta, finish))
}

// text writes one content delta.
func (x *exchange) text(s string) error {
	return x.rawText(quote(s))
}

// rawText writes one content delta whose JSON string (quotes included) is
// given as is, so that it may hold bytes json.Marshal would not write.
func (x *exchange) rawText(js string) error {
	if x.dialect == anthropic {
		return x.event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`+js+`}}`)
	}
	return x.chunk(`{"content":`+js+`}`, "null")
}

// finish ends the answer with a stop reason and the usage given (raw
// JSON members of the dialect's usage object, such as
// `"prompt_tokens":263,"completion_tokens":5`; "" for none), then the
// stream's end event.
func (x *exchange) finish(usage string) error {
	if x.dialect == anthropic {
		if err := x.event("content_block_stop", `{"type":"content_block_stop","index":0}`); err != nil {
			return err
		}
		u := ""
		if usage != "" {
			u = `,"usage":{` + usage + `}`
		}
		if err := x.event("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null}`+u+`}`); err != nil {
			return err
		}
		return x.event("message_stop", `{"type":"message_stop"}`)
	}
	if err := x.chunk(`{}`, `"stop"`); err != nil {
		return err
	}
	if usage != "" {
		if err := x.data(fmt.Sprintf(`{"id":"chatcmpl-hostile","object":"chat.completion.chunk","created":1,"model":%s,"choices":[],"usage":{%s}}`, quote(x.s.cfg.model), usage)); err != nil {
			return err
		}
	}
	return x.data("[DONE]")
}

// usage is a usage object's members in the exchange's dialect.
func (x *exchange) usage(prompt, completion string) string {
	if x.dialect == anthropic {
		return `"input_tokens":` + prompt + `,"output_tokens":` + completion
	}
	return `"prompt_tokens":` + prompt + `,"completion_tokens":` + completion + `,"total_tokens":` + completion
}

// answer streams a short, well-formed answer with sane usage.
func (x *exchange) answer(s string) {
	if x.open() != nil {
		return
	}
	for _, part := range []string{s[:len(s)/2], s[len(s)/2:]} {
		if x.text(part) != nil {
			return
		}
	}
	_ = x.finish(x.usage("300", "6"))
}

// jsonError answers status with an error body in the dialect's shape.
func (x *exchange) jsonError(status int, message string) {
	x.w.Header().Set("Content-Type", "application/json")
	x.w.WriteHeader(status)
	if x.dialect == anthropic {
		fmt.Fprintf(x.w, `{"type":"error","error":{"type":"invalid_request_error","message":%s}}`, quote(message))
		return
	}
	fmt.Fprintf(x.w, `{"error":{"message":%s,"type":"invalid_request_error","code":null}}`, quote(message))
}

// models answers GET /v1/models listing ids.
func (x *exchange) models(ids ...string) {
	x.w.Header().Set("Content-Type", "application/json")
	io.WriteString(x.w, `{"object":"list","data":[`)
	for i, id := range ids {
		if i > 0 {
			io.WriteString(x.w, ",")
		}
		fmt.Fprintf(x.w, `{"id":%s,"object":"model","owned_by":"hostile"}`, quote(id))
	}
	io.WriteString(x.w, `]}`)
}

// normal answers any request as a well-behaved server would: the model
// list, health, and a short streamed answer.
func (x *exchange) normal() {
	switch {
	case x.r.Method == http.MethodGet && (isPath(x.r, "/models") || isPath(x.r, "/v1/models")):
		x.models(x.s.cfg.model)
	case x.r.Method == http.MethodGet && isPath(x.r, "/health"):
		x.w.Header().Set("Content-Type", "application/json")
		io.WriteString(x.w, `{"status":"ok"}`)
	case x.chat:
		x.answer("I do not know.")
	default:
		x.jsonError(http.StatusNotFound, "no such path: "+x.r.URL.Path)
	}
}

// isPath reports whether the request's path ends in suffix.
func isPath(r *http.Request, suffix string) bool {
	p := r.URL.Path
	return len(p) >= len(suffix) && p[len(p)-len(suffix):] == suffix
}
