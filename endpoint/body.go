package endpoint

import (
	"strconv"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/internal/jsonstr"
)

// Request bodies, written without encoding/json on the per-request path.
//
// A target renders once, when it is built, everything in its body that does
// not change between requests (model, stream flag, max_tokens, temperature,
// stream_options, extra_body); a request then writes only its messages
// between those bytes, with an encoder that escapes exactly as
// encoding/json does. The result is byte for byte what json.Marshal of the
// request (go-openai's ChatCompletionRequest, or anthropicRequest) followed
// by httpclientSplice of the fields gives; body_test.go checks that on many
// cases.
//
// A case of the user's dataset may carry its own max_tokens
// (corpus.Case.MaxTokens): it replaces the value of every cap member the
// target sends (max_tokens, max_completion_tokens, whether the target's own
// or set by extra_body), except a null one; when the target sends none
// (extra_body removed it with null), the case's cap is added under the
// target's own cap name.

// bodyCapKeys are the members that cap the answer's tokens.
var bodyCapKeys = []string{"max_tokens", "max_completion_tokens"}

// bodyFields are the members a target adds to every request body, each
// starting with a comma, with where the numbers of its cap members are.
type bodyFields struct {
	b []byte
	// caps are the [start, end) offsets in b of the cap members' values.
	caps [][2]int
	// capKey is the member a case's cap is added as when b has no cap
	// member at all ("": b has one, or the target knows none).
	capKey string
}

// appendTo appends f's members with every cap set to maxTokens, or as they
// are when maxTokens is 0.
func (f *bodyFields) appendTo(dst []byte, maxTokens int) []byte {
	if maxTokens <= 0 {
		return append(dst, f.b...)
	}
	if len(f.caps) == 0 {
		dst = append(dst, f.b...)
		if f.capKey == "" {
			return dst
		}
		dst = append(dst, ',', '"')
		dst = append(dst, f.capKey...)
		dst = append(dst, '"', ':')
		return strconv.AppendInt(dst, int64(maxTokens), 10)
	}
	at := 0
	for _, c := range f.caps {
		dst = append(dst, f.b[at:c[0]]...)
		dst = strconv.AppendInt(dst, int64(maxTokens), 10)
		at = c[1]
	}
	return append(dst, f.b[at:]...)
}

// size is an upper bound of what appendTo appends.
func (f *bodyFields) size() int { return len(f.b) + 48 + len(f.caps)*20 }

// openaiBody writes the body of a chat completions request.
type openaiBody struct {
	head   []byte // {"model":...,"messages":[
	fields bodyFields
}

// newOpenAIBody renders the fixed parts of an openai target's body.
func newOpenAIBody(model string, fields bodyFields) *openaiBody {
	head := append([]byte(`{"model":`), jsonstr.Append(nil, model)...)
	head = append(head, `,"messages":[`...)
	return &openaiBody{head: head, fields: fields}
}

// build returns c's body (with r applied, when not nil): go-openai's
// encoding of ChatCompletionRequest {Model, Messages, Stream: true} (a
// message's empty content is left out, as its omitempty does) with the
// target's fields spliced in.
func (o *openaiBody) build(c *corpus.Case, r *corpus.Renonce) []byte {
	n := len(o.head) + len(`],"stream":true}`) + o.fields.size() + renonceSize(r)
	for _, m := range c.Messages {
		n += len(m.Role) + len(m.Content) + len(m.Content)/16 + 32
	}
	b := make([]byte, 0, n)
	b = append(b, o.head...)
	for i, m := range c.Messages {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"role":`...)
		b = jsonstr.Append(b, m.Role)
		if r != nil && i == r.Message {
			if len(r.Preamble)+len(m.Content)-r.End > 0 {
				b = append(b, `,"content":"`...)
				b = appendRenonced(b, m.Content, r)
				b = append(b, '"')
			}
		} else if m.Content != "" {
			b = append(b, `,"content":`...)
			b = jsonstr.Append(b, m.Content)
		}
		b = append(b, '}')
	}
	b = append(b, `],"stream":true`...)
	b = o.fields.appendTo(b, c.MaxTokens)
	return append(b, '}')
}

// renonceSize is how much longer r may make a body: its preamble, escaped.
func renonceSize(r *corpus.Renonce) int {
	if r == nil {
		return 0
	}
	return 2 * len(r.Preamble)
}

// appendRenonced appends the inside of the JSON string of content with r
// applied: the new preamble, then the content after the old one. Both
// escape as the whole would (JSON escapes character by character, and the
// old preamble ends with an ASCII line break, so the cut is between
// characters).
func appendRenonced(b []byte, content string, r *corpus.Renonce) []byte {
	b = jsonstr.AppendContent(b, r.Preamble)
	return jsonstr.AppendContent(b, content[r.End:])
}

// anthropicBody writes the body of a Messages API request.
type anthropicBody struct {
	model  []byte // the model, as a JSON string
	fields bodyFields
}

func newAnthropicBody(model string, fields bodyFields) *anthropicBody {
	return &anthropicBody{model: jsonstr.Append(nil, model), fields: fields}
}

// build returns c's body (with r applied, when not nil): the encoding of
// anthropicRequest (the system messages joined by a blank line into
// "system", left out when empty; the others in "messages") with the
// target's fields spliced in.
func (a *anthropicBody) build(c *corpus.Case, r *corpus.Renonce) []byte {
	n := len(a.model) + 64 + a.fields.size() + renonceSize(r)
	for _, m := range c.Messages {
		n += len(m.Role) + len(m.Content) + len(m.Content)/16 + 32
	}
	b := make([]byte, 0, n)
	b = append(b, `{"model":`...)
	b = append(b, a.model...)
	system, at := false, len(b)
	for i, m := range c.Messages {
		if m.Role != "system" {
			continue
		}
		if !system {
			b = append(b, `,"system":"`...)
			at, system = len(b), true
		} else {
			b = append(b, `\n\n`...)
		}
		if r != nil && i == r.Message {
			b = appendRenonced(b, m.Content, r)
		} else {
			b = jsonstr.AppendContent(b, m.Content)
		}
	}
	if system {
		if len(b) == at {
			b = b[:at-len(`,"system":"`)] // one empty system message: omitempty
		} else {
			b = append(b, '"')
		}
	}
	b = append(b, `,"messages":[`...)
	first := true
	for i, m := range c.Messages {
		if m.Role == "system" {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"role":`...)
		b = jsonstr.Append(b, m.Role)
		b = append(b, `,"content":`...)
		if r != nil && i == r.Message {
			b = append(b, '"')
			b = appendRenonced(b, m.Content, r)
			b = append(b, '"')
		} else {
			b = jsonstr.Append(b, m.Content)
		}
		b = append(b, '}')
	}
	b = append(b, `],"stream":true`...)
	b = a.fields.appendTo(b, c.MaxTokens)
	return append(b, '}')
}
