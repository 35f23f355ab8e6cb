package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/needlestorm/needlestorm/internal/jsonstr"
)

type openAIUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

type openAIResponse struct {
	ID      string         `json:"id"`
	Object  string         `json:"object"`
	Created int64          `json:"created"`
	Model   string         `json:"model"`
	Choices []openAIChoice `json:"choices"`
	Usage   openAIUsage    `json:"usage"`
}

// openAIChoice is one choice of a whole chat completion.
type openAIChoice struct {
	Index   int `json:"index"`
	Message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"message"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason string    `json:"finish_reason"`
}

// serveOpenAI answers POST /v1/chat/completions. Every response, errors
// included, carries an x-request-id header ("req-sim" and a serial number,
// as vLLM with --enable-request-id-headers sends); the completion's id is
// "chatcmpl-sim" and the same number, so records can be joined with either.
func (s *Server) serveOpenAI(w http.ResponseWriter, r *http.Request) {
	n := s.id("")
	w.Header().Set("X-Request-Id", "req-sim"+n)
	id := "chatcmpl-sim" + n
	s.serveChat(w, r, apiOpenAI, decodeOpenAI,
		func(ctx context.Context, w http.ResponseWriter, x *exchange) { s.streamOpenAI(ctx, w, x, id) },
		func(req chat, x *exchange) any { return s.openAICompletion(req, x, id) })
}

// openAICompletion is the whole (not streamed) chat completion.
func (s *Server) openAICompletion(req chat, x *exchange, id string) any {
	var resp openAIResponse
	resp.ID, resp.Object, resp.Created, resp.Model = id, "chat.completion", time.Now().Unix(), req.model
	resp.Choices = make([]openAIChoice, 1)
	resp.Choices[0].Message.Role = "assistant"
	resp.Choices[0].Message.Content = x.text()
	resp.Choices[0].FinishReason = x.finish
	resp.Usage = x.usage()
	return resp
}

func (x *exchange) usage() openAIUsage {
	u := openAIUsage{PromptTokens: x.promptTokens, CompletionTokens: len(x.out), TotalTokens: x.promptTokens + len(x.out)}
	u.PromptTokensDetails.CachedTokens = x.cached
	return u
}

// streamOpenAI writes the answer as chat.completion.chunk events: a role
// chunk, one chunk per piece, a finish_reason chunk, the usage chunk (empty
// choices) when stream_options.include_usage is set, then data: [DONE].
func (s *Server) streamOpenAI(ctx context.Context, w http.ResponseWriter, x *exchange, id string) {
	es := startEventStream(w, x)
	flush := es.flush

	prefix := make([]byte, 0, 160)
	prefix = append(prefix, `data: {"id":"`...)
	prefix = append(prefix, id...)
	prefix = append(prefix, `","object":"chat.completion.chunk","created":`...)
	prefix = strconv.AppendInt(prefix, time.Now().Unix(), 10)
	prefix = append(prefix, `,"model":`...)
	prefix = jsonstr.Append(prefix, x.req.model)
	prefix = append(prefix, `,"choices":[`...)
	suffix := "]}\n\n"
	if x.req.includeUsage {
		suffix = `],"usage":null}` + "\n\n"
	}
	buf := make([]byte, 0, 512)
	chunk := func(choice func([]byte) []byte) {
		buf = append(buf[:0], prefix...)
		buf = choice(buf)
		buf = append(buf, suffix...)
		_, _ = w.Write(buf)
	}

	chunk(func(b []byte) []byte {
		return append(b, `{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}`...)
	})
	flush()
	if !x.streamPieces(ctx, es, func(p string) {
		chunk(func(b []byte) []byte {
			b = append(b, `{"index":0,"delta":{"content":`...)
			b = jsonstr.Append(b, p)
			return append(b, `},"logprobs":null,"finish_reason":null}`...)
		})
	}) {
		return
	}
	chunk(func(b []byte) []byte {
		b = append(b, `{"index":0,"delta":{},"logprobs":null,"finish_reason":`...)
		b = jsonstr.Append(b, x.finish)
		return append(b, '}')
	})
	if x.req.includeUsage {
		buf = append(buf[:0], prefix...)
		buf = append(buf, `],"usage":{"prompt_tokens":`...)
		buf = strconv.AppendInt(buf, int64(x.promptTokens), 10)
		buf = append(buf, `,"completion_tokens":`...)
		buf = strconv.AppendInt(buf, int64(len(x.out)), 10)
		buf = append(buf, `,"total_tokens":`...)
		buf = strconv.AppendInt(buf, int64(x.promptTokens+len(x.out)), 10)
		buf = append(buf, `,"prompt_tokens_details":{"cached_tokens":`...)
		buf = strconv.AppendInt(buf, int64(x.cached), 10)
		buf = append(buf, `}}}`+"\n\n"...)
		_, _ = w.Write(buf)
	}
	_, _ = w.Write([]byte("data: [DONE]\n\n"))
	es.flushNow()
}

type modelList struct {
	Object string       `json:"object"`
	Data   []modelEntry `json:"data"`
}

type modelEntry struct {
	ID          string  `json:"id"`
	Object      string  `json:"object"`
	Created     int64   `json:"created"`
	OwnedBy     string  `json:"owned_by"`
	Root        string  `json:"root"`
	Parent      *string `json:"parent"`
	MaxModelLen int     `json:"max_model_len,omitempty"`
}

// serveModels answers GET /v1/models with the one model and, like vLLM
// (the vllm metadata flavour), its context window as max_model_len.
func (s *Server) serveModels(w http.ResponseWriter) {
	e := modelEntry{ID: s.cfg.Model, Object: "model", Created: s.born, OwnedBy: "needlestorm-sim", Root: s.cfg.Model}
	if s.cfg.Metadata == "" || s.cfg.Metadata == MetadataVLLM {
		e.MaxModelLen = s.cfg.ContextWindow
	}
	out, _ := json.Marshal(modelList{Object: "list", Data: []modelEntry{e}})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}
