package scrape

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/run"
)

// memSink keeps what it is given.
type memSink struct {
	mu      sync.Mutex
	batches [][]run.ServerSample
}

func (m *memSink) Write(s []run.ServerSample) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.batches = append(m.batches, s)
	return nil
}

func (m *memSink) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.batches)
}

const vllmBody = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="m"} 3.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="m"} 7.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.25
# HELP vllm:prefix_cache_queries_total Prefix cache queries, in terms of number of queried tokens.
# TYPE vllm:prefix_cache_queries_total counter
vllm:prefix_cache_queries_total{engine="0",model_name="m"} %d.0
# HELP vllm:prefix_cache_hits_total Prefix cache hits, in terms of number of cached tokens.
# TYPE vllm:prefix_cache_hits_total counter
vllm:prefix_cache_hits_total{engine="0",model_name="m"} %d.0
# HELP vllm:prefix_cache_hits_created Prefix cache hits, in terms of number of cached tokens.
# TYPE vllm:prefix_cache_hits_created gauge
vllm:prefix_cache_hits_created{engine="0",model_name="m"} 1.7e+09
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",model_name="m"} 0.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="m"} 5.0
vllm:time_to_first_token_seconds_count{engine="0",model_name="m"} 5.0
vllm:time_to_first_token_seconds_sum{engine="0",model_name="m"} 1.5
# HELP python_gc_objects_collected_total Objects collected during gc
# TYPE python_gc_objects_collected_total counter
python_gc_objects_collected_total{generation="0"} 1234.0
this line would not parse {{{ if it were kept
`

func newScraper(t *testing.T, cfg Config) (*Scraper, *memSink) {
	t.Helper()
	sink := &memSink{}
	cfg.Sink = sink
	if cfg.Target == "" {
		cfg.Target = "t"
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, sink
}

func bySeries(samples []run.ServerSample) map[string]run.ServerSample {
	out := map[string]run.ServerSample{}
	for _, s := range samples {
		out[s.Series] = s
	}
	return out
}

func TestScrapeParsesAndFilters(t *testing.T) {
	var mu sync.Mutex
	queries, hits := 100, 40
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, vllmBody, queries, hits)
		queries, hits = queries+100, hits+25
	}))
	defer srv.Close()
	s, _ := newScraper(t, Config{URL: srv.URL + "/metrics", Target: "vllm"})
	s.SetStage(2, "rate=4/s")
	first := s.Scrape(context.Background())
	got := bySeries(first)
	if len(first) != 5 {
		t.Fatalf("first scrape: %d samples, want 5 (the noise filtered out): %+v", len(first), first)
	}
	for series, want := range map[string]float64{run.SeriesRunning: 3, run.SeriesWaiting: 7, run.SeriesKVCacheUsage: 0.25, run.SeriesPrefixCacheQueries: 100, run.SeriesPrefixCacheHits: 40} {
		smp, ok := got[series]
		if !ok || smp.Value == nil || *smp.Value != want {
			t.Errorf("series %s: %+v, want value %g", series, smp, want)
		}
		if smp.Target != "vllm" || smp.Stage != 2 || smp.StageLabel != "rate=4/s" || smp.Error != "" {
			t.Errorf("series %s: target/stage/error %q %d %q %q", series, smp.Target, smp.Stage, smp.StageLabel, smp.Error)
		}
	}
	if m := got[run.SeriesRunning]; m.Metric != "vllm:num_requests_running" || m.Labels["model_name"] != "m" {
		t.Errorf("raw name and labels not kept: %+v", m)
	}
	if _, ok := got[run.SeriesPrefixCacheHitRate]; ok {
		t.Errorf("a hit rate from one scrape: it needs two")
	}
	second := bySeries(s.Scrape(context.Background()))
	hr, ok := second[run.SeriesPrefixCacheHitRate]
	if !ok || hr.Value == nil || *hr.Value != 0.25 {
		t.Errorf("hit rate between scrapes: %+v, want 25/100", hr)
	}
	if st := s.Stats(); st.Scrapes != 2 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestFilterKeepsOnlyKnownLines(t *testing.T) {
	out := string(filter([]byte(fmt.Sprintf(vllmBody, 1, 1))))
	for _, bad := range []string{"_bucket", "python_gc", "would not parse", "_created"} {
		if strings.Contains(out, bad) {
			t.Errorf("filtered text holds %q:\n%s", bad, out)
		}
	}
	if !strings.Contains(out, "# TYPE vllm:num_requests_waiting gauge") {
		t.Errorf("the TYPE line of a known metric was dropped:\n%s", out)
	}
}

func TestScrapeOtherServers(t *testing.T) {
	body := `# HELP llamacpp:requests_processing Number of requests processing.
# TYPE llamacpp:requests_processing gauge
llamacpp:requests_processing 2
# TYPE llamacpp:requests_deferred gauge
llamacpp:requests_deferred 1
# TYPE llamacpp:kv_cache_usage_ratio gauge
llamacpp:kv_cache_usage_ratio 0.5
# TYPE tgi_queue_size gauge
tgi_queue_size 4
tgi_batch_current_size 6
`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(body)) }))
	defer srv.Close()
	s, _ := newScraper(t, Config{URL: srv.URL + "/metrics"})
	samples := s.Scrape(context.Background())
	if len(samples) != 5 {
		t.Fatalf("%d samples: %+v", len(samples), samples)
	}
	sum := map[string]float64{}
	for _, smp := range samples {
		sum[smp.Series] += *smp.Value
	}
	if sum[run.SeriesRunning] != 8 || sum[run.SeriesWaiting] != 5 || sum[run.SeriesKVCacheUsage] != 0.5 {
		t.Errorf("sums %v", sum)
	}
}

func TestScrapeSeriesCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "# TYPE vllm:num_requests_running gauge")
		for i := range 100 {
			fmt.Fprintf(w, "vllm:num_requests_running{engine=\"%d\"} 1\n", i)
		}
	}))
	defer srv.Close()
	s, _ := newScraper(t, Config{URL: srv.URL})
	for range 2 {
		if n := len(s.Scrape(context.Background())); n != MaxSeries {
			t.Errorf("%d samples, want the cap %d", n, MaxSeries)
		}
	}
	if st := s.Stats(); st.Dropped != 2*(100-MaxSeries) {
		t.Errorf("dropped %d, want %d", st.Dropped, 2*(100-MaxSeries))
	}
}

func TestScrapeBodyCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("vllm:num_requests_running 1\n", 1<<15))
		for n := 0; n <= MaxBody; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	s, _ := newScraper(t, Config{URL: srv.URL, Interval: MaxInterval})
	samples := s.Scrape(context.Background())
	if len(samples) != 1 || !strings.Contains(samples[0].Error, "8 MiB") || samples[0].Value != nil {
		t.Fatalf("an oversized body: %+v, want one failed sample naming the cap", samples)
	}
}

func TestScrapeTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer srv.Close()
	defer close(release)
	s, _ := newScraper(t, Config{URL: srv.URL, Interval: 100 * time.Millisecond})
	done := make(chan []run.ServerSample, 1)
	go func() { done <- s.Scrape(context.Background()) }()
	select {
	case samples := <-done:
		if len(samples) != 1 || !strings.Contains(samples[0].Error, "no response within 100ms") {
			t.Fatalf("a hanging server: %+v", samples)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("the scrape of a hanging server did not time out")
	}
}

func TestScrapeGarbage(t *testing.T) {
	for name, body := range map[string]string{
		"binary":         "\x00\x01\x1b[31mhello\x7f",
		"bad value":      "vllm:num_requests_running abc\n",
		"html":           "<html><body>login</body></html>",
		"type conflicts": "# TYPE vllm:num_requests_running counter\n# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running 1\n",
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(body)) }))
			defer srv.Close()
			s, _ := newScraper(t, Config{URL: srv.URL})
			samples := s.Scrape(context.Background())
			if len(samples) != 1 || samples[0].Error == "" || samples[0].Value != nil {
				t.Fatalf("%+v, want one failed sample", samples)
			}
			if strings.ContainsAny(samples[0].Error, "\x00\x1b\n") {
				t.Errorf("unsanitised error %q", samples[0].Error)
			}
			if st := s.Stats(); st.Failed != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestScrapeStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusForbidden)
	}))
	defer srv.Close()
	s, _ := newScraper(t, Config{URL: srv.URL + "/metrics"})
	if samples := s.Scrape(context.Background()); len(samples) != 1 || !strings.Contains(samples[0].Error, "HTTP 403") {
		t.Fatalf("%+v", samples)
	}
}

func TestKeySentOnlySameOrigin(t *testing.T) {
	const key = "Bearer sk-test-secret-1234"
	var mu sync.Mutex
	var got []string
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization")+"|"+r.Header.Get("X-Team"))
		mu.Unlock()
		_, _ = w.Write([]byte("vllm:num_requests_running 1\n"))
	}))
	defer metrics.Close()
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	headers := http.Header{"Authorization": {key}, "X-Team": {"blue"}}
	for _, c := range []struct {
		origin string
		send   bool
	}{
		{metrics.URL + "/v1", true},
		{other.URL + "/v1", false},
		{strings.Replace(metrics.URL, "http://", "https://", 1) + "/v1", false},
	} {
		s, _ := newScraper(t, Config{URL: metrics.URL + "/metrics", Origin: c.origin, Headers: headers})
		if s.SendsHeaders() != c.send {
			t.Errorf("origin %s: SendsHeaders %v, want %v", c.origin, s.SendsHeaders(), c.send)
		}
		s.Scrape(context.Background())
	}
	want := []string{key + "|blue", "|", "|"}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("headers seen %q, want %q", got, want)
	}
}

func TestRedirectDropsHeaders(t *testing.T) {
	var seen string
	far := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Get("Authorization") + r.Header.Get("X-Api-Key")
		_, _ = w.Write([]byte("vllm:num_requests_running 1\n"))
	}))
	defer far.Close()
	near := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, far.URL+"/metrics", http.StatusFound)
	}))
	defer near.Close()
	s, _ := newScraper(t, Config{URL: near.URL + "/metrics", Origin: near.URL, Headers: http.Header{"Authorization": {"Bearer k"}, "X-Api-Key": {"k2"}}})
	if samples := s.Scrape(context.Background()); len(samples) != 1 || samples[0].Error != "" {
		t.Fatalf("%+v", samples)
	}
	if seen != "" {
		t.Errorf("the redirect carried the key to another origin: %q", seen)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("vllm:num_requests_running 1\n"))
	}))
	defer srv.Close()
	s, sink := newScraper(t, Config{URL: srv.URL, Interval: MinInterval})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	deadline := time.After(10 * time.Second)
	for sink.count() < 2 {
		select {
		case <-deadline:
			t.Fatal("no two scrapes within 10s")
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop when its context ended")
	}
	n := sink.count()
	time.Sleep(3 * MinInterval)
	if sink.count() != n {
		t.Errorf("samples written after Run returned")
	}
}

func TestCheckURL(t *testing.T) {
	for raw, want := range map[string]string{
		"ftp://h/metrics":                 "http:// or https://",
		"http://user:pw@h:1/metrics":      "user name or password",
		"http://h:1/metrics?token=secret": "query string",
		"http://h:1/metrics?":             "query string",
		"metrics":                         "http:// or https://",
		"http://":                         "no host",
	} {
		_, err := CheckURL(raw)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckURL(%q) = %v, want an error saying %q", raw, err, want)
		}
		if err != nil && (strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "pw")) {
			t.Errorf("CheckURL(%q) repeats a secret: %v", raw, err)
		}
	}
	if _, err := CheckURL("https://h:8443/metrics"); err != nil {
		t.Errorf("a good URL refused: %v", err)
	}
	if _, err := New(Config{URL: "http://h/metrics", Interval: time.Millisecond, Sink: &memSink{}}); err == nil {
		t.Errorf("an interval of 1ms accepted")
	}
}

func TestSanitise(t *testing.T) {
	s, _ := newScraper(t, Config{URL: "http://h/metrics", Secrets: []string{"sk-abcdef"}})
	got := s.sanitise("bad sk-abcdef\x1b[2J\nnext" + strings.Repeat("x", 1000))
	if strings.Contains(got, "sk-abcdef") || strings.ContainsAny(got, "\x1b\n") || len(got) > maxError+3 {
		t.Errorf("sanitise: %q", got)
	}
}
