package sim

import (
	"context"
	"net/http"
	"strconv"

	"github.com/needlestorm/needlestorm/internal/jsonstr"
)

type anthropicUsage struct {
	InputTokens              int `json:"input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	OutputTokens             int `json:"output_tokens"`
}

type anthropicMessage struct {
	ID           string         `json:"id"`
	Type         string         `json:"type"`
	Role         string         `json:"role"`
	Model        string         `json:"model"`
	Content      []part         `json:"content"`
	StopReason   *string        `json:"stop_reason"`
	StopSequence *string        `json:"stop_sequence"`
	Usage        anthropicUsage `json:"usage"`
}

// anthropicUsage is x's usage as the Messages API reports it: input_tokens
// leaves out the tokens read from the prefix cache, which
// cache_read_input_tokens counts.
func (x *exchange) anthropicUsage() anthropicUsage {
	return anthropicUsage{InputTokens: x.promptTokens - x.cached, CacheReadInputTokens: x.cached, OutputTokens: len(x.out)}
}

// stopReason is Anthropic's name for x's finish.
func (x *exchange) stopReason() string {
	if x.finish == "length" {
		return "max_tokens"
	}
	return "end_turn"
}

// serveAnthropic answers POST /v1/messages. Every response, errors
// included, carries a request-id header, as Anthropic's API does, and an
// x-request-id with the same value ("req_sim" and a serial number); the
// message's id is "msg_sim" and the same number.
func (s *Server) serveAnthropic(w http.ResponseWriter, r *http.Request) {
	n := s.id("")
	w.Header().Set("Request-Id", "req_sim"+n)
	w.Header().Set("X-Request-Id", "req_sim"+n)
	id := "msg_sim" + n
	s.serveChat(w, r, apiAnthropic, decodeAnthropic,
		func(ctx context.Context, w http.ResponseWriter, x *exchange) { s.streamAnthropic(ctx, w, x, id) },
		func(req chat, x *exchange) any { return s.anthropicWhole(req, x, id) })
}

// anthropicWhole is the whole (not streamed) message.
func (s *Server) anthropicWhole(req chat, x *exchange, id string) any {
	stop := x.stopReason()
	return anthropicMessage{
		ID: id, Type: "message", Role: "assistant", Model: req.model,
		Content:    []part{{Type: "text", Text: x.text()}},
		StopReason: &stop,
		Usage:      x.anthropicUsage(),
	}
}

// streamAnthropic writes the answer as the Messages API's event stream:
// message_start, content_block_start, ping, one content_block_delta per
// piece, content_block_stop, message_delta (stop_reason, usage), message_stop.
func (s *Server) streamAnthropic(ctx context.Context, w http.ResponseWriter, x *exchange, id string) {
	es := startEventStream(w, x)
	flush := es.flush
	buf := make([]byte, 0, 512)
	event := func(name string, data func([]byte) []byte) {
		buf = append(buf[:0], "event: "...)
		buf = append(buf, name...)
		buf = append(buf, "\ndata: "...)
		buf = data(buf)
		buf = append(buf, "\n\n"...)
		_, _ = w.Write(buf)
	}

	event("message_start", func(b []byte) []byte {
		b = append(b, `{"type":"message_start","message":{"id":"`...)
		b = append(b, id...)
		b = append(b, `","type":"message","role":"assistant","model":`...)
		b = jsonstr.Append(b, x.req.model)
		u := x.anthropicUsage()
		b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":`...)
		b = strconv.AppendInt(b, int64(u.InputTokens), 10)
		b = append(b, `,"cache_creation_input_tokens":0,"cache_read_input_tokens":`...)
		b = strconv.AppendInt(b, int64(u.CacheReadInputTokens), 10)
		return append(b, `,"output_tokens":1}}}`...)
	})
	event("content_block_start", func(b []byte) []byte {
		return append(b, `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`...)
	})
	event("ping", func(b []byte) []byte { return append(b, `{"type":"ping"}`...) })
	flush()
	if !x.streamPieces(ctx, es, func(p string) {
		event("content_block_delta", func(b []byte) []byte {
			b = append(b, `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`...)
			b = jsonstr.Append(b, p)
			return append(b, `}}`...)
		})
	}) {
		return
	}
	event("content_block_stop", func(b []byte) []byte {
		return append(b, `{"type":"content_block_stop","index":0}`...)
	})
	event("message_delta", func(b []byte) []byte {
		b = append(b, `{"type":"message_delta","delta":{"stop_reason":"`...)
		b = append(b, x.stopReason()...)
		b = append(b, `","stop_sequence":null},"usage":{"output_tokens":`...)
		b = strconv.AppendInt(b, int64(len(x.out)), 10)
		return append(b, `}}`...)
	})
	event("message_stop", func(b []byte) []byte { return append(b, `{"type":"message_stop"}`...) })
	es.flushNow()
}
