package endpoint

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/run"
)

// testEndless streams piece, flushing, until the client goes away or n
// pieces were written (a bound, so a broken cap cannot hang the test).
func testEndless(n int, piece string, tail ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		f := w.(http.Flusher)
		for i := 0; i < n; i++ {
			if _, err := w.Write([]byte(piece)); err != nil {
				return
			}
			if i%64 == 0 {
				f.Flush()
			}
			if r.Context().Err() != nil {
				return
			}
		}
		for _, p := range tail {
			_, _ = w.Write([]byte(p))
		}
	}
}

func testServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestStreamCapsAnswer: an answer past MaxAnswerBytes is kept up to the cap,
// the record says it was cut and how large it was, and the stream is read
// to its end when it stays within the runaway bound.
func TestStreamCapsAnswer(t *testing.T) {
	piece := strings.Repeat("x", 4096)
	const n = 100 // 400 KiB, over the 256 KiB cap
	url := testServer(t, testEndless(n, testChunk(piece), testFinishChunk, testDone))
	tg := newTestOpenAI(t, url, func(c *TargetConfig) { c.MaxTokens = 1 << 20 })
	rec := testSend(t, tg)
	if rec.ErrorClass != "" {
		t.Fatalf("error %s: %s", rec.ErrorClass, rec.Error)
	}
	if len(rec.Answer) != MaxAnswerBytes || !rec.AnswerTruncated || rec.AnswerBytes != int64(n*len(piece)) {
		t.Fatalf("answer %d bytes, truncated %v, answer_bytes %d; want %d, true, %d", len(rec.Answer), rec.AnswerTruncated, rec.AnswerBytes, MaxAnswerBytes, n*len(piece))
	}
	if rec.FinishReason != "stop" || !rec.OutputTokensEstimated || rec.OutputTokens < n*len(piece)/64 {
		t.Errorf("finish %q, output tokens %d (estimated %v): want stop and an estimate for all %d bytes", rec.FinishReason, rec.OutputTokens, rec.OutputTokensEstimated, n*len(piece))
	}
}

// TestStreamCapsUTF8: the kept answer is cut at a character boundary.
func TestStreamCapsUTF8(t *testing.T) {
	piece := "a" + strings.Repeat("é", 2047) // 4095 bytes: the cap falls inside a character
	url := testServer(t, testEndless(70, testChunk(piece), testFinishChunk, testDone))
	rec := testSend(t, newTestOpenAI(t, url, func(c *TargetConfig) { c.MaxTokens = 1 << 20 }))
	if !rec.AnswerTruncated || len(rec.Answer) > MaxAnswerBytes || len(rec.Answer) < MaxAnswerBytes-1 {
		t.Fatalf("answer %d bytes, truncated %v", len(rec.Answer), rec.AnswerTruncated)
	}
	if !strings.HasSuffix(rec.Answer, "é") && !strings.HasSuffix(rec.Answer, "a") {
		t.Fatalf("answer cut inside a character: ends %q", rec.Answer[len(rec.Answer)-4:])
	}
}

// TestStreamRunaway: a server that ignores max_tokens is stopped once the
// output passes RunawayTokens(max_tokens), classified runaway, and the
// record stays small.
func TestStreamRunaway(t *testing.T) {
	for _, tc := range []struct {
		name  string
		piece string
	}{
		{"one token per chunk", testChunk("x")},
		{"long chunks", testChunk(strings.Repeat("y", 1000))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := testServer(t, testEndless(1_000_000, tc.piece))
			rec := testSend(t, newTestOpenAI(t, url, func(c *TargetConfig) { c.MaxTokens = 16 }))
			if rec.ErrorClass != run.ErrRunaway {
				t.Fatalf("class %q (%s), want %q", rec.ErrorClass, rec.Error, run.ErrRunaway)
			}
			if !strings.Contains(rec.Error, "max_tokens 16") || !strings.Contains(rec.Error, "reading stopped") {
				t.Errorf("error %q does not say what happened", rec.Error)
			}
			b, _ := json.Marshal(rec)
			if len(b) > 64<<10 {
				t.Errorf("record is %d bytes", len(b))
			}
			if rec.BytesIn > 8<<20 {
				t.Errorf("%d bytes read after the runaway bound", rec.BytesIn)
			}
		})
	}
}

// TestStreamRunawayAnthropic: the same bound holds in the other dialect.
func TestStreamRunawayAnthropic(t *testing.T) {
	url := testServer(t, testEndless(1_000_000, testAnthropicText("z"), "", ""))
	rec := testSend(t, newTestAnthropic(t, url, func(c *TargetConfig) { c.MaxTokens = 16 }))
	if rec.ErrorClass != run.ErrRunaway {
		t.Fatalf("class %q (%s), want %q", rec.ErrorClass, rec.Error, run.ErrRunaway)
	}
}

// TestStreamResponseCap: a server that sends only keep-alive comments (no
// content) is stopped at MaxResponseBytes.
func TestStreamResponseCap(t *testing.T) {
	comment := ":" + strings.Repeat(" ", 8190) + "\n"
	url := testServer(t, testEndless(2*MaxResponseBytes/len(comment), comment))
	rec := testSend(t, newTestOpenAI(t, url, nil))
	if rec.ErrorClass != run.ErrRunaway || !strings.Contains(rec.Error, "MiB") {
		t.Fatalf("class %q (%s), want %q naming the size", rec.ErrorClass, rec.Error, run.ErrRunaway)
	}
	if rec.BytesIn > MaxResponseBytes+1<<20 {
		t.Errorf("%d bytes read, cap %d", rec.BytesIn, MaxResponseBytes)
	}
}

// TestStreamChunkGapsCap: chunk gaps are kept up to MaxChunkGaps and the
// true chunk count is recorded.
func TestStreamChunkGapsCap(t *testing.T) {
	const n = MaxChunkGaps + 50
	url := testServer(t, testEndless(n, testChunk("x"), testFinishChunk, testDone))
	rec := testSend(t, newTestOpenAI(t, url, func(c *TargetConfig) { c.MaxTokens = n }))
	if rec.ErrorClass != "" {
		t.Fatalf("error %s: %s", rec.ErrorClass, rec.Error)
	}
	if len(rec.ChunkGaps) != MaxChunkGaps || !rec.ChunkGapsTruncated || rec.Chunks != n {
		t.Fatalf("%d gaps, truncated %v, chunks %d; want %d, true, %d", len(rec.ChunkGaps), rec.ChunkGapsTruncated, rec.Chunks, MaxChunkGaps, n)
	}
}

// TestStreamLineTooLong: one line past the SSE reader's limit is a bad
// response that says so, not unbounded buffering.
func TestStreamLineTooLong(t *testing.T) {
	url := testServer(t, testEndless(8<<10, strings.Repeat("a", 1024)))
	rec := testSend(t, newTestOpenAI(t, url, nil))
	if rec.ErrorClass != run.ErrBadResponse || !strings.Contains(rec.Error, "line is longer than") {
		t.Fatalf("class %q (%s), want bad_response about the line", rec.ErrorClass, rec.Error)
	}
}

// TestStreamOnlyDone: "data: [DONE]" alone is a server failure, not an
// empty answer.
func TestStreamOnlyDone(t *testing.T) {
	for _, pieces := range [][]string{{testDone}, {testRoleChunk, testDone}} {
		url := testServer(t, testSSE(pieces...))
		rec := testSend(t, newTestOpenAI(t, url, nil))
		if rec.ErrorClass != run.ErrBadResponse || !strings.Contains(rec.Error, "without any content or finish reason") {
			t.Errorf("%q: class %q (%s), want bad_response", pieces, rec.ErrorClass, rec.Error)
		}
	}
	// A finish reason with an empty answer is the model's answer.
	url := testServer(t, testSSE(testRoleChunk, testFinishChunk, testDone))
	if rec := testSend(t, newTestOpenAI(t, url, nil)); rec.ErrorClass != "" {
		t.Errorf("empty answer with a finish reason: class %q (%s)", rec.ErrorClass, rec.Error)
	}
}

// TestStreamLenientUsage: unusable usage counts keep the answer, are left
// out of the record and are named in usage_invalid.
func TestStreamLenientUsage(t *testing.T) {
	tests := []struct {
		usage                  string
		prompt, output, cached int
		estimated              bool
		note                   []string // fragments of usage_invalid; nil: none
	}{
		{`{"prompt_tokens":50,"completion_tokens":6,"prompt_tokens_details":{"cached_tokens":16}}`, 50, 6, 16, false, nil},
		{`{"prompt_tokens":"263","completion_tokens":6}`, 0, 6, 0, false, []string{"prompt_tokens is a string"}},
		{`{"prompt_tokens":1e20,"completion_tokens":6}`, 0, 6, 0, false, []string{"prompt_tokens 1e20 is beyond"}},
		{`{"prompt_tokens":50,"completion_tokens":9.5}`, 50, -1, 0, true, []string{"completion_tokens 9.5 is not a whole number"}},
		{`{"prompt_tokens":-3,"completion_tokens":-1}`, 0, -1, 0, true, []string{"prompt_tokens -3 is negative", "completion_tokens -1 is negative"}},
		{`{"prompt_tokens":999999999999744,"completion_tokens":6}`, 0, 6, 0, false, []string{"prompt_tokens 999999999999744 is above"}},
		{`{"prompt_tokens":900000000,"completion_tokens":6}`, 0, 6, 0, false, []string{"more than 4 times"}},
		{`{"prompt_tokens":50,"completion_tokens":100000000}`, 50, -1, 0, true, []string{"completion_tokens 100000000 is more than"}},
		{`{"prompt_tokens":50,"completion_tokens":6,"prompt_tokens_details":{"cached_tokens":80}}`, 50, 6, 0, false, []string{"cached_tokens 80 is more than"}},
		{`{"prompt_tokens":2.0e2,"completion_tokens":6}`, 200, 6, 0, false, nil},
		{`"lots"`, 0, -1, 0, true, []string{"usage is not a usage object"}},
		{`{"prompt_tokens":true}`, 0, -1, 0, true, []string{"prompt_tokens is not a number"}},
	}
	for _, tt := range tests {
		t.Run(tt.usage, func(t *testing.T) {
			usage := `data: {"choices":[],"usage":` + tt.usage + "}\n\n"
			url := testServer(t, testSSE(testChunk("4217"), testFinishChunk, usage, testDone))
			rec := testSend(t, newTestOpenAI(t, url, nil))
			if rec.ErrorClass != "" || rec.Answer != "4217" {
				t.Fatalf("class %q (%s), answer %q: the answer must be kept", rec.ErrorClass, rec.Error, rec.Answer)
			}
			if rec.PromptTokensServer != tt.prompt || rec.CachedTokens != tt.cached || (tt.output >= 0 && rec.OutputTokens != tt.output) || rec.OutputTokensEstimated != tt.estimated {
				t.Errorf("prompt %d cached %d output %d (estimated %v); want %d %d %d (%v)", rec.PromptTokensServer, rec.CachedTokens, rec.OutputTokens, rec.OutputTokensEstimated, tt.prompt, tt.cached, tt.output, tt.estimated)
			}
			if tt.note == nil && rec.UsageInvalid != "" {
				t.Errorf("usage_invalid %q for valid usage", rec.UsageInvalid)
			}
			for _, n := range tt.note {
				if !strings.Contains(rec.UsageInvalid, n) {
					t.Errorf("usage_invalid %q lacks %q", rec.UsageInvalid, n)
				}
			}
		})
	}
}

// TestStreamLenientUsageAnthropic: the same in the Messages dialect.
func TestStreamLenientUsageAnthropic(t *testing.T) {
	start := testAnthropicEvent("message_start", `{"type":"message_start","message":{"usage":{"input_tokens":"40","cache_read_input_tokens":10,"output_tokens":1}}}`)
	delta := testAnthropicEvent("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":-7}}`)
	stop := testAnthropicEvent("message_stop", `{"type":"message_stop"}`)
	url := testServer(t, testSSE(start, testAnthropicText("4217"), delta, stop))
	rec := testSend(t, newTestAnthropic(t, url, nil))
	if rec.ErrorClass != "" || rec.Answer != "4217" {
		t.Fatalf("class %q (%s), answer %q", rec.ErrorClass, rec.Error, rec.Answer)
	}
	if rec.PromptTokensServer != 0 || !rec.OutputTokensEstimated {
		t.Errorf("prompt %d, output %d estimated %v: the bad counts must be left out", rec.PromptTokensServer, rec.OutputTokens, rec.OutputTokensEstimated)
	}
	for _, n := range []string{"input_tokens is a string", "output_tokens -7 is negative"} {
		if !strings.Contains(rec.UsageInvalid, n) {
			t.Errorf("usage_invalid %q lacks %q", rec.UsageInvalid, n)
		}
	}
}

// BenchmarkRecordLongWord records a request whose answer is 1 MB of letters
// without whitespace and no usage (the answer is kept up to its cap; the
// output tokens are estimated). Target: well under 50 ms per request.
func BenchmarkRecordLongWord(b *testing.B) {
	word := longLetters(64 << 10)
	var body strings.Builder
	for i := 0; i < 16; i++ {
		body.WriteString(testChunk(word))
	}
	body.WriteString(testFinishChunk + testDone)
	payload := body.String()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte(payload))
	}))
	defer srv.Close()
	tg := newTestOpenAI(b, srv.URL, func(c *TargetConfig) { c.MaxTokens = 1 << 20 })
	tg.Send(context.Background(), testCase(), &run.Record{}) // loads the tokenizer
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := &run.Record{}
		tg.Send(context.Background(), testCase(), rec)
		if rec.ErrorClass != "" || !rec.AnswerTruncated || rec.OutputTokens == 0 {
			b.Fatalf("class %q (%s), truncated %v, output %d", rec.ErrorClass, rec.Error, rec.AnswerTruncated, rec.OutputTokens)
		}
	}
}

// longLetters is n pseudo-random lower-case letters.
func longLetters(n int) string {
	b := make([]byte, n)
	x := uint32(1)
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte('a' + (x>>24)%26)
	}
	return string(b)
}

// pausedReader returns its pieces one per Read, sleeping pause before
// each piece after the first.
type pausedReader struct {
	pieces []string
	pause  time.Duration
	n      int
}

func (p *pausedReader) Read(b []byte) (int, error) {
	if p.n == len(p.pieces) {
		return 0, io.EOF
	}
	if p.n > 0 {
		time.Sleep(p.pause)
	}
	k := copy(b, p.pieces[p.n])
	p.n++
	return k, nil
}

// TestStreamTimesEventsByRead: chunks that arrive in one read share its
// time (gap 0, not the time the client spent decoding the ones before),
// and a chunk of a later read carries that read's time.
func TestStreamTimesEventsByRead(t *testing.T) {
	const pause = 30 * time.Millisecond
	body := &pausedReader{pause: pause, pieces: []string{
		testRoleChunk + testChunk("a") + testChunk("b") + testChunk("c"),
		testChunk("d") + testChunk("e") + testFinishChunk + testDone,
	}}
	tg := newTestOpenAI(t, "http://127.0.0.1:1", nil).(*openaiTarget)
	var rec run.Record
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tg.readStream(ctx, cancel, body, (*streamState).openaiDialect, testCase(), &rec, time.Now())
	if rec.ErrorClass != "" || rec.Answer != "abcde" {
		t.Fatalf("error %q %s, answer %q", rec.ErrorClass, rec.Error, rec.Answer)
	}
	gaps := rec.ChunkGaps
	if len(gaps) != 4 {
		t.Fatalf("gaps %v, want 4", gaps)
	}
	if gaps[0] != 0 || gaps[1] != 0 || gaps[3] != 0 {
		t.Errorf("gaps %v: chunks of one read must share its time", gaps)
	}
	if gaps[2].Duration() < pause {
		t.Errorf("gap %v across the pause, want at least %v", gaps[2], pause)
	}
}
