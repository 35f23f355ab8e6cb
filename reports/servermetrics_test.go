package reports

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/run"
)

// writeServerMetrics writes a server_metrics.jsonl for target a: a scrape
// before the first stage, then stage 0 (running 2 then 4, waiting 0, KV 0.2
// then 0.4, 100 queries of which 25 hit), a failed scrape, and stage 1 with
// two engines (running 3+3, KV 0.5 and 0.7) and a counter reset.
func writeServerMetrics(t *testing.T, dir string) {
	t.Helper()
	w, err := run.CreateServerMetrics(dir)
	if err != nil {
		t.Fatal(err)
	}
	v := func(f float64) *float64 { return &f }
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	scrape := func(sec, stage int, label string, vals ...any) []run.ServerSample {
		var out []run.ServerSample
		for i := 0; i+2 < len(vals)+1; i += 3 {
			out = append(out, run.ServerSample{Time: at(sec), Target: "a", Stage: stage, StageLabel: label,
				Series: vals[i].(string), Metric: "vllm:" + vals[i].(string), Labels: map[string]string{"engine": vals[i+2].(string)}, Value: v(vals[i+1].(float64))})
		}
		return out
	}
	var all []run.ServerSample
	all = append(all, scrape(0, -1, "", run.SeriesPrefixCacheHits, 0.0, "0", run.SeriesPrefixCacheQueries, 0.0, "0")...)
	all = append(all, scrape(1, 0, "rate=1/s", run.SeriesRunning, 2.0, "0", run.SeriesWaiting, 0.0, "0", run.SeriesKVCacheUsage, 0.2, "0", run.SeriesPrefixCacheHits, 10.0, "0", run.SeriesPrefixCacheQueries, 40.0, "0")...)
	all = append(all, scrape(2, 0, "rate=1/s", run.SeriesRunning, 4.0, "0", run.SeriesWaiting, 0.0, "0", run.SeriesKVCacheUsage, 0.4, "0", run.SeriesPrefixCacheHits, 25.0, "0", run.SeriesPrefixCacheQueries, 100.0, "0")...)
	all = append(all, run.ServerSample{Time: at(3), Target: "a", Stage: 0, StageLabel: "rate=1/s", Error: "HTTP 503 " + planted})
	all = append(all, scrape(4, 1, planted, run.SeriesRunning, 3.0, "0", run.SeriesRunning, 3.0, "1", run.SeriesKVCacheUsage, 0.5, "0", run.SeriesKVCacheUsage, 0.7, "1", run.SeriesWaiting, 5.0, "0", run.SeriesPrefixCacheHits, 1.0, "0", run.SeriesPrefixCacheQueries, 2.0, "0")...)
	if err := w.Write(all); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestServerMetricsReport(t *testing.T) {
	dir := writeRun(t, run.StatusComplete, "")
	writeServerMetrics(t, dir)
	s, err := Write(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ServerMetrics) != 2 {
		t.Fatalf("%d stages: %+v", len(s.ServerMetrics), s.ServerMetrics)
	}
	st0, st1 := s.ServerMetrics[0], s.ServerMetrics[1]
	if st0.Scrapes != 2 || st0.Failed != 1 || st0.Running == nil || st0.Running.Mean != 3 || st0.Running.Max != 4 ||
		st0.KVCacheUsage == nil || st0.KVCacheUsage.Max != 0.4 || st0.PrefixCacheHitRate == nil || *st0.PrefixCacheHitRate != 0.25 || st0.AskedRate == 0 {
		t.Errorf("stage 0: %+v", st0)
	}
	if st1.Running == nil || st1.Running.Max != 6 || st1.KVCacheUsage == nil || st1.KVCacheUsage.Mean != 0.6 || st1.Waiting.Max != 5 || st1.PrefixCacheHitRate != nil {
		t.Errorf("stage 1 (two engines summed and averaged; a counter reset gives no hit rate): %+v", st1)
	}

	// The terminal: one line per target, with the peaks and their stages.
	if txt := s.Text(); !strings.Contains(txt, "server metrics of a: 3 scrapes, 1 failed, running at most 6 (") || !strings.Contains(txt, "KV cache at most ") {
		t.Errorf("terminal summary:\n%s", txt)
	}
	md, _ := os.ReadFile(filepath.Join(dir, MarkdownFile))
	if !strings.Contains(string(md), "## Server metrics") || !strings.Contains(string(md), "| a | rate=1/s | 1/s | 3.0 / 4 | 0.0 / 0 | 30% / 40% | 25% | 2 | 1 |") {
		t.Errorf("summary.md section:\n%s", md[strings.Index(string(md), "## Server metrics"):])
	}
	if strings.Contains(string(md), "<script>") {
		t.Errorf("summary.md carries a raw <script>")
	}
	var sum struct {
		ServerMetrics []ServerMetricsStage `json:"server_metrics"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, JSONFile))
	if err := json.Unmarshal(b, &sum); err != nil || len(sum.ServerMetrics) != 2 || sum.ServerMetrics[0].Running.N != 2 {
		t.Errorf("summary.json server_metrics: %v %+v", err, sum.ServerMetrics)
	}
	html, _ := os.ReadFile(filepath.Join(dir, HTMLFile))
	h := string(html)
	for _, want := range []string{`id="server-metrics"`, `data-chart="server-queue-depth"`, `data-chart="server-kv-cache"`, "vllm:running"} {
		if !strings.Contains(h, want) {
			t.Errorf("report.html lacks %s", want)
		}
	}
	i := strings.Index(h, `data-chart="server-queue-depth"`)
	if i < 0 || !strings.Contains(h[i:min(len(h), i+4000)], "<svg") {
		t.Errorf("the queue-depth chart has no SVG")
	}
	if strings.Contains(h, planted) {
		t.Errorf("report.html carries the planted <script> unescaped")
	}
}

func TestServerMetricsAbsent(t *testing.T) {
	dir := writeRun(t, run.StatusComplete, "")
	s, err := Write(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, MarkdownFile))
	html, _ := os.ReadFile(filepath.Join(dir, HTMLFile))
	js, _ := os.ReadFile(filepath.Join(dir, JSONFile))
	if s.ServerMetrics != nil || strings.Contains(s.Text(), "server metrics") || strings.Contains(string(md), "Server metrics") || strings.Contains(string(html), "server-metrics") || strings.Contains(string(js), "server_metrics") {
		t.Errorf("a run without server_metrics.jsonl shows a server-metrics section")
	}
	// A torn last line (an interrupted run) keeps what is whole.
	writeServerMetrics(t, dir)
	f, _ := os.OpenFile(filepath.Join(dir, run.ServerMetricsFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"time":"2025-03-01T12:00:09Z","targ`)
	f.Close()
	s, err = Load(dir, Options{})
	if err != nil || len(s.ServerMetrics) != 2 || !strings.Contains(s.Run.Note, "half-written") {
		t.Errorf("torn file: %v, %d stages, note %q", err, len(s.ServerMetrics), s.Run.Note)
	}
}
