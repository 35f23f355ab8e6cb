package live

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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

func TestMetricsPush(t *testing.T) {
	type push struct {
		method, path string
		body         string
	}
	got := make(chan push, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rd io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				t.Errorf("push body: %v", err)
				return
			}
			rd = zr
		}
		b, _ := io.ReadAll(rd)
		select {
		case got <- push{r.Method, r.URL.Path, string(b)}:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	m := NewMetrics()
	for _, r := range metricsTestRecords() {
		m.Completed(r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := srv.URL + "/api/v1/import/prometheus"
	if err := m.StartPush(ctx, url, 50*time.Millisecond, nil); err != nil {
		t.Fatal(err)
	}
	check := func(what string) {
		select {
		case p := <-got:
			if p.method != http.MethodPost || p.path != "/api/v1/import/prometheus" {
				t.Errorf("%s: %s %s, want POST /api/v1/import/prometheus", what, p.method, p.path)
			}
			if !strings.Contains(p.body, `needlestorm_requests_total{target="sim",stage="rate=4/s",length="1024",status="200"} 1`) {
				t.Errorf("%s body lacks the requests counter:\n%s", what, p.body)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no push within 5 s", what)
		}
	}
	check("periodic push")
	cancel()
	if err := m.PushOnce(context.Background(), url); err != nil {
		t.Fatal(err)
	}
	// Drain periodic pushes that raced with cancel, then the final one.
	for len(got) > 1 {
		<-got
	}
	check("final push")
	if err := m.StartPush(context.Background(), "::bad url", time.Second, nil); err == nil {
		t.Error("StartPush with a bad URL succeeded")
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
