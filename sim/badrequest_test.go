package sim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestBadRequests(t *testing.T) {
	_, ts := startTest(t, testConfig(t, nil))
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		hdr    []string
		status int
		shape  api
		msg    string
	}{
		{"openai malformed json", "POST", "/v1/chat/completions", `{"model":`, nil, 400, apiOpenAI, "parse the JSON"},
		{"openai missing model", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`, nil, 400, apiOpenAI, "model"},
		{"openai empty messages", "POST", "/v1/chat/completions", `{"model":"m","messages":[]}`, nil, 400, apiOpenAI, "messages"},
		{"openai bad role", "POST", "/v1/chat/completions", `{"model":"m","messages":[{"role":"wizard","content":"hi"}]}`, nil, 400, apiOpenAI, "role"},
		{"openai bad content", "POST", "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":42}]}`, nil, 400, apiOpenAI, "content"},
		{"openai zero max_tokens", "POST", "/v1/chat/completions", `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}`, nil, 400, apiOpenAI, "max_tokens"},
		{"openai stream_options without stream", "POST", "/v1/chat/completions", `{"model":"m","stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, nil, 400, apiOpenAI, "stream"},
		{"openai wrong method", "GET", "/v1/chat/completions", ``, nil, 405, apiOpenAI, "POST"},
		{"openai unknown route", "POST", "/v1/completions", `{}`, nil, 404, apiOpenAI, "Invalid URL"},
		{"anthropic malformed json", "POST", "/v1/messages", `[`, nil, 400, apiAnthropic, "invalid request body"},
		{"anthropic missing model", "POST", "/v1/messages", `{"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, nil, 400, apiAnthropic, "model"},
		{"anthropic missing max_tokens", "POST", "/v1/messages", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, nil, 400, apiAnthropic, "max_tokens"},
		{"anthropic empty messages", "POST", "/v1/messages", `{"model":"m","max_tokens":5,"messages":[]}`, nil, 400, apiAnthropic, "messages"},
		{"anthropic system role in messages", "POST", "/v1/messages", `{"model":"m","max_tokens":5,"messages":[{"role":"system","content":"hi"}]}`, nil, 400, apiAnthropic, "role"},
		{"anthropic unknown route", "POST", "/v1/messages/batches", `{}`, nil, 404, apiAnthropic, "Invalid URL"},
		{"anthropic-looking unknown route", "GET", "/v2/whatever", ``, []string{"anthropic-version", "2023-06-01"}, 404, apiAnthropic, "Invalid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, ts.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(tt.hdr); i += 2 {
				req.Header.Set(tt.hdr[i], tt.hdr[i+1])
			}
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			dec := json.NewDecoder(resp.Body)
			dec.DisallowUnknownFields()
			var msg string
			if tt.shape == apiOpenAI {
				var e openAIErrorBody
				if err := dec.Decode(&e); err != nil || e.Error.Type == "" {
					t.Fatalf("not an OpenAI error: %v %+v", err, e)
				}
				msg = e.Error.Message
			} else {
				var e anthropicErrorBody
				if err := dec.Decode(&e); err != nil || e.Type != "error" || e.Error.Type == "" {
					t.Fatalf("not an Anthropic error: %v %+v", err, e)
				}
				msg = e.Error.Message
			}
			if !strings.Contains(msg, tt.msg) {
				t.Errorf("message %q lacks %q", msg, tt.msg)
			}
		})
	}
}

func FuzzDecodeOpenAI(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":5}`,
		`{"model":"m","messages":[{"role":"system","content":[{"type":"text","text":"a"},{"type":"image_url"}]},{"role":"assistant","content":null}]}`,
		`{"model":"","messages":[]}`, `[]`, `null`, `{"model":"m","messages":[{"role":"user","content":{}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, e := decodeOpenAI(body)
		if e == nil && (c.model == "" || len(c.contents) == 0 || c.maxTokens < 0) {
			t.Fatalf("accepted an invalid request: %+v", c)
		}
		if e != nil && (e.status != 400 || e.message == "") {
			t.Fatalf("bad error %+v", e)
		}
	})
}

func FuzzDecodeAnthropic(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","max_tokens":5,"system":"s","messages":[{"role":"user","content":"hi"}],"stream":true}`,
		`{"model":"m","max_tokens":5,"system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`,
		`{"model":"m","max_tokens":-1,"messages":[]}`, `{`, `"x"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, e := decodeAnthropic(body)
		if e == nil && (c.model == "" || len(c.contents) == 0 || c.maxTokens < 1) {
			t.Fatalf("accepted an invalid request: %+v", c)
		}
		if e != nil && (e.status != 400 || e.message == "") {
			t.Fatalf("bad error %+v", e)
		}
	})
}

// FuzzServeHTTP sends arbitrary bodies to both endpoints: the server must
// answer with a status and never panic.
func FuzzServeHTTP(f *testing.F) {
	f.Add("/v1/chat/completions", []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}`))
	f.Add("/v1/messages", []byte(`{"model":"m","max_tokens":3,"messages":[{"role":"user","content":"hi"}],"stream":true}`))
	f.Add("/v1/messages", []byte(`{"model":"m","max_tokens":3,"messages":[{"role":"user","content":"\u0000\xff"}]}`))
	s, err := New(testConfig(f, nil))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, path string, body []byte) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequest("POST", "http://sim"+path, strings.NewReader(string(body)))
		if err != nil {
			return
		}
		w := newRecorder()
		s.ServeHTTP(w, req)
		if w.status == 0 {
			t.Fatalf("no status for %s %q", path, body)
		}
	})
}
