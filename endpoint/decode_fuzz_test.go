package endpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/internal/termsafe"
	"github.com/needlestorm/needlestorm/run"
)

// fzKey is the API key the decoder fuzz targets send; bodies quote it.
const fzKey = "sk-fuzz-0123456789abcdefQRST"

// fzBody is a RoundTripper answering every request 200 with the same
// event stream body: the decoders read it as if a server had sent it.
type fzBody []byte

func (b fzBody) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"text/event-stream"}},
		Body:          io.NopCloser(bytes.NewReader(b)),
		ContentLength: -1, Request: req,
	}, nil
}

// fzClasses are the error classes a record may have ("" for none).
var fzClasses = []string{"", run.ErrRateLimited, run.ErrServerError, run.ErrTimeout, run.ErrContextOverflow,
	run.ErrStreamBroken, run.ErrBadResponse, run.ErrConnection, run.ErrCanceled, "runaway"}

// fzDecode sends one request to a target of kind whose server answers
// body, and checks the record: a known error class, no piece of the key,
// a one-line terminal-safe error, a record that is written and read back
// whole, and (outside NEEDLESTORM_HOSTILE_PENDING=1) no negative count.
func fzDecode(t *testing.T, kind string, body []byte) {
	cfg := TargetConfig{Name: "fuzz", Kind: kind, BaseURL: "http://127.0.0.1:9/v1", Model: "m", Timeout: 5 * time.Second, APIKeyEnv: "FZ_KEY"}
	if kind == KindAnthropic {
		cfg.BaseURL = "http://127.0.0.1:9"
	}
	env := func(name string) (string, bool) { return fzKey, name == "FZ_KEY" }
	tg, err := NewTarget(cfg, TargetEnv(env), TargetRoundTripper(fzBody(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer tg.(io.Closer).Close()
	rec := &run.Record{Schema: run.RecordSchema}
	start := time.Now()
	tg.Send(context.Background(), testCase(), rec)
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("a %d-byte stream took %s to read", len(body), took)
	}
	if !slices.Contains(fzClasses, rec.ErrorClass) {
		t.Errorf("error class %q", rec.ErrorClass)
	}
	var line bytes.Buffer
	w := run.NewRecordWriter(&line)
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if w := fzKeyWindow(line.String(), fzKey[len("sk-fuzz-"):], redactWindow); w != "" || strings.Contains(line.String(), fzKey) {
		t.Errorf("the record keeps %q of the key: %s", w, line.String())
	}
	if strings.ContainsAny(rec.Error, "\n\r") || termsafe.Line(rec.Error) != rec.Error {
		t.Errorf("error %q is not one terminal-safe line", rec.Error)
	}
	back, err := run.ReadRecords(bytes.NewReader(line.Bytes()))
	if err != nil || len(back) != 1 {
		t.Fatalf("the record does not read back: %v", err)
	}
	if os.Getenv("NEEDLESTORM_HOSTILE_PENDING") != "1" && (rec.OutputTokens < 0 || rec.PromptTokensServer < 0 || rec.CachedTokens < 0) {
		b, _ := json.Marshal(rec)
		t.Errorf("negative counts kept: %s", b)
	}
}

// FuzzOpenAIStreamDecoder runs the OpenAI dialect's stream decoder over
// any body.
func FuzzOpenAIStreamDecoder(f *testing.F) {
	chunk := func(delta string) string {
		return `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":` + delta + `,"finish_reason":null}]}` + "\n\n"
	}
	finish := `data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n"
	for _, s := range []string{
		chunk(`{"role":"assistant","content":""}`) + chunk(`{"content":"It is 4217."}`) + finish + `data: {"choices":[],"usage":{"prompt_tokens":50,"completion_tokens":6}}` + "\n\ndata: [DONE]\n\n",
		chunk(`{"content":"It is 4217."}`) + finish + `data: {"choices":[],"usage":{"prompt_tokens":"263","completion_tokens":1e20}}` + "\n\ndata: [DONE]\n\n",
		chunk(`{"content":"x"}`) + finish + `data: {"choices":[],"usage":{"prompt_tokens":-263,"completion_tokens":9.5}}` + "\n\ndata: [DONE]\n\n",
		chunk(`{"content":"x"}`) + finish + `data: {"choices":[],"usage":{"prompt_tokens":-263,"completion_tokens":-5}}` + "\n\ndata: [DONE]\n\n",
		chunk(`{"content":"You sent Bearer `+fzKey+`"}`) + finish + "data: [DONE]\n\n",
		chunk(`{"reasoning_content":"think `+fzKey[5:20]+`"}`) + chunk(`{"content":"`+fzKey[10:]+`"}`) + finish,
		`error: {"code":500,"message":"Context size has been exceeded.","type":"server_error"}` + "\n\n",
		`data: {"error":{"message":"invalid key Bearer ` + fzKey + `","type":"invalid_request_error","code":401}}` + "\n\n",
		"data: [DONE]\n\n",
		chunk(`{"content":"\u001b]52;c;aGk=\u0007\u009b31m"}`) + finish,
		chunk(`{"content":"`+strings.Repeat("abcdefghij", 200)+`"}`) + finish + "data: [DONE]\n\n",
		"data: {not json\n\n",
		"<html>hello</html>",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 64<<10 {
			t.Skip()
		}
		fzDecode(t, KindOpenAI, body)
	})
}

// FuzzAnthropicStreamDecoder runs the Anthropic dialect's stream decoder
// over any body.
func FuzzAnthropicStreamDecoder(f *testing.F) {
	ev := func(typ, data string) string { return "event: " + typ + "\ndata: " + data + "\n\n" }
	start := ev("message_start", `{"type":"message_start","message":{"usage":{"input_tokens":40,"output_tokens":1}}}`)
	text := func(s string) string {
		b, _ := json.Marshal(s)
		return ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`+string(b)+`}}`)
	}
	end := ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}`) + ev("message_stop", `{"type":"message_stop"}`)
	for _, s := range []string{
		start + text("It is 4217.") + end,
		start + text("x") + ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":-5,"input_tokens":"263"}}`) + ev("message_stop", `{}`),
		start + text("x") + ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":-5}}`) + ev("message_stop", `{}`),
		start + text("You sent "+fzKey) + end,
		start + ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"`+fzKey[3:]+`"}}`) + end,
		start + text("The") + ev("error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded `+fzKey+`"}}`),
		ev("message_stop", `{"type":"message_stop"}`),
		start + text("\x1b[2J\u009b") + end,
		start + text("no end"),
		"event: ping\ndata: {}\n\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 64<<10 {
			t.Skip()
		}
		fzDecode(t, KindAnthropic, body)
	})
}
