package endpoint

import (
	"net/http"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/internal/testkit"
	"github.com/needlestorm/needlestorm/run"
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

// TestSimulatorIDs: against the simulator, both dialects' records carry
// the server's request id (its x-request-id header) and the answer's id
// (the chunk id, Anthropic's message id), which share a serial number and
// differ from request to request.
func TestSimulatorIDs(t *testing.T) {
	srv := preflightTestSim(t, "fast", nil)
	for _, tc := range []struct {
		kind, base, reqPrefix, respPrefix string
	}{
		{KindOpenAI, srv.URL(), "req-sim", "chatcmpl-sim"},
		{KindAnthropic, strings.TrimSuffix(srv.URL(), "/v1"), "req_sim", "msg_sim"},
	} {
		tg, err := NewTarget(TargetConfig{Kind: tc.kind, BaseURL: tc.base, Model: srv.Config().Model, MaxTokens: 8}, TargetEnv(testEnv))
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for range 3 {
			rec := &run.Record{}
			tg.Send(t.Context(), testCase(), rec)
			if rec.ErrorClass != "" {
				t.Fatalf("%s: %s: %s", tc.kind, rec.ErrorClass, rec.Error)
			}
			n, ok := strings.CutPrefix(rec.ServerRequestID, tc.reqPrefix)
			if !ok || n == "" {
				t.Errorf("%s: server_request_id %q, want %s and a number", tc.kind, rec.ServerRequestID, tc.reqPrefix)
			}
			if rec.ResponseID != tc.respPrefix+n {
				t.Errorf("%s: response_id %q, want %s%s", tc.kind, rec.ResponseID, tc.respPrefix, n)
			}
			if seen[rec.ResponseID] {
				t.Errorf("%s: response_id %q repeats", tc.kind, rec.ResponseID)
			}
			seen[rec.ResponseID] = true
		}
		tg.Close()
	}
}
