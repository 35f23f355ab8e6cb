package endpoint

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/internal/testkit"
)

// preflightFastRetry keeps retry tests quick: waits of a millisecond.
var preflightFastRetry = PreflightRetryPolicy{Retries: 3, Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, ReadyWait: 10 * time.Second}

// TestPreflightWaitsForReadiness: a server that answers 503 "Loading model"
// twice (llama.cpp while it loads) and then drops the first calibration
// request's connection (a server that just started) passes preflight, and
// the report says what was waited out.
func TestPreflightWaitsForReadiness(t *testing.T) {
	sim := preflightTestSim(t, "vllm-8b", nil)
	var (
		mu               sync.Mutex
		loading, dropped int
	)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		switch {
		case loading < 2:
			loading++
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}`))
			return
		case r.Method == http.MethodPost && dropped < 1:
			dropped++
			mu.Unlock()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close() // EOF before any answer
			}
			return
		}
		mu.Unlock()
		sim.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	cfg := TargetConfig{Kind: KindOpenAI, BaseURL: front.URL + "/v1", Model: sim.Config().Model}
	rep, err := Preflight(preflightTestCtx(t), cfg, PreflightEnv(testkit.NoEnv), PreflightRetry(preflightFastRetry))
	if err != nil {
		t.Fatalf("preflight failed: %v\n%s", err, rep.Text())
	}
	if !rep.Reachable || !rep.Calibrated {
		t.Fatalf("reachable %v calibrated %v\n%s", rep.Reachable, rep.Calibrated, rep.Text())
	}
	text := rep.Text()
	for _, want := range []string{"503, not ready (Loading model", "(2 times)", "calibration request", "connection failed"} {
		if !strings.Contains(text, want) {
			t.Errorf("report does not say %q:\n%s", want, text)
		}
	}
}

// TestPreflightNoRetryPolicy: with retries off a 503 listing is reported
// at once, as before.
func TestPreflightNoRetryPolicy(t *testing.T) {
	srv := preflightFake(t, map[string]http.HandlerFunc{
		"/": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) },
	})
	cfg := TargetConfig{Kind: KindOpenAI, BaseURL: srv.URL + "/v1", Model: "m"}
	rep, _ := Preflight(preflightTestCtx(t), cfg, PreflightEnv(testkit.NoEnv), PreflightCalibrate(), PreflightRetry(PreflightRetryPolicy{}))
	listings := 0
	for _, r := range srv.Requests() {
		if r.Path == "/v1/models" {
			listings++
		}
	}
	if len(rep.Retries) != 0 || listings != 1 {
		t.Errorf("retries %q after %d listings, want none after 1", rep.Retries, listings)
	}
}

// TestPreflightMissingKeyNotContacted: an API key variable that is not set
// is said as such, and the report does not claim the server is unreachable.
func TestPreflightMissingKeyNotContacted(t *testing.T) {
	srv := preflightFake(t, map[string]http.HandlerFunc{"/": preflightJSON(`{"object":"list","data":[]}`)})
	cfg := TargetConfig{Kind: KindOpenAI, BaseURL: srv.URL + "/v1", Model: "m", APIKeyEnv: "NOT_SET_VAR"}
	rep, err := Preflight(preflightTestCtx(t), cfg, PreflightEnv(testkit.NoEnv))
	if err == nil || !strings.Contains(err.Error(), "API key variable NOT_SET_VAR is not set") {
		t.Fatalf("err = %v, want it to name the variable", err)
	}
	if srv.Len() != 0 {
		t.Errorf("%d requests sent", srv.Len())
	}
	text := rep.Text()
	if !strings.Contains(text, srv.URL) || !strings.Contains(text, "not checked: API key variable NOT_SET_VAR is not set") || strings.Contains(text, "reachable    no\n") {
		t.Errorf("report:\n%s", text)
	}
}

// TestPreflightCalibrationSkipsInvalidUsage: a prompt count that cannot be
// true (10^15 tokens, item 7 of issue 10) is not calibrated on, and the
// warning says why; a compressed listing names its encoding.
func TestPreflightCalibrationSkipsInvalidUsage(t *testing.T) {
	srv := preflightFake(t, map[string]http.HandlerFunc{
		"GET /v1/models": preflightJSON(`{"object":"list","data":[{"id":"m","object":"model","owned_by":"org"}]}`),
		"POST /v1/chat/completions": testSSE(testChunk("4217"), testFinishChunk,
			`data: {"choices":[],"usage":{"prompt_tokens":999999999999744,"completion_tokens":2}}`+"\n\n", testDone),
	})
	cfg := TargetConfig{Kind: KindOpenAI, BaseURL: srv.URL + "/v1", Model: "m"}
	rep, err := Preflight(preflightTestCtx(t), cfg, PreflightEnv(testkit.NoEnv), PreflightRetry(preflightFastRetry))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Calibrated || !preflightHasWarning(rep, "usage is not usable (prompt_tokens 999999999999744 is above") {
		t.Errorf("calibrated %v, warnings %q", rep.Calibrated, rep.Warnings)
	}

	gz := testServer(t, &testGzip{status: 200, body: `{"object":"list","data":[]}`})
	_, err = Preflight(preflightTestCtx(t), TargetConfig{Kind: KindOpenAI, BaseURL: gz + "/v1", Model: "m"}, PreflightEnv(testkit.NoEnv), PreflightRetry(preflightFastRetry))
	if err == nil || !strings.Contains(err.Error(), "Content-Encoding gzip although identity") {
		t.Errorf("err = %v, want one naming the encoding", err)
	}
}
