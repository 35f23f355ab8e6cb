package endpoint

import (
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/internal/testkit"
)

// TestBodyBytes: a record counts the request body sent and the response
// body read, for both dialects and for an error response.
func TestBodyBytes(t *testing.T) {
	body := func(pieces []string) int64 {
		var n int64
		for _, p := range pieces {
			if !strings.HasPrefix(p, "\x00") {
				n += int64(len(p))
			}
		}
		return n
	}
	oa := []string{testRoleChunk, testChunk("The value is 4217."), testFinishChunk, testUsageChunk, testDone}
	an := []string{testAnthropicStart, testAnthropicBlockStart, testAnthropicText("4217"), testAnthropicBlockStop, testAnthropicDelta, testAnthropicStop}
	const errBody = `{"error":{"message":"slow down","type":"rate_limit"}}`
	for _, tc := range []struct {
		name   string
		target func(t testing.TB, url string) Target
		srv    *testkit.Server
		in     int64
	}{
		{"openai", func(t testing.TB, url string) Target { return newTestOpenAI(t, url, nil) }, testkit.NewServer(t, testSSE(oa...)), body(oa)},
		{"anthropic", func(t testing.TB, url string) Target { return newTestAnthropic(t, url+"/", nil) }, testkit.NewServer(t, testSSE(an...)), body(an)},
		{"openai 429", func(t testing.TB, url string) Target { return newTestOpenAI(t, url, nil) }, testkit.NewServer(t, testStatus(429, errBody)), int64(len(errBody))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := testSend(t, tc.target(t, tc.srv.URL))
			sent := int64(len(tc.srv.Last(t).Body))
			if sent == 0 || rec.BytesOut != sent {
				t.Errorf("bytes_out %d, the server received %d", rec.BytesOut, sent)
			}
			if rec.BytesIn != tc.in {
				t.Errorf("bytes_in %d, the server sent %d", rec.BytesIn, tc.in)
			}
		})
	}
}
