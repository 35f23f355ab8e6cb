package live

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/internal/testkit"
	"github.com/needlestorm/needlestorm/run"
)

func metricsTestRecords() []*run.Record {
	ok := &run.Record{Target: "sim", StageLabel: "rate=4/s", Length: 1024, Status: 200,
		TTFT: run.Seconds(120 * time.Millisecond), E2E: run.Seconds(time.Second), TPOT: run.Seconds(20 * time.Millisecond)}
	ok.Correct, ok.Attribution = true, "correct"
	limited := &run.Record{Target: "sim", StageLabel: "rate=4/s", Length: 1024, Status: 429, ErrorClass: run.ErrRateLimited}
	limited.Attribution = "error"
	broken := &run.Record{Target: `we"ird`, StageLabel: "concurrency=2", Length: 4096, ErrorClass: run.ErrConnection}
	return []*run.Record{ok, limited, broken}
}

func TestMetricsServe(t *testing.T) {
	m := NewMetrics()
	for _, r := range metricsTestRecords() {
		m.Sent(r)
		m.Completed(r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := m.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	out := string(body)
	base := `{target="sim",stage="rate=4/s",length="1024"`
	for _, want := range []string{
		`needlestorm_ttft_seconds_bucket` + base + `,vmrange=`,
		`needlestorm_ttft_seconds_count` + base + `} 1`,
		`needlestorm_e2e_seconds_sum` + base + `} 1`,
		`needlestorm_tpot_seconds_count` + base + `} 1`,
		`needlestorm_requests_total` + base + `,status="200"} 1`,
		`needlestorm_requests_total` + base + `,status="429"} 1`,
		`needlestorm_requests_sent_total` + base + `} 2`,
		`needlestorm_errors_total` + base + `,class="rate_limited"} 1`,
		`needlestorm_verdicts_total` + base + `,verdict="correct"} 1`,
		`needlestorm_verdicts_total` + base + `,verdict="error"} 1`,
		`needlestorm_requests_total{target="we\"ird",stage="concurrency=2",length="4096",status="none"} 1`,
		`needlestorm_errors_total{target="we\"ird",stage="concurrency=2",length="4096",class="connection"} 1`,
		`needlestorm_verdicts_total{target="we\"ird",stage="concurrency=2",length="4096",verdict="wrong"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %s\n%s", want, out)
		}
	}
	// The server stops with its context.
	cancel()
	deadline := time.Now().Add(3 * time.Second)
	for {
		r, err := http.Get("http://" + addr.String() + "/metrics")
		if err != nil {
			break
		}
		r.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("metrics server still serving after its context ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := m.Serve(context.Background(), "256.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "--metrics-addr") {
		t.Errorf("Serve on a bad address: %v, want an error naming --metrics-addr", err)
	}
}

// pushBody returns a push's body, gunzipped when it was sent compressed.
func pushBody(t *testing.T, r testkit.Request) string {
	t.Helper()
	if r.Header.Get("Content-Encoding") != "gzip" {
		return string(r.Body)
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("push body: %v", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("push body: %v", err)
	}
	return string(b)
}

// TestMetricsPush: the periodic push POSTs the counters to the import path,
// and the final push (PushOnce, sent here to a path of its own so that a
// periodic push racing with the end cannot stand in for it) carries the
// counts as they are at the end, not as they were at the last periodic
// push.
func TestMetricsPush(t *testing.T) {
	srv := testkit.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	const periodic, final = "/api/v1/import/prometheus", "/final/api/v1/import/prometheus"
	counter := func(n int) string {
		return fmt.Sprintf(`needlestorm_requests_total{target="sim",stage="rate=4/s",length="1024",status="200"} %d`, n)
	}
	pushes := func(path string) []testkit.Request {
		var out []testkit.Request
		for _, r := range srv.Requests() {
			if r.Path == path {
				out = append(out, r)
			}
		}
		return out
	}

	m := NewMetrics()
	recs := metricsTestRecords()
	for _, r := range recs {
		m.Completed(r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := m.StartPush(ctx, srv.URL+periodic, 50*time.Millisecond, nil); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); len(pushes(periodic)) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no periodic push within 10 s")
		}
	}
	p := pushes(periodic)[0]
	if p.Method != http.MethodPost || !strings.Contains(pushBody(t, p), counter(1)) {
		t.Errorf("periodic push: %s, body:\n%s\nwant a POST holding %s", p.Method, pushBody(t, p), counter(1))
	}
	cancel()
	// Two more requests complete after the last periodic push.
	m.Completed(recs[0])
	m.Completed(recs[0])
	if err := m.PushOnce(context.Background(), srv.URL+final); err != nil {
		t.Fatal(err)
	}
	fp := pushes(final)
	if len(fp) != 1 {
		t.Fatalf("%d final pushes, want 1", len(fp))
	}
	if body := pushBody(t, fp[0]); fp[0].Method != http.MethodPost || !strings.Contains(body, counter(3)) {
		t.Errorf("final push: %s, body:\n%s\nwant a POST holding the final count: %s", fp[0].Method, body, counter(3))
	}
	if err := m.StartPush(context.Background(), "::bad url", time.Second, nil); err == nil {
		t.Error("StartPush with a bad URL succeeded")
	}
	if err := m.PushOnce(context.Background(), "::bad url"); err == nil {
		t.Error("PushOnce with a bad URL succeeded")
	}
}

func TestMetricEscape(t *testing.T) {
	if got := metricEscape("a\\b\"c\nd"); got != `a\\b\"c\nd` {
		t.Errorf("metricEscape = %s", got)
	}
	var b bytes.Buffer
	NewMetrics().WritePrometheus(&b)
	if b.Len() != 0 {
		t.Errorf("a new Metrics writes %q, want nothing", b.String())
	}
}
