package endpoint

import (
	"net/http"
	"testing"

	"github.com/needlestorm/needlestorm/internal/testkit"
)

// TestServerRequestID: the server's x-request-id (or Anthropic's
// request-id) lands in the record, for successes and failures alike.
func TestServerRequestID(t *testing.T) {
	ok := testSSE(testChunk("4217"), testFinishChunk, testDone)
	for name, tc := range map[string]struct {
		h    http.HandlerFunc
		want string
	}{
		"x-request-id": {func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Request-Id", "req-abc 123"); ok(w, r) }, "req-abc123"},
		"request-id":   {func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Request-Id", "req_01"); ok(w, r) }, "req_01"},
		"error":        {testStatus(500, `{"error":{"message":"boom"}}`, "X-Request-Id", "req-err"), "req-err"},
		"none":         {ok, ""},
	} {
		t.Run(name, func(t *testing.T) {
			srv := testkit.NewServer(t, tc.h)
			rec := testSend(t, newTestOpenAI(t, srv.URL, nil))
			if rec.ServerRequestID != tc.want {
				t.Errorf("server_request_id %q, want %q", rec.ServerRequestID, tc.want)
			}
		})
	}
}
