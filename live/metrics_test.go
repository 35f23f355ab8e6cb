package live

import (
	"bufio"
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

// testBase is the labels of the first two test records.
const testBase = `{run="nightly-7",campaign="nightly",target="sim",model="m1",stage="rate=4/s",length="1024"`

func metricsTestRecords() []*run.Record {
	ok := &run.Record{Seq: 1, Target: "sim", Model: "m1", StageLabel: "rate=4/s", Length: 1024, Status: 200,
		TTFT: run.Seconds(120 * time.Millisecond), E2E: run.Seconds(time.Second), TPOT: run.Seconds(20 * time.Millisecond),
		ChunkGaps:          []run.Seconds{run.Seconds(3 * time.Millisecond), run.Seconds(30 * time.Millisecond), run.Seconds(2 * time.Second)},
		PromptTokensClient: 1000, PromptTokensServer: 1024, OutputTokens: 12}
	ok.Correct, ok.Attribution = true, "correct"
	limited := &run.Record{Seq: 2, Target: "sim", Model: "m1", StageLabel: "rate=4/s", Length: 1024, Status: 429, ErrorClass: run.ErrRateLimited,
		PromptTokensClient: 1000}
	limited.Attribution = "error"
	broken := &run.Record{Seq: 3, Target: `we"ird`, StageLabel: "concurrency=2", Length: 4096, ErrorClass: run.ErrConnection}
	return []*run.Record{ok, limited, broken}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return string(body)
}

func TestMetricsServe(t *testing.T) {
	m := NewMetrics(WithRun("nightly-7"), WithCampaign("nightly"))
	recs := metricsTestRecords()
	for _, r := range recs {
		m.Sent(r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := m.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + addr.String() + "/metrics"
	if out := scrape(t, url); !strings.Contains(out, `needlestorm_requests_in_flight`+testBase+`} 2`) {
		t.Errorf("two requests sent, none completed: /metrics lacks the in-flight gauge at 2\n%s", out)
	}
	for _, r := range recs {
		r.Model = "changed after sending" // the gauge raised at Sent is the one lowered
		if r.Target == "sim" {
			r.Model = "m1"
		}
		m.Completed(r)
	}
	out := scrape(t, url)
	for _, want := range []string{
		"# HELP needlestorm_ttft_seconds Time from sending a request to its first",
		"# TYPE needlestorm_ttft_seconds histogram\n",
		`needlestorm_ttft_seconds_bucket` + testBase + `,le="0.1"} 0`,
		`needlestorm_ttft_seconds_bucket` + testBase + `,le="0.25"} 1`,
		`needlestorm_ttft_seconds_bucket` + testBase + `,le="+Inf"} 1`,
		`needlestorm_ttft_seconds_count` + testBase + `} 1`,
		`needlestorm_e2e_seconds_sum` + testBase + `} 1`,
		`needlestorm_tpot_seconds_count` + testBase + `} 1`,
		`needlestorm_chunk_gap_seconds_bucket` + testBase + `,le="0.005"} 1`,
		`needlestorm_chunk_gap_seconds_bucket` + testBase + `,le="0.05"} 2`,
		`needlestorm_chunk_gap_seconds_count` + testBase + `} 3`,
		"# TYPE needlestorm_requests_in_flight gauge\n",
		`needlestorm_requests_in_flight` + testBase + `} 0`,
		"# TYPE needlestorm_requests_total counter\n",
		`needlestorm_requests_total` + testBase + `,status="200"} 1`,
		`needlestorm_requests_total` + testBase + `,status="429"} 1`,
		`needlestorm_requests_sent_total` + testBase + `} 2`,
		`needlestorm_errors_total` + testBase + `,class="rate_limited"} 1`,
		`needlestorm_answers_total` + testBase + `,verdict="correct",attribution="correct"} 1`,
		`needlestorm_answers_total` + testBase + `,verdict="wrong",attribution="error"} 1`,
		// The server's count where it gave one, else the client's.
		`needlestorm_prompt_tokens_total` + testBase + `} 2024`,
		`needlestorm_output_tokens_total` + testBase + `} 12`,
		`needlestorm_requests_total{run="nightly-7",campaign="nightly",target="we\"ird",model="changed after sending",stage="concurrency=2",length="4096",status="none"} 1`,
		`needlestorm_errors_total{run="nightly-7",campaign="nightly",target="we\"ird",model="changed after sending",stage="concurrency=2",length="4096",class="connection"} 1`,
		`needlestorm_answers_total{run="nightly-7",campaign="nightly",target="we\"ird",model="changed after sending",stage="concurrency=2",length="4096",verdict="wrong",attribution="none"} 1`,
		`needlestorm_requests_in_flight{run="nightly-7",campaign="nightly",target="we\"ird",model="",stage="concurrency=2",length="4096"} 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %s\n%s", want, out)
		}
	}
	if strings.Contains(out, "vmrange") {
		t.Errorf("/metrics holds VictoriaMetrics vmrange buckets, which Prometheus cannot use:\n%s", out)
	}
	checkMetadata(t, out)

	// The server stops with its context.
	cancel()
	deadline := time.Now().Add(3 * time.Second)
	for {
		r, err := http.Get(url)
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

// checkMetadata checks the text format's metadata without promtool: every
// sample's family has # HELP (with text) and # TYPE lines before its first
// sample, once, and every family is one of Families with its type.
func checkMetadata(t *testing.T, text string) {
	t.Helper()
	help, typ := map[string]bool{}, map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# HELP "):
			f := strings.Fields(line)
			if len(f) < 4 {
				t.Errorf("help without text: %q", line)
			}
			if help[f[2]] {
				t.Errorf("family %s has two # HELP lines", f[2])
			}
			help[f[2]] = true
		case strings.HasPrefix(line, "# TYPE "):
			f := strings.Fields(line)
			if _, dup := typ[f[2]]; dup {
				t.Errorf("family %s has two # TYPE lines", f[2])
			}
			typ[f[2]] = f[3]
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			fam, ok := sampleFamily([]byte(line))
			if !ok {
				t.Errorf("sample of no known family: %q", line)
				continue
			}
			if !help[fam.Name] || typ[fam.Name] != fam.Type {
				t.Errorf("sample %q comes before its family's # HELP and # TYPE %s lines", line, fam.Type)
			}
		}
	}
}

// TestFamilies: names in base units with the suffixes promtool expects, and
// histogram buckets rising.
func TestFamilies(t *testing.T) {
	for _, f := range Families {
		switch f.Type {
		case "counter":
			if !strings.HasSuffix(f.Name, "_total") {
				t.Errorf("counter %s does not end in _total", f.Name)
			}
		case "histogram":
			if !strings.HasSuffix(f.Name, "_seconds") || len(f.Buckets) < 10 {
				t.Errorf("histogram %s: want a name in _seconds and at least 10 buckets, has %v", f.Name, f.Buckets)
			}
			for i := 1; i < len(f.Buckets); i++ {
				if f.Buckets[i] <= f.Buckets[i-1] {
					t.Errorf("histogram %s: buckets not rising: %v", f.Name, f.Buckets)
				}
			}
		case "gauge":
			if strings.HasSuffix(f.Name, "_total") {
				t.Errorf("gauge %s ends in _total", f.Name)
			}
		default:
			t.Errorf("family %s has type %q", f.Name, f.Type)
		}
		if !strings.HasPrefix(f.Name, "needlestorm_") || strings.HasSuffix(f.Help, " ") || len(f.Help) < 10 {
			t.Errorf("family %s: help %q", f.Name, f.Help)
		}
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

// TestMetricsPush: StartPush pushes once at once, then every interval,
// POSTing the counters to the import path; the final push (PushOnce, sent
// here to a path of its own so that a periodic push racing with the end
// cannot stand in for it) carries the counts as they are at the end, not
// as they were at the last periodic push.
func TestMetricsPush(t *testing.T) {
	srv := testkit.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	const periodic, final = "/api/v1/import/prometheus", "/final/api/v1/import/prometheus"
	counter := func(n int) string {
		return fmt.Sprintf(`needlestorm_requests_total%s,status="200"} %d`, testBase, n)
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

	m := NewMetrics(WithRun("nightly-7"), WithCampaign("nightly"))
	recs := metricsTestRecords()
	for _, r := range recs {
		m.Completed(r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The server's root: completed to the import path.
	if err := m.StartPush(ctx, srv.URL, 50*time.Millisecond, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(pushes(periodic)); n == 0 {
		t.Fatalf("StartPush returned before its first push; requests: %+v", srv.Requests())
	}
	for deadline := time.Now().Add(10 * time.Second); len(pushes(periodic)) < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no periodic push within 10 s")
		}
	}
	for _, p := range pushes(periodic)[:2] {
		if body := pushBody(t, p); p.Method != http.MethodPost || !strings.Contains(body, counter(1)) || !strings.Contains(body, "# TYPE needlestorm_requests_total counter") {
			t.Errorf("push: %s, body:\n%s\nwant a POST holding %s and its metadata", p.Method, body, counter(1))
		}
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
	if err := m.StartPush(context.Background(), srv.URL, 0, nil); err == nil || !strings.Contains(err.Error(), "positive") {
		t.Errorf("StartPush every 0s: %v, want an error asking for a positive interval", err)
	}
}

// TestStartPushRefused: a server that answers the first push with an
// error (VictoriaMetrics answers 400 to a path it does not serve) or is
// not there stops StartPush, saying why, before any periodic push.
func TestStartPushRefused(t *testing.T) {
	srv := testkit.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "unsupported path requested: "+r.URL.Path, http.StatusBadRequest)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := NewMetrics().StartPush(ctx, srv.URL+"/vm/", time.Hour, nil)
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "unsupported path requested: /vm/api/v1/import/prometheus") {
		t.Errorf("StartPush to a server answering 400: %v, want an error holding its answer", err)
	}
	if n := srv.Len(); n != 1 {
		t.Errorf("%d pushes, want the first one only", n)
	}
	srv.Close()
	if err := NewMetrics().StartPush(ctx, srv.URL, time.Hour, nil); err == nil || !strings.Contains(err.Error(), "is VictoriaMetrics up") {
		t.Errorf("StartPush to a closed server: %v, want an error asking whether it is up", err)
	}
}

func TestPushURL(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "http://127.0.0.1:8428", want: "http://127.0.0.1:8428/api/v1/import/prometheus"},
		{in: "http://127.0.0.1:8428/", want: "http://127.0.0.1:8428/api/v1/import/prometheus"},
		{in: "https://vm.example/tenant/", want: "https://vm.example/tenant/api/v1/import/prometheus"},
		{in: "http://127.0.0.1:8428/api/v1/import/prometheus", want: "http://127.0.0.1:8428/api/v1/import/prometheus"},
		{in: "http://vminsert:8480/insert/0/prometheus/api/v1/import/prometheus?extra_label=ci=1",
			want: "http://vminsert:8480/insert/0/prometheus/api/v1/import/prometheus?extra_label=ci=1"},
		{in: "http://127.0.0.1:8428/api/v1/write", err: "is not VictoriaMetrics' import path; give the server's root (completed to /api/v1/import/prometheus) or the full import path: did you mean http://127.0.0.1:8428/api/v1/import/prometheus?"},
		{in: "http://vminsert:8480/insert/0/prometheus/api/v1/write", err: "did you mean http://vminsert:8480/insert/0/prometheus/api/v1/import/prometheus?"},
		{in: "http://proxy/vm", err: "did you mean http://proxy/vm/api/v1/import/prometheus?"},
		{in: "http://u:hunter2@vm:8428/import", err: "metrics push URL http://u:xxxxx@vm:8428/import: path /import is not"},
		{in: "localhost:8428", err: "give an http(s) URL with a host"},
		{in: "127.0.0.1:8428", err: "give an http(s) URL of VictoriaMetrics"},
		{in: "ftp://vm:8428/", err: "give an http(s) URL with a host"},
		{in: "", err: "give an http(s) URL with a host"},
	} {
		got, err := PushURL(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("PushURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("PushURL(%q) = %q, %v; want an error holding %q", tc.in, got, err, tc.err)
		case err != nil && strings.Contains(err.Error(), "hunter2"):
			t.Errorf("PushURL(%q): the error shows the password: %v", tc.in, err)
		}
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
