package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// chat is a chat request of either API, normalised.
type chat struct {
	model string
	// contents are the message contents in order (system first), as the
	// client counts them.
	contents []string
	stream   bool
	// includeUsage asks for the OpenAI usage chunk.
	includeUsage bool
	// maxTokens caps the answer; 0 means no cap.
	maxTokens int
	// greedy is true for temperature 0: the same prompt gets the same answer.
	greedy bool
}

// part is one content block (OpenAI content part, Anthropic text block).
type part struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// contentText reads a content that is a string, null, or an array of parts;
// it joins the text parts.
func contentText(raw json.RawMessage, field string) (string, *apiError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", badRequest(field, "%s: %v", field, err)
		}
		return s, nil
	}
	var parts []part
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", badRequest(field, "%s must be a string or an array of content parts", field)
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

type openAIRequest struct {
	Model    *string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           *int     `json:"max_tokens"`
	MaxCompletionTokens *int     `json:"max_completion_tokens"`
	Temperature         *float64 `json:"temperature"`
}

var openAIRoles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true, "tool": true}

// decodeOpenAI parses a chat completions request body.
func decodeOpenAI(body []byte) (chat, *apiError) {
	var r openAIRequest
	if err := json.Unmarshal(body, &r); err != nil {
		return chat{}, badRequest("", "We could not parse the JSON body of your request: %v", err)
	}
	if r.Model == nil || *r.Model == "" {
		return chat{}, badRequest("model", "you must provide a model parameter")
	}
	if len(r.Messages) == 0 {
		return chat{}, badRequest("messages", "'messages' must contain at least one message")
	}
	c := chat{model: *r.Model, stream: r.Stream, contents: make([]string, len(r.Messages))}
	for i, m := range r.Messages {
		if !openAIRoles[m.Role] {
			return chat{}, badRequest(fmt.Sprintf("messages[%d].role", i), "invalid role %q in messages[%d]: use system, developer, user, assistant or tool", m.Role, i)
		}
		t, e := contentText(m.Content, fmt.Sprintf("messages[%d].content", i))
		if e != nil {
			return chat{}, e
		}
		c.contents[i] = t
	}
	if r.StreamOptions != nil {
		if !r.Stream {
			return chat{}, badRequest("stream_options", "stream_options is only allowed when stream is true")
		}
		c.includeUsage = r.StreamOptions.IncludeUsage
	}
	for _, mt := range []struct {
		name string
		v    *int
	}{{"max_tokens", r.MaxTokens}, {"max_completion_tokens", r.MaxCompletionTokens}} {
		if mt.v == nil {
			continue
		}
		if *mt.v < 1 {
			return chat{}, badRequest(mt.name, "%s must be at least 1, got %d", mt.name, *mt.v)
		}
		c.maxTokens = *mt.v
	}
	c.greedy = r.Temperature != nil && *r.Temperature == 0
	return c, nil
}

type anthropicRequest struct {
	Model     *string         `json:"model"`
	MaxTokens *int            `json:"max_tokens"`
	System    json.RawMessage `json:"system"`
	Messages  []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Stream      bool     `json:"stream"`
	Temperature *float64 `json:"temperature"`
}

// decodeAnthropic parses a Messages API request body.
func decodeAnthropic(body []byte) (chat, *apiError) {
	var r anthropicRequest
	if err := json.Unmarshal(body, &r); err != nil {
		return chat{}, badRequest("", "invalid request body: %v", err)
	}
	if r.Model == nil || *r.Model == "" {
		return chat{}, badRequest("model", "model: Field required")
	}
	if r.MaxTokens == nil {
		return chat{}, badRequest("max_tokens", "max_tokens: Field required")
	}
	if *r.MaxTokens < 1 {
		return chat{}, badRequest("max_tokens", "max_tokens: must be at least 1, got %d", *r.MaxTokens)
	}
	if len(r.Messages) == 0 {
		return chat{}, badRequest("messages", "messages: at least one message is required")
	}
	c := chat{model: *r.Model, stream: r.Stream, maxTokens: *r.MaxTokens}
	sys, e := contentText(r.System, "system")
	if e != nil {
		return chat{}, e
	}
	if sys != "" {
		c.contents = append(c.contents, sys)
	}
	for i, m := range r.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			return chat{}, badRequest("", "messages.%d.role: Input should be 'user' or 'assistant'", i)
		}
		t, e := contentText(m.Content, fmt.Sprintf("messages.%d.content", i))
		if e != nil {
			return chat{}, e
		}
		c.contents = append(c.contents, t)
	}
	c.greedy = r.Temperature != nil && *r.Temperature == 0
	return c, nil
}

// maxBody is the largest request body accepted (about a million tokens).
const maxBody = 32 << 20

// readBody reads a request body of at most maxBody bytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	var buf bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= maxBody {
		buf.Grow(int(r.ContentLength))
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxBody)); err != nil {
		return nil, &apiError{status: http.StatusBadRequest, kind: kindInvalid, message: fmt.Sprintf("could not read the request body (at most %d bytes): %v", maxBody, err)}
	}
	return buf.Bytes(), nil
}
