package sim

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrapeSim GETs /metrics and parses it.
func scrapeSim(t *testing.T, url string) (map[string]float64, string) {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %s %q\n%s", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			if f.GetType() == dto.MetricType_COUNTER {
				out[name] += m.GetCounter().GetValue()
			} else {
				out[name] += m.GetGauge().GetValue()
			}
		}
	}
	return out, string(body)
}

func TestMetricsVLLMNames(t *testing.T) {
	_, ts := startTest(t, testConfig(t, func(c *Config) { c.PrefixCacheBlocks = 10_000 }))
	got, body := scrapeSim(t, ts.URL)
	for _, name := range []string{"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc", "vllm:prefix_cache_queries_total", "vllm:prefix_cache_hits_total"} {
		if v, ok := got[name]; !ok || v != 0 {
			t.Errorf("%s on an idle server: %v, %v\n%s", name, v, ok, body)
		}
	}
	if !strings.Contains(body, "# TYPE vllm:prefix_cache_hits_total counter") || !strings.Contains(body, `model_name="`) {
		t.Errorf("/metrics:\n%s", body)
	}
	prompt := words(400)
	for range 2 {
		if resp, out := post(t, ts.Client(), ts.URL+"/v1/chat/completions", chatBody(prompt, false)); resp == nil || resp.StatusCode != 200 {
			t.Fatalf("chat: %s", out)
		}
	}
	got, body = scrapeSim(t, ts.URL)
	q, h := got["vllm:prefix_cache_queries_total"], got["vllm:prefix_cache_hits_total"]
	if q < 800 || h <= 0 || h > q/2 {
		t.Errorf("the same prompt twice: queries %v, hits %v; want ~2x400 queried and the second's blocks hit\n%s", q, h, body)
	}
	if got["vllm:num_requests_running"] != 0 || got["vllm:kv_cache_usage_perc"] != 0 {
		t.Errorf("after the requests ended:\n%s", body)
	}
	resp, err := http.Post(ts.URL+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %s", resp.Status)
	}
}

// TestMetricsInFlight: a request held in prefill shows as running, with
// its tokens in the KV cache, and a second one queued behind it as waiting.
func TestMetricsInFlight(t *testing.T) {
	_, ts := startTest(t, testConfig(t, func(c *Config) { c.TimeScale = 1; c.PrefillTPS = 1; c.MaxSeqs = 1; c.Queue = 4 }))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{}, 2)
	for range 2 {
		go func() {
			defer func() { done <- struct{}{} }()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/chat/completions", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"`+words(50)+`"}]}`))
			if resp, err := ts.Client().Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	var got map[string]float64
	var body string
	for i := 0; ; i++ {
		got, body = scrapeSim(t, ts.URL)
		if got["vllm:num_requests_running"] == 1 && got["vllm:num_requests_waiting"] == 1 {
			break
		}
		if i == 500 {
			t.Fatalf("two requests, one slot: never saw 1 running and 1 waiting:\n%s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if u := got["vllm:kv_cache_usage_perc"]; u <= 0 || u > 1 {
		t.Errorf("kv_cache_usage_perc %v with a request running, want a fraction in (0, 1]", u)
	}
	cancel()
	for range 2 {
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("the requests did not end")
		}
	}
	for i := 0; ; i++ {
		got, body = scrapeSim(t, ts.URL)
		if got["vllm:num_requests_running"] == 0 && got["vllm:num_requests_waiting"] == 0 && got["vllm:kv_cache_usage_perc"] == 0 {
			break
		}
		if i == 500 {
			t.Fatalf("the server never went idle:\n%s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
