package endpoint

import (
	"compress/gzip"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/needlestorm/needlestorm/run"
)

// testGzip answers status with body gzip-compressed, whatever was asked,
// and keeps the Accept-Encoding of each request.
type testGzip struct {
	mu     sync.Mutex
	status int
	body   string
	asked  []string
}

func (g *testGzip) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.asked = append(g.asked, r.Header.Get("Accept-Encoding"))
	g.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Content-Encoding", "gzip")
	w.WriteHeader(g.status)
	z := gzip.NewWriter(w)
	_, _ = z.Write([]byte(g.body))
	_ = z.Close()
}

// TestIdentityEncoding: every request asks for identity, and a server that
// compresses anyway gets an error naming the encoding, in both dialects and
// for errors too.
func TestIdentityEncoding(t *testing.T) {
	stream := testChunk("4217") + testFinishChunk + testDone
	for _, tc := range []struct {
		name   string
		status int
		class  string
		newT   func(t testing.TB, url string) Target
	}{
		{"openai 200", 200, run.ErrBadResponse, func(t testing.TB, u string) Target { return newTestOpenAI(t, u, nil) }},
		{"anthropic 200", 200, run.ErrBadResponse, func(t testing.TB, u string) Target { return newTestAnthropic(t, u, nil) }},
		{"openai 500", 500, run.ErrServerError, func(t testing.TB, u string) Target { return newTestOpenAI(t, u, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &testGzip{status: tc.status, body: stream}
			url := testServer(t, g)
			rec := testSend(t, tc.newT(t, url))
			if rec.ErrorClass != tc.class || !strings.Contains(rec.Error, "Content-Encoding gzip although identity") {
				t.Fatalf("class %q (%s), want %q naming the encoding", rec.ErrorClass, rec.Error, tc.class)
			}
			g.mu.Lock()
			defer g.mu.Unlock()
			if len(g.asked) != 1 || g.asked[0] != "identity" {
				t.Errorf("Accept-Encoding sent: %q, want identity", g.asked)
			}
		})
	}
}
