package endpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/internal/testkit"
	"github.com/needlestorm/needlestorm/run"
)

// The reference: how request bodies were built before body.go, with
// go-openai's (or encoding/json's) marshal and the fields spliced in.

var errNotJSONObject = errors.New("the request body is not a JSON object")

// refSplice returns body, a JSON object, with the members in extra (each
// starting with a comma) added before its closing brace.
func refSplice(body, extra []byte) ([]byte, error) {
	if len(extra) == 0 {
		return body, nil
	}
	end := len(body)
	for end > 0 && isJSONSpace(body[end-1]) {
		end--
	}
	if end < 2 || body[end-1] != '}' {
		return nil, errNotJSONObject
	}
	start := 0
	for start < end && isJSONSpace(body[start]) {
		start++
	}
	inner := bytes.TrimFunc(body[start+1:end-1], func(r rune) bool { return r < 0x80 && isJSONSpace(byte(r)) })
	out := append([]byte(nil), body[:end-1]...)
	if len(inner) == 0 {
		extra = extra[1:]
	}
	out = append(out, extra...)
	return append(out, '}'), nil
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// refFields are the fields as the old path rendered them, for a target
// whose max_tokens (and extra_body's cap members) are the case's cap.
func refFields(t *testing.T, kind string, cfg TargetConfig, maxTokens int) []byte {
	t.Helper()
	own, reserved := openaiFields, openaiReserved
	if kind == KindAnthropic {
		own, reserved = anthropicFields, anthropicReserved
	}
	if cfg.MaxTokens == 0 {
		cfg.MaxTokens = DefaultMaxTokens
	}
	ownFields := own(cfg)
	if maxTokens > 0 {
		cfg.MaxTokens = maxTokens
		ownFields = own(cfg)
		extra := map[string]any{}
		for k, v := range cfg.ExtraBody {
			if (k == "max_tokens" || k == "max_completion_tokens") && v != nil {
				v = maxTokens
			}
			extra[k] = v
		}
		cfg.ExtraBody = extra
	}
	b, err := refTargetBodyFields(ownFields, cfg.ExtraBody, reserved)
	if err != nil {
		t.Fatal(err)
	}
	if maxTokens > 0 && !bytes.Contains(b, []byte(`"max_tokens":`)) && !bytes.Contains(b, []byte(`"max_completion_tokens":`)) {
		b = append(b, fmt.Sprintf(",%q:%d", ownFields[0][0], maxTokens)...)
	}
	return b
}

// refTargetBodyFields is targetBodyFields as it was, rendering bytes only.
func refTargetBodyFields(own [][2]string, extra map[string]any, reserved []string) ([]byte, error) {
	for _, r := range reserved {
		if _, ok := extra[r]; ok {
			return nil, fmt.Errorf("extra_body may not set %q", r)
		}
	}
	var b []byte
	for _, kv := range own {
		if _, ok := extra[kv[0]]; ok {
			continue
		}
		b = append(b, ',')
		b = append(b, fmt.Sprintf("%q", kv[0])...)
		b = append(b, ':')
		b = append(b, kv[1]...)
	}
	ownKey := make(map[string]bool, len(own))
	for _, kv := range own {
		ownKey[kv[0]] = true
	}
	keys := make([]string, 0, len(extra))
	for k, v := range extra {
		if v == nil && ownKey[k] {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, err := json.Marshal(extra[k])
		if err != nil {
			return nil, err
		}
		kj, _ := json.Marshal(k)
		b = append(b, ',')
		b = append(b, kj...)
		b = append(b, ':')
		b = append(b, v...)
	}
	return b, nil
}

func refOpenAIBody(t *testing.T, model string, c *corpus.Case, fields []byte) []byte {
	t.Helper()
	msgs := make([]openai.ChatCompletionMessage, len(c.Messages))
	for i, m := range c.Messages {
		msgs[i] = openai.ChatCompletionMessage{Role: m.Role, Content: m.Content}
	}
	b, err := json.Marshal(openai.ChatCompletionRequest{Model: model, Messages: msgs, Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err = refSplice(b, fields)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func refAnthropicBody(t *testing.T, model string, c *corpus.Case, fields []byte) []byte {
	t.Helper()
	areq := anthropicRequest{Model: model, Stream: true, Messages: make([]corpus.Message, 0, len(c.Messages))}
	var system []string
	for _, m := range c.Messages {
		if m.Role == "system" {
			system = append(system, m.Content)
			continue
		}
		areq.Messages = append(areq.Messages, m)
	}
	areq.System = strings.Join(system, "\n\n")
	b, err := json.Marshal(areq)
	if err != nil {
		t.Fatal(err)
	}
	b, err = refSplice(b, fields)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bodyText is a random string of the characters that need care in JSON.
func bodyText(r *rand.Rand) string {
	alphabet := []string{"a", "Z", " ", "0", "\"", "\\", "/", "<", ">", "&", "\n", "\r", "\t", "\b", "\f", "\x00", "\x1f", "\x7f",
		"é", "日本", "\u2028", "\u2029", "\U0001F600", "\xff", "\xc3", "\xe2\x80", "{", "}", "[", "]", ",", ":", "'", "\ufeff"}
	var b strings.Builder
	for range r.IntN(40) {
		b.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

// bodyCase is a random case: messages of random roles and text (empty
// content included), and sometimes its own max_tokens.
func bodyCase(r *rand.Rand) *corpus.Case {
	roles := []string{"system", "user", "assistant", "user", "sys<tem>"}
	c := &corpus.Case{}
	for range r.IntN(5) {
		content := bodyText(r)
		if r.IntN(5) == 0 {
			content = ""
		}
		c.Messages = append(c.Messages, corpus.Message{Role: roles[r.IntN(len(roles))], Content: content})
	}
	if r.IntN(3) == 0 {
		c.MaxTokens = 1 + r.IntN(100000)
	}
	return c
}

// bodyRenonce is a random change of one of c's messages (nil when c has
// none): its start, cut before a byte that starts a character, replaced by
// random text.
func bodyRenonce(r *rand.Rand, c *corpus.Case) *corpus.Renonce {
	if len(c.Messages) == 0 {
		return nil
	}
	i := r.IntN(len(c.Messages))
	content := c.Messages[i].Content
	end := r.IntN(len(content) + 1)
	for end < len(content) && !utf8.RuneStart(content[end]) {
		end++
	}
	pre := "Archive reference " + bodyText(r) + ".\n\n"
	if r.IntN(10) == 0 {
		pre = "" // nothing left of the content when it ends at the cut
	}
	return &corpus.Renonce{Message: i, End: end, Preamble: pre}
}

// bodyConfigs are target configurations whose fields differ: defaults, a
// reasoning model, extra_body setting the cap, removing it, adding others.
func bodyConfigs() []TargetConfig {
	return []TargetConfig{
		{Model: "m"},
		{Model: "o3-mini", MaxTokens: 99},
		{Model: "m<&>\"\u2028", Temperature: 0.7, MaxTokens: 12},
		{Model: "m", ExtraBody: map[string]any{"max_tokens": 77, "top_p": 0.5}},
		{Model: "m", ExtraBody: map[string]any{"max_tokens": nil}},
		{Model: "m", ExtraBody: map[string]any{"max_completion_tokens": 5, "seed": 1}},
		{Model: "m", ExtraBody: map[string]any{"max_tokens": "x", "thinking": map[string]any{"type": "enabled"}}},
		{Model: "m", ExtraBody: map[string]any{"max_tokens": 1.5}},
	}
}

// TestBodiesMatchTheMarshalledRequest: for many random cases and target
// configurations, the template-built body is byte for byte the old path's
// (go-openai's or encoding/json's marshal with the fields spliced in),
// decodes to the same request, and carries the case's cap when it has one.
func TestBodiesMatchTheMarshalledRequest(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, kind := range []string{KindOpenAI, KindAnthropic} {
		for _, cfg := range bodyConfigs() {
			cfg.Kind = kind
			cfg.BaseURL = "http://127.0.0.1:1"
			tg, err := NewTarget(cfg, TargetEnv(testEnv))
			if err != nil {
				t.Fatal(err)
			}
			defer tg.Close()
			for range 500 {
				c := bodyCase(r)
				var got, want []byte
				re := bodyRenonce(r, c)
				switch tt := tg.(type) {
				case *openaiTarget:
					got = tt.body.build(c, nil)
					want = refOpenAIBody(t, tt.cfg.Model, c, refFields(t, kind, cfg, c.MaxTokens))
					if re != nil {
						applied := re.Apply(c)
						if a, b := tt.body.build(c, re), tt.body.build(&applied, nil); !bytes.Equal(a, b) {
							t.Fatalf("%s case %+v renonced %+v:\n got %s\nwant %s", kind, c, re, a, b)
						}
					}
				case *anthropicTarget:
					got = tt.body.build(c, nil)
					want = refAnthropicBody(t, tt.cfg.Model, c, refFields(t, kind, cfg, c.MaxTokens))
					if re != nil {
						applied := re.Apply(c)
						if a, b := tt.body.build(c, re), tt.body.build(&applied, nil); !bytes.Equal(a, b) {
							t.Fatalf("%s case %+v renonced %+v:\n got %s\nwant %s", kind, c, re, a, b)
						}
					}
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s %+v case %+v:\n got %s\nwant %s", kind, cfg.ExtraBody, c, got, want)
				}
				var m map[string]any
				if err := json.Unmarshal(got, &m); err != nil {
					t.Fatalf("%s: the body is not JSON: %v\n%s", kind, err, got)
				}
				if c.MaxTokens > 0 {
					caps := 0
					for _, k := range bodyCapKeys {
						if v, ok := m[k]; ok {
							if f, ok := v.(float64); ok && int(f) != c.MaxTokens {
								t.Fatalf("%s %+v: %s %v, want the case's %d", kind, cfg.ExtraBody, k, v, c.MaxTokens)
							} else if ok {
								caps++
							}
						}
					}
					if caps == 0 {
						t.Fatalf("%s %+v: no cap in %s", kind, cfg.ExtraBody, got)
					}
				}
			}
		}
	}
}

// TestBodyFieldsWithoutACaseCap: with no case cap the fields are the
// target's, unchanged (max_tokens 256 by default, extra_body's number
// where it sets one).
func TestBodyFieldsWithoutACaseCap(t *testing.T) {
	for _, tc := range []struct {
		cfg  TargetConfig
		want string
	}{
		{TargetConfig{Model: "m"}, `,"max_tokens":256,"temperature":0,"stream_options":{"include_usage":true}`},
		{TargetConfig{Model: "m", ExtraBody: map[string]any{"max_tokens": 7}}, `,"temperature":0,"stream_options":{"include_usage":true},"max_tokens":7`},
		{TargetConfig{Model: "m", ExtraBody: map[string]any{"max_tokens": nil}}, `,"temperature":0,"stream_options":{"include_usage":true}`},
	} {
		tc.cfg.Kind, tc.cfg.BaseURL = KindOpenAI, "http://127.0.0.1:1"
		tg, err := NewTarget(tc.cfg, TargetEnv(testEnv))
		if err != nil {
			t.Fatal(err)
		}
		defer tg.Close()
		f := tg.(*openaiTarget).body.fields
		if got := string(f.appendTo(nil, 0)); got != tc.want {
			t.Errorf("%+v: fields %s, want %s", tc.cfg.ExtraBody, got, tc.want)
		}
		if got, want := string(f.appendTo(nil, 33)), strings.ReplaceAll(strings.ReplaceAll(tc.want, "256", "33"), ":7", ":33"); tc.cfg.ExtraBody == nil && got != want {
			t.Errorf("%+v: with a case cap %s, want %s", tc.cfg.ExtraBody, got, want)
		}
	}
}

// TestCaseMaxTokensIsSent: a loopback server sees the case's max_tokens in
// the request when the case has one, and the target's otherwise, for both
// dialects.
func TestCaseMaxTokensIsSent(t *testing.T) {
	for _, kind := range []string{KindOpenAI, KindAnthropic} {
		for _, caseCap := range []int{0, 1234} {
			seen := make(chan map[string]any, 1)
			srv := testkit.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var m map[string]any
				b, _ := io.ReadAll(r.Body)
				_ = json.Unmarshal(b, &m)
				select {
				case seen <- m:
				default:
				}
				http.Error(w, `{"error":{"message":"enough"}}`, http.StatusBadRequest)
			}))
			cfg := TargetConfig{Kind: kind, BaseURL: srv.URL, Model: "m", MaxTokens: 64}
			tg, err := NewTarget(cfg, TargetEnv(testEnv))
			if err != nil {
				t.Fatal(err)
			}
			c := testCase()
			c.MaxTokens = caseCap
			rec := &run.Record{}
			tg.Send(t.Context(), c, rec)
			tg.Close()
			m := <-seen
			want := 64.0
			if caseCap > 0 {
				want = float64(caseCap)
			}
			if m["max_tokens"] != want {
				t.Errorf("%s, case max_tokens %d: the server saw max_tokens %v, want %v", kind, caseCap, m["max_tokens"], want)
			}
		}
	}
}
