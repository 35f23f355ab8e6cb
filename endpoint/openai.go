package endpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/needlestorm/needlestorm/corpus"

	"github.com/needlestorm/needlestorm/run"
)

// The openai target: OpenAI-compatible chat completions, streamed.
//
// Requests go through github.com/sashabaranov/go-openai: its
// ChatCompletionRequest and message types, its URL building and
// Authorization header, and CreateChatCompletionStream, with an instrumented
// HTTPDoer (openaiDoer) in place of its http.Client. The stream is read with
// this package's own SSE reader (sse.go) from the response body the doer
// captured, not with go-openai's stream reader, which cannot tell a missing
// "[DONE]" or a stream cut in the middle of a line from a clean end, buffers
// every comment and keep-alive line in an unbounded accumulator, gives up
// after EmptyMessagesLimit of them, and does not know the "reasoning" delta
// field of vLLM and Ollama. go-openai's stream object is only closed.
//
// The doer also merges the fields go-openai cannot express into the JSON
// body: max_tokens, temperature (go-openai drops a temperature of 0 through
// omitempty, and servers then default to 0.7 or 1), stream_options
// {"include_usage": true}, and the configured extra body fields.

// openaiReserved are request fields extra_body may not set.
var openaiReserved = []string{"model", "messages", "stream"}

// openaiTarget is an OpenAI-compatible target.
type openaiTarget struct {
	*targetBase
	client *openai.Client
	// fields are the JSON members merged into every request body.
	fields []byte
}

// NewOpenAI returns a target for an OpenAI-compatible chat completions
// endpoint (vLLM, llama.cpp's server, Ollama, TGI, LM Studio, OpenAI). It
// reads the API key from cfg.APIKeyEnv (default OPENAI_API_KEY) once, now;
// an empty key sends no Authorization header. The target implements io.Closer.
func NewOpenAI(cfg TargetConfig, opts ...TargetOption) (Target, error) {
	base, fields, err := newDialectBase(cfg, KindOpenAI, opts, openaiReserved, openaiFields)
	if err != nil {
		return nil, err
	}
	t := &openaiTarget{targetBase: base, fields: fields}

	oc := openai.DefaultConfig(base.key)
	oc.BaseURL = base.base.String()
	oc.HTTPClient = openaiDoer{t}
	oc.EmptyMessagesLimit = 1 << 30 // unused: the stream is read by sseReader
	t.client = openai.NewClientWithConfig(oc)
	t.info.endpoint = redactURL(base.base) + "/chat/completions"
	return t, nil
}

// openaiFields are the request fields the target sets itself: max_tokens
// (max_completion_tokens for OpenAI's reasoning models, which refuse it and
// any temperature but the default; go-openai's validator knows them),
// temperature and stream_options.
func openaiFields(cfg TargetConfig) [][2]string {
	probe := openai.ChatCompletionRequest{Model: cfg.Model, MaxTokens: 1}
	reasoning := errors.Is(openai.NewReasoningValidator().Validate(probe), openai.ErrReasoningModelMaxTokensDeprecated)
	if reasoning {
		return [][2]string{{"max_completion_tokens", strconv.Itoa(cfg.MaxTokens)}, {"stream_options", `{"include_usage":true}`}}
	}
	return [][2]string{
		{"max_tokens", strconv.Itoa(cfg.MaxTokens)},
		{"temperature", strconv.FormatFloat(cfg.Temperature, 'g', -1, 64)},
		{"stream_options", `{"include_usage":true}`},
	}
}

// openaiDoer is the HTTPDoer go-openai sends through: it merges the target's
// body fields into the request and sends it instrumented.
type openaiDoer struct{ t *openaiTarget }

// Do sends one request of go-openai.
func (d openaiDoer) Do(req *http.Request) (*http.Response, error) {
	call, _ := req.Context().Value(targetCallKey{}).(*targetCall)
	if call == nil {
		return nil, errors.New("needlestorm: a request reached the target's HTTP client without its call state")
	}
	if len(d.t.fields) > 0 {
		body, err := httpclientReadBody(req, len(d.t.fields)+1)
		if err != nil {
			return nil, fmt.Errorf("reading the request body to merge extra fields: %w", err)
		}
		body, err = httpclientSplice(body, d.t.fields)
		if err != nil {
			return nil, fmt.Errorf("merging extra fields into the request: %w", err)
		}
		httpclientReplaceBody(req, body)
	}
	return d.t.http.do(req, call)
}

// openaiChunk is the part of a chat.completion.chunk the measurement reads.
type openaiChunk struct {
	Choices []openaiChoice `json:"choices"`
	// Usage is decoded apart, leniently: a bad count must not fail the
	// chunk that carries the end of a correct answer.
	Usage json.RawMessage `json:"usage"`
}

type openaiChoice struct {
	Index int `json:"index"`
	Delta struct {
		Content          string `json:"content"`
		ReasoningContent string `json:"reasoning_content"` // DeepSeek, vLLM
		Reasoning        string `json:"reasoning"`         // vLLM, Ollama
	} `json:"delta"`
	FinishReason string `json:"finish_reason"`
}

// openaiDone is the data of the stream's last event.
var openaiDone = []byte("[DONE]")

// openaiErrorMarker finds chunks that may be error objects.
var openaiErrorMarker = []byte(`"error"`)

// Send sends c's messages and measures the streamed answer into rec.
func (t *openaiTarget) Send(ctx context.Context, c *corpus.Case, rec *run.Record) {
	started := time.Now()
	t.prepare(c, rec)
	msgs := make([]openai.ChatCompletionMessage, len(c.Messages))
	for i, m := range c.Messages {
		msgs[i] = openai.ChatCompletionMessage{Role: m.Role, Content: m.Content}
	}
	var call targetCall
	call.init()
	defer call.account(rec)
	ctx, cancel := context.WithTimeoutCause(ctx, t.cfg.Timeout, errTargetTimeout)
	defer cancel()
	ctx = httptrace.WithClientTrace(ctx, &call.trace)
	ctx = context.WithValue(ctx, targetCallKey{}, &call)

	stream, err := t.client.CreateChatCompletionStream(ctx, openai.ChatCompletionRequest{
		Model:    t.cfg.Model,
		Messages: msgs,
	})
	t.sendTimes(rec, &call, started)
	if err != nil {
		switch {
		case call.resp != nil:
			rec.E2E = run.Seconds(time.Since(call.sentAt))
			t.failHTTP(rec, &call)
		case call.doErr != nil:
			class, msg := t.info.transportFailure(ctx, call.doErr)
			t.fail(rec, class, msg)
		default:
			if class, msg, ok := t.info.contextFailure(ctx, err, "before the request was sent"); ok {
				t.fail(rec, class, msg)
			} else {
				t.fail(rec, run.ErrBadResponse, fmt.Sprintf("the request could not be built: %v", err))
			}
		}
		return
	}
	defer stream.Close()
	if call.status < 200 || call.status > 299 {
		// go-openai passes 1xx/3xx on as success.
		rec.E2E = run.Seconds(time.Since(call.sentAt))
		t.failHTTP(rec, &call)
		return
	}
	if msg := call.encodingError(); msg != "" {
		rec.E2E = run.Seconds(time.Since(call.sentAt))
		t.fail(rec, run.ErrBadResponse, msg)
		return
	}
	t.readStream(ctx, cancel, call.resp.Body, &openaiDecoder{}, c, rec, call.sentAt)
	t.seal(rec)
}

// openaiDecoder is the OpenAI chat-completions dialect of the stream loop.
type openaiDecoder struct {
	chunk openaiChunk
	usage openaiUsage
}

// openaiUsage is a chunk's usage, read leniently (see usage.go).
type openaiUsage struct {
	PromptTokens        usageCount `json:"prompt_tokens"`
	CompletionTokens    usageCount `json:"completion_tokens"`
	PromptTokensDetails *struct {
		CachedTokens usageCount `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

// decode reads one chat.completion.chunk, "[DONE]", an error object or a
// llama.cpp "error:" line.
func (d *openaiDecoder) decode(name, data []byte, ev *streamEvent) error {
	if string(name) == "error" {
		ev.Err, ev.ErrStatus = data, errorJSONStatus(data, http.StatusInternalServerError)
		return nil
	}
	if bytes.Equal(data, openaiDone) {
		ev.End = true
		return nil
	}
	chunk := &d.chunk
	clear(chunk.Choices[:cap(chunk.Choices)])
	chunk.Choices = chunk.Choices[:0]
	chunk.Usage = nil
	if err := json.Unmarshal(data, chunk); err != nil {
		return err
	}
	hasUsage := len(chunk.Usage) > 0 && string(chunk.Usage) != "null"
	if len(chunk.Choices) == 0 && !hasUsage && bytes.Contains(data, openaiErrorMarker) {
		raw := openaiErrorObject(data)
		ev.Err, ev.ErrStatus = data, errorJSONStatus(raw, http.StatusInternalServerError)
		return nil
	}
	for i := range chunk.Choices {
		ch := &chunk.Choices[i]
		if ch.Index != 0 {
			continue
		}
		reasoning := ch.Delta.ReasoningContent
		if reasoning == "" {
			reasoning = ch.Delta.Reasoning
		}
		ev.Content += ch.Delta.Content
		ev.Reasoning += reasoning
		if ch.FinishReason != "" {
			ev.Finish = ch.FinishReason
		}
	}
	if hasUsage {
		d.usage = openaiUsage{}
		if note := decodeUsage(chunk.Usage, &d.usage); note != "" {
			ev.UsageNote = note
			return nil
		}
		u := streamUsage{
			Prompt: d.usage.PromptTokens, Output: d.usage.CompletionTokens,
			PromptName: "prompt_tokens", OutputName: "completion_tokens", CachedName: "cached_tokens",
			Final: true,
		}
		if det := d.usage.PromptTokensDetails; det != nil {
			u.Cached = det.CachedTokens
		}
		ev.Usage = &u
	}
	return nil
}

// openaiErrorObject returns the "error" member of an error chunk, or the
// chunk itself when it is an error object ({"object":"error",...}).
func openaiErrorObject(data []byte) []byte {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil && len(e.Error) > 0 && e.Error[0] == '{' {
		return e.Error
	}
	return data
}
