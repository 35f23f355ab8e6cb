package endpoint

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"time"

	"github.com/needlestorm/needlestorm/corpus"

	"github.com/needlestorm/needlestorm/run"
)

// The anthropic target: a small client for the Anthropic Messages API
// (POST {base}/v1/messages with "stream": true). anthropic-sdk-go retries by
// default and brings a large dependency tree; this one endpoint and its event
// stream are small enough to speak directly.
//
// The stream, as documented (docs.anthropic.com, "Streaming Messages"):
//
//	event: message_start        {"type":"message_start","message":{...,"usage":{"input_tokens":N,"cache_read_input_tokens":N,"cache_creation_input_tokens":N,"output_tokens":1}}}
//	event: content_block_start  {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}
//	event: ping                 {"type":"ping"}
//	event: content_block_delta  {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}
//	                            (or "thinking_delta" with "thinking", "signature_delta", "input_json_delta")
//	event: content_block_stop   {"type":"content_block_stop","index":0}
//	event: message_delta        {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}
//	event: message_stop         {"type":"message_stop"}
//	event: error                {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}
//
// Unknown event types are ignored, as Anthropic's versioning policy asks.

// AnthropicVersion is the anthropic-version header sent with every request.
const AnthropicVersion = "2023-06-01"

// anthropicReserved are request fields extra_body may not set.
var anthropicReserved = []string{"model", "messages", "stream", "system"}

// anthropicTarget is an Anthropic Messages API target.
type anthropicTarget struct {
	*targetBase
	endpoint *url.URL
	body     *anthropicBody
	// header is every request's header (shared, never written).
	header http.Header
}

// NewAnthropic returns a target for the Anthropic Messages API. It reads the
// API key from cfg.APIKeyEnv (default ANTHROPIC_API_KEY) once, now, and sends
// it as x-api-key; an empty key sends none (for compatible local servers). The
// target implements io.Closer.
func NewAnthropic(cfg TargetConfig, opts ...TargetOption) (Target, error) {
	base, fields, err := newDialectBase(cfg, KindAnthropic, opts, anthropicReserved, anthropicFields)
	if err != nil {
		return nil, err
	}
	t := &anthropicTarget{targetBase: base, body: newAnthropicBody(base.cfg.Model, fields)}
	if t.endpoint, err = url.Parse(base.base.String() + "/v1/messages"); err != nil {
		// Never quote the parse error: it holds the URL, password included.
		return nil, fmt.Errorf("target %s: the endpoint URL under %s does not parse", base.cfg.Name, redactURL(base.base))
	}
	header := http.Header{
		"Content-Type":      {"application/json"},
		"Accept":            {"text/event-stream"},
		"Anthropic-Version": {AnthropicVersion},
	}
	if base.key != "" {
		header["X-Api-Key"] = []string{base.key}
	}
	t.header = base.http.header(header)
	t.info.endpoint = redactURL(base.base) + "/v1/messages"
	return t, nil
}

// anthropicFields are the request fields the target sets itself, the cap
// first (see targetBodyFields).
func anthropicFields(cfg TargetConfig) [][2]string {
	own := [][2]string{{"max_tokens", strconv.Itoa(cfg.MaxTokens)}}
	// Extended thinking requires the default temperature: leave it out then.
	if _, thinking := cfg.ExtraBody["thinking"]; !thinking {
		own = append(own, [2]string{"temperature", strconv.FormatFloat(cfg.Temperature, 'g', -1, 64)})
	}
	return own
}

// anthropicRequest is the body of a Messages API request, without the fields
// the target merges in (max_tokens, temperature, extra body). anthropicBody
// (body.go) writes its encoding; tests compare the two.
type anthropicRequest struct {
	Model    string           `json:"model"`
	System   string           `json:"system,omitempty"`
	Messages []corpus.Message `json:"messages"`
	Stream   bool             `json:"stream"`
}

// anthropicEvent is the part of a stream event the measurement reads.
type anthropicEvent struct {
	Type    string `json:"type"`
	Message *struct {
		ID    string          `json:"id"`
		Usage json.RawMessage `json:"usage"`
	} `json:"message"`
	Delta struct {
		Type       string `json:"type"`
		Text       string `json:"text"`
		Thinking   string `json:"thinking"`
		StopReason string `json:"stop_reason"`
	} `json:"delta"`
	Usage json.RawMessage `json:"usage"`
}

type anthropicUsage struct {
	InputTokens              usageCount `json:"input_tokens"`
	OutputTokens             usageCount `json:"output_tokens"`
	CacheReadInputTokens     usageCount `json:"cache_read_input_tokens"`
	CacheCreationInputTokens usageCount `json:"cache_creation_input_tokens"`
}

// Send sends c's messages and measures the streamed answer into rec.
//
// PromptTokensServer is input_tokens + cache_read_input_tokens +
// cache_creation_input_tokens (Anthropic's input_tokens leaves out the cached
// part); CachedTokens is cache_read_input_tokens.
func (t *anthropicTarget) Send(ctx context.Context, c *corpus.Case, rec *run.Record) {
	t.send(ctx, c, nil, rec)
}

// SendRenonced is Send of c with r applied (its preamble replaced), which
// it writes straight into the request body: the dispatcher need not copy
// the prompt first.
func (t *anthropicTarget) SendRenonced(ctx context.Context, c *corpus.Case, r corpus.Renonce, rec *run.Record) {
	t.send(ctx, c, &r, rec)
}

func (t *anthropicTarget) send(ctx context.Context, c *corpus.Case, r *corpus.Renonce, rec *run.Record) {
	started := time.Now()
	t.prepare(c, rec)
	body := t.body.build(c, r)

	var call targetCall
	call.init()
	defer call.account(rec)
	ctx, cancel := context.WithTimeoutCause(ctx, t.cfg.Timeout, errTargetTimeout)
	defer cancel()
	ctx = httptrace.WithClientTrace(ctx, &call.trace)
	req, err := t.http.post(ctx, t.endpoint, body, t.header)
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
	t.readStream(ctx, cancel, resp.Body, (*streamState).anthropicDialect, c, rec, call.sentAt)
	t.seal(rec)
}

// anthropicDecoder is the Anthropic Messages dialect of the stream loop.
type anthropicDecoder struct {
	scan jsScan
}

// anthropicRead is what the measurement reads of an event.
type anthropicRead struct {
	typ                                []byte
	message                            bool // a message object came
	messageID, messageUsage            []byte
	deltaType, text, thinking, stopped []byte
	usage                              []byte
}

// decode reads one Messages stream event.
func (d *anthropicDecoder) decode(name, data []byte, ev *streamEvent) error {
	var e anthropicRead
	if !d.fast(data, &e) {
		e = anthropicRead{}
		if err := anthropicSlow(data, &e); err != nil {
			return err
		}
	}
	typ := e.typ
	if len(typ) == 0 {
		typ = name
	}
	switch string(typ) {
	case "message_start":
		if e.message {
			ev.ID = e.messageID
			ev.Usage, ev.UsageNote = anthropicStreamUsage(e.messageUsage, false)
		}
	case "content_block_delta":
		switch string(e.deltaType) {
		case "text_delta":
			ev.Content = e.text
		case "thinking_delta":
			ev.Reasoning = e.thinking
		}
	case "message_delta":
		if len(e.stopped) > 0 {
			ev.Finish = string(e.stopped)
		}
		ev.Usage, ev.UsageNote = anthropicStreamUsage(e.usage, true)
	case "message_stop":
		ev.End = true
	case "error":
		ev.Err, ev.ErrStatus = data, anthropicErrorStatus(data)
	}
	return nil
}

// anthropicSlow reads an event with encoding/json.
func anthropicSlow(data []byte, r *anthropicRead) error {
	var e anthropicEvent
	if err := json.Unmarshal(data, &e); err != nil {
		return err
	}
	str := func(s string) []byte {
		if s == "" {
			return nil
		}
		return []byte(s)
	}
	r.typ = str(e.Type)
	if e.Message != nil {
		r.message, r.messageID, r.messageUsage = true, str(e.Message.ID), e.Message.Usage
	}
	r.deltaType, r.text, r.thinking, r.stopped = str(e.Delta.Type), str(e.Delta.Text), str(e.Delta.Thinking), str(e.Delta.StopReason)
	r.usage = e.Usage
	return nil
}

// fast reads an event with the scanner of chunkscan.go; false means it did
// not, and anthropicSlow must.
func (d *anthropicDecoder) fast(data []byte, r *anthropicRead) bool {
	s := &d.scan
	s.reset(data)
	var seenType, seenMessage, seenDelta, seenUsage bool
	ok := s.object(func(k []byte) bool {
		fold := false
		switch {
		case jsKeyIs(k, "type", &fold):
			return s.strOrNull(&r.typ, &seenType)
		case jsKeyIs(k, "message", &fold):
			if seenMessage {
				return false
			}
			seenMessage = true
			if s.null() {
				return true
			}
			r.message = true
			var seenID, seenUsage bool
			return s.object(func(k []byte) bool {
				fold := false
				switch {
				case jsKeyIs(k, "id", &fold):
					return s.strOrNull(&r.messageID, &seenID)
				case jsKeyIs(k, "usage", &fold):
					if seenUsage {
						return false
					}
					seenUsage = true
					v, ok := s.raw()
					r.messageUsage = v
					return ok
				}
				return !fold && s.skip(2)
			})
		case jsKeyIs(k, "delta", &fold):
			if seenDelta {
				return false
			}
			seenDelta = true
			if s.null() {
				return true
			}
			var seenT, seenText, seenThinking, seenStop bool
			return s.object(func(k []byte) bool {
				fold := false
				switch {
				case jsKeyIs(k, "type", &fold):
					return s.strOrNull(&r.deltaType, &seenT)
				case jsKeyIs(k, "text", &fold):
					return s.strOrNull(&r.text, &seenText)
				case jsKeyIs(k, "thinking", &fold):
					return s.strOrNull(&r.thinking, &seenThinking)
				case jsKeyIs(k, "stop_reason", &fold):
					return s.strOrNull(&r.stopped, &seenStop)
				}
				return !fold && s.skip(2)
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

// anthropicStreamUsage reads a usage member leniently. The prompt count is
// input_tokens + cache_read_input_tokens + cache_creation_input_tokens
// (Anthropic's input_tokens leaves out the cached part); the cached count is
// cache_read_input_tokens.
func anthropicStreamUsage(raw json.RawMessage, final bool) (*streamUsage, string) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, ""
	}
	var u anthropicUsage
	if !fastUsage(raw, []usageField{
		{name: "input_tokens", dst: &u.InputTokens},
		{name: "output_tokens", dst: &u.OutputTokens},
		{name: "cache_read_input_tokens", dst: &u.CacheReadInputTokens},
		{name: "cache_creation_input_tokens", dst: &u.CacheCreationInputTokens},
	}, "", nil, nil) {
		u = anthropicUsage{}
		if note := decodeUsage(raw, &u); note != "" {
			return nil, note
		}
	}
	prompt, name := anthropicPromptUsage(u.InputTokens, u.CacheReadInputTokens, u.CacheCreationInputTokens)
	cached := u.CacheReadInputTokens
	if n, ok := prompt.usable(); final && (ok && n == 0 || !prompt.present) {
		// message_delta repeats the input counts only sometimes: zero
		// there leaves message_start's counts standing.
		prompt, cached = usageCount{}, usageCount{}
	}
	return &streamUsage{
		Prompt: prompt, Output: u.OutputTokens, Cached: cached,
		PromptName: name, OutputName: "output_tokens", CachedName: "cache_read_input_tokens",
		Final: final,
	}, ""
}

// anthropicErrorStatus maps the error type of an Anthropic error event to the
// HTTP status the same error has outside a stream.
func anthropicErrorStatus(data []byte) int {
	var e struct {
		Error struct {
			Type string `json:"type"`
		} `json:"error"`
	}
	_ = json.Unmarshal(data, &e)
	switch e.Error.Type {
	case "invalid_request_error":
		return http.StatusBadRequest
	case "authentication_error":
		return http.StatusUnauthorized
	case "permission_error":
		return http.StatusForbidden
	case "not_found_error":
		return http.StatusNotFound
	case "request_too_large":
		return http.StatusRequestEntityTooLarge
	case "rate_limit_error":
		return http.StatusTooManyRequests
	case "timeout_error":
		return http.StatusGatewayTimeout
	case "overloaded_error":
		return 529
	default:
		return http.StatusInternalServerError
	}
}
