package endpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/needlestorm/needlestorm/corpus"

	"github.com/needlestorm/needlestorm/run"
)

// The openai target: OpenAI-compatible chat completions, streamed.
//
// The request is go-openai's: the body is what json.Marshal of its
// ChatCompletionRequest {Model, Messages, Stream: true} gives (body.go
// writes the same bytes without encoding/json, from a template rendered
// once per target), with the fields go-openai cannot express merged in:
// max_tokens (max_completion_tokens for OpenAI's reasoning models, which
// go-openai's validator knows), temperature (go-openai drops a temperature
// of 0 through omitempty, and servers then default to 0.7 or 1),
// stream_options {"include_usage": true}, and the configured extra body
// fields; the URL ({base}/chat/completions) and headers are the ones
// go-openai's CreateChatCompletionStream sends. It goes out through the
// instrumented client (httpclient.go) and the stream is read with this
// package's own SSE reader (sse.go): go-openai's stream reader cannot tell
// a missing "[DONE]" or a stream cut in the middle of a line from a clean
// end, buffers every comment and keep-alive line in an unbounded
// accumulator, gives up after EmptyMessagesLimit of them, and does not know
// the "reasoning" delta field of vLLM and Ollama.

// openaiReserved are request fields extra_body may not set.
var openaiReserved = []string{"model", "messages", "stream"}

// openaiTarget is an OpenAI-compatible target.
type openaiTarget struct {
	*targetBase
	url  *url.URL
	body *openaiBody
	// header is every request's header (shared, never written).
	header http.Header
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
	t := &openaiTarget{targetBase: base, body: newOpenAIBody(base.cfg.Model, fields)}
	if t.url, err = url.Parse(base.base.String() + "/chat/completions"); err != nil {
		// Never quote the parse error: it holds the URL, password included.
		return nil, fmt.Errorf("target %s: the endpoint URL under %s does not parse", base.cfg.Name, redactURL(base.base))
	}
	// HTTP/1.1 keeps the connection alive and does not cache a POST's
	// answer by itself: no Connection or Cache-Control header, which every
	// request would write and the server parse.
	header := http.Header{
		"Content-Type": {"application/json"},
		"Accept":       {"text/event-stream"},
	}
	if base.key != "" {
		header["Authorization"] = []string{"Bearer " + base.key}
	}
	t.header = base.http.header(header)
	t.info.endpoint = redactURL(base.base) + "/chat/completions"
	return t, nil
}

// openaiFields are the request fields the target sets itself: max_tokens
// (max_completion_tokens for OpenAI's reasoning models, which refuse it and
// any temperature but the default; go-openai's validator knows them),
// temperature and stream_options. The cap comes first (see
// targetBodyFields).
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

// openaiChunk is the part of a chat.completion.chunk the measurement reads.
type openaiChunk struct {
	ID      string         `json:"id"`
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
	t.send(ctx, c, nil, rec)
}

// SendRenonced is Send of c with r applied (its preamble replaced), which
// it writes straight into the request body: the dispatcher need not copy
// the prompt first.
func (t *openaiTarget) SendRenonced(ctx context.Context, c *corpus.Case, r corpus.Renonce, rec *run.Record) {
	t.send(ctx, c, &r, rec)
}

func (t *openaiTarget) send(ctx context.Context, c *corpus.Case, r *corpus.Renonce, rec *run.Record) {
	started := time.Now()
	t.prepare(c, rec)
	body := t.body.build(c, r)

	var call targetCall
	call.init()
	defer call.account(rec)
	ctx, cancel := context.WithTimeoutCause(ctx, t.cfg.Timeout, errTargetTimeout)
	defer cancel()
	ctx = httptrace.WithClientTrace(ctx, &call.trace)
	req, err := t.http.post(ctx, t.url, body, t.header)
	if err != nil {
		rec.SentAt = started
		t.fail(rec, run.ErrBadResponse, fmt.Sprintf("the request could not be built: %v", err))
		return
	}
	resp, err := t.http.roundTrip(req, &call)
	t.sendTimes(rec, &call, started)
	if err != nil {
		class, msg := t.info.transportFailure(ctx, err)
		t.fail(rec, class, msg)
		return
	}
	defer resp.Body.Close()
	if call.status < 200 || call.status > 299 {
		rec.E2E = run.Seconds(time.Since(call.sentAt))
		t.failHTTP(rec, &call)
		return
	}
	if msg := call.encodingError(); msg != "" {
		rec.E2E = run.Seconds(time.Since(call.sentAt))
		t.fail(rec, run.ErrBadResponse, msg)
		return
	}
	t.readStream(ctx, cancel, resp.Body, (*streamState).openaiDialect, c, rec, call.sentAt)
	t.seal(rec)
}

// openaiDecoder is the OpenAI chat-completions dialect of the stream loop.
type openaiDecoder struct {
	chunk   openaiChunk
	usage   openaiUsage
	details openaiUsageDetails
	scan    jsScan
	// shape is the last content chunk's layout (chunkshape.go); cand what
	// the last full fast read saw of it.
	shape chunkShape
	cand  shapeCandidate
}

// openaiUsage is a chunk's usage, read leniently (see usage.go).
type openaiUsage struct {
	PromptTokens        usageCount          `json:"prompt_tokens"`
	CompletionTokens    usageCount          `json:"completion_tokens"`
	PromptTokensDetails *openaiUsageDetails `json:"prompt_tokens_details"`
}

// openaiUsageDetails is the prompt_tokens_details member of a usage.
type openaiUsageDetails struct {
	CachedTokens usageCount `json:"cached_tokens"`
}

// openaiRead is what the measurement reads of a chunk: its id, the content,
// reasoning and finish reason of its choices of index 0, how many choices
// it had, and its usage member as it came.
type openaiRead struct {
	id, content, reasoning, finish []byte
	choices                        int
	usage                          []byte
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
	var r openaiRead
	switch {
	case d.shape.read(&d.scan, data, &r):
	case d.fast(data, &r):
		d.shape.learn(data, &r, &d.cand)
	default:
		r = openaiRead{}
		if err := d.slow(data, &r); err != nil {
			return err
		}
	}
	hasUsage := len(r.usage) > 0 && string(r.usage) != "null"
	if r.choices == 0 && !hasUsage && bytes.Contains(data, openaiErrorMarker) {
		raw := openaiErrorObject(data)
		ev.Err, ev.ErrStatus = data, errorJSONStatus(raw, http.StatusInternalServerError)
		return nil
	}
	ev.ID, ev.Content, ev.Reasoning = r.id, r.content, r.reasoning
	if len(r.finish) > 0 {
		ev.Finish = string(r.finish)
	}
	if hasUsage {
		d.usage = openaiUsage{}
		if !d.fastUsage(r.usage) {
			d.usage = openaiUsage{}
			if note := decodeUsage(r.usage, &d.usage); note != "" {
				ev.UsageNote = note
				return nil
			}
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

// fastUsage reads a usage member of plain counts into d.usage without
// encoding/json (see fastUsage in chunkscan.go).
func (d *openaiDecoder) fastUsage(raw []byte) bool {
	var cached usageCount
	details := false
	ok := fastUsage(raw, []usageField{
		{name: "prompt_tokens", dst: &d.usage.PromptTokens},
		{name: "completion_tokens", dst: &d.usage.CompletionTokens},
	}, "prompt_tokens_details", []usageField{{name: "cached_tokens", dst: &cached}}, &details)
	if ok && details {
		d.usage.PromptTokensDetails = &d.details
		d.details.CachedTokens = cached
	}
	return ok
}

// slow reads a chunk with encoding/json.
func (d *openaiDecoder) slow(data []byte, r *openaiRead) error {
	chunk := &d.chunk
	clear(chunk.Choices[:cap(chunk.Choices)])
	chunk.Choices = chunk.Choices[:0]
	chunk.Usage = nil
	chunk.ID = ""
	if err := json.Unmarshal(data, chunk); err != nil {
		return err
	}
	r.choices, r.usage = len(chunk.Choices), chunk.Usage
	if chunk.ID != "" {
		r.id = []byte(chunk.ID)
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
		r.content = append(r.content, ch.Delta.Content...)
		r.reasoning = append(r.reasoning, reasoning...)
		if ch.FinishReason != "" {
			r.finish = []byte(ch.FinishReason)
		}
	}
	return nil
}

// fast reads a chunk with the scanner of chunkscan.go; false means it did
// not, and slow must.
func (d *openaiDecoder) fast(data []byte, r *openaiRead) bool {
	s := &d.scan
	s.reset(data)
	d.cand = shapeCandidate{}
	var seenID, seenChoices, seenUsage, zero bool
	ok := s.object(func(k []byte) bool {
		fold := false
		switch {
		case jsKeyIs(k, "id", &fold):
			s.ws()
			from := s.i
			if !s.strOrNull(&r.id, &seenID) {
				return false
			}
			if len(r.id) > 0 && s.i-from == len(r.id)+2 && bytes.Equal(data[from+1:s.i-1], r.id) {
				d.cand.idFrom, d.cand.idTo = from+1, s.i-1
			}
			return true
		case jsKeyIs(k, "choices", &fold):
			if seenChoices {
				return false
			}
			seenChoices = true
			if s.null() {
				return true
			}
			return s.array(func() bool {
				r.choices++
				return d.fastChoice(r, &zero)
			})
		case jsKeyIs(k, "usage", &fold):
			if seenUsage {
				return false
			}
			seenUsage = true
			v, ok := s.raw()
			r.usage = v
			return ok
		}
		return !fold && s.skip(1)
	})
	return ok && s.end()
}

// fastChoice reads one element of choices; zero says a choice of index 0
// came before (two of them go the slow way).
func (d *openaiDecoder) fastChoice(r *openaiRead, zero *bool) bool {
	s := &d.scan
	var content, reasoningContent, reasoning, finish []byte
	var seenIndex, seenDelta, seenFinish, seenC, seenRC, seenR bool
	index, textFrom, textTo := 0, 0, 0
	ok := s.object(func(k []byte) bool {
		fold := false
		switch {
		case jsKeyIs(k, "index", &fold):
			if seenIndex {
				return false
			}
			seenIndex = true
			if s.null() {
				return true
			}
			n, ok := s.smallInt()
			index = n
			return ok
		case jsKeyIs(k, "delta", &fold):
			if seenDelta {
				return false
			}
			seenDelta = true
			if s.null() {
				return true
			}
			return s.object(func(k []byte) bool {
				fold := false
				switch {
				case jsKeyIs(k, "content", &fold):
					s.ws()
					from := s.i
					if !s.strOrNull(&content, &seenC) {
						return false
					}
					if s.b[from] == '"' {
						textFrom, textTo = from, s.i
					}
					return true
				case jsKeyIs(k, "reasoning_content", &fold):
					return s.strOrNull(&reasoningContent, &seenRC)
				case jsKeyIs(k, "reasoning", &fold):
					return s.strOrNull(&reasoning, &seenR)
				}
				return !fold && s.skip(2)
			})
		case jsKeyIs(k, "finish_reason", &fold):
			return s.strOrNull(&finish, &seenFinish)
		}
		return !fold && s.skip(2)
	})
	if !ok {
		return false
	}
	if index != 0 {
		return true
	}
	if *zero {
		return false
	}
	*zero = true
	if len(reasoningContent) == 0 {
		reasoningContent = reasoning
	}
	r.content, r.reasoning = content, reasoningContent
	d.cand.textFrom, d.cand.textTo = textFrom, textTo
	if len(finish) > 0 {
		r.finish = finish
	}
	return true
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
