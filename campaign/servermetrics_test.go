package campaign

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
)

// executeInto runs a campaign into dir and returns the log.
func executeInto(t *testing.T, text, dir string, o ExecOptions) string {
	t.Helper()
	c, err := Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var log bytes.Buffer
	o.Log = &log
	if _, err := c.Execute(ctx, dir, o); err != nil {
		t.Fatalf("execute: %v\nlog:\n%s", err, log.String())
	}
	return log.String()
}

// TestExecuteServerMetrics: a sim target with server_metrics: /metrics
// (resolved on the simulator's own port, chosen at run time) gets its
// vLLM-named series scraped into server_metrics.jsonl, labelled with its
// stages; a target without server_metrics gets none, and a run without
// any writes no file.
func TestExecuteServerMetrics(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	log := executeInto(t, `
name: scrape
targets:
  - {name: scraped, kind: sim, sim_profile: fast, time_scale: 0, server_metrics: /metrics, server_metrics_interval: 100ms}
  - {name: plain, kind: sim, sim_profile: fast, time_scale: 0}
corpus:
  lengths: [300]
  depths: [50]
load:
  stages:
    - {rate: 20, duration: 1s, label: first}
    - {rate: 20, duration: 1s, label: second}
`, dir, ExecOptions{})
	if !strings.Contains(log, "target scraped: scraping http://127.0.0.1:") || !strings.Contains(log, "target scraped: server metrics: ") {
		t.Errorf("the log does not say what was scraped:\n%s", log)
	}
	samples, err := run.ReadServerMetricsFile(dir)
	if err != nil || len(samples) == 0 {
		t.Fatalf("server_metrics.jsonl: %d samples, %v\nlog:\n%s", len(samples), err, log)
	}
	metrics := map[string]bool{}
	for _, s := range samples {
		if s.Target != "scraped" {
			t.Errorf("a sample of target %q, which names no server_metrics", s.Target)
		}
		if s.Error != "" {
			t.Errorf("a failed scrape of the simulator: %s", s.Error)
			continue
		}
		metrics[s.Metric+" as "+s.Series] = true
		if s.Metric == "vllm:num_requests_running" && !(s.Stage == 0 && s.StageLabel == "first" || s.Stage == 1 && s.StageLabel == "second" || s.Stage == -1 && s.StageLabel == "") {
			t.Errorf("a sample with stage %d %q", s.Stage, s.StageLabel)
		}
	}
	for _, want := range []string{"vllm:num_requests_running as running", "vllm:num_requests_waiting as waiting", "vllm:kv_cache_usage_perc as kv_cache_usage", "vllm:prefix_cache_hits_total as prefix_cache_hits"} {
		if !metrics[want] {
			t.Errorf("no %s in %v", want, metrics)
		}
	}

	// The report shows them: a table per stage and the charts.
	if _, err := reports.Write(dir, reports.Options{}); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, reports.MarkdownFile))
	if !strings.Contains(string(md), "## Server metrics") || !strings.Contains(string(md), "| scraped | first | 20/s |") || !strings.Contains(string(md), "vllm:num\\_requests\\_running") {
		t.Errorf("summary.md has no server-metrics table for the scraped target:\n%s", md)
	}
	html, _ := os.ReadFile(filepath.Join(dir, reports.HTMLFile))
	if i := strings.Index(string(html), `data-chart="server-queue-depth"`); i < 0 || !strings.Contains(string(html[i:]), "<svg") {
		t.Errorf("report.html has no queue-depth chart")
	}
	if os.Getenv("NEEDLESTORM_KEEP_SCRAPE_REPORT") != "" {
		_ = os.WriteFile(os.Getenv("NEEDLESTORM_KEEP_SCRAPE_REPORT"), html, 0o644)
	}

	// Overwritten by a run without server_metrics: no file is left.
	executeInto(t, `
name: plain
targets:
  - {name: plain, kind: sim, sim_profile: fast, time_scale: 0}
corpus:
  lengths: [300]
  depths: [50]
load:
  stages:
    - {rate: 50, requests: 2}
`, dir, ExecOptions{Overwrite: true})
	if _, err := os.Stat(filepath.Join(dir, run.ServerMetricsFile)); !os.IsNotExist(err) {
		t.Errorf("a run without server_metrics left %s: %v", run.ServerMetricsFile, err)
	}
}

func TestServerMetricsValidation(t *testing.T) {
	for _, c := range []struct{ target, want string }{
		{`{name: a, kind: sim, server_metrics: "ftp://h/metrics"}`, "targets[0].server_metrics"},
		{`{name: a, kind: openai, model: m, base_url: "http://127.0.0.1:1/v1", server_metrics: "http://h/metrics?token=x"}`, "query string"},
		{`{name: a, kind: sim, server_metrics: /metrics, server_metrics_interval: 10ms}`, "targets[0].server_metrics_interval"},
	} {
		_, err := Parse("c.yaml", []byte("name: v\ntargets:\n  - "+c.target+"\ncorpus: {lengths: [300]}\nload: {stages: [{rate: 1, requests: 1}]}\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %q", c.target, err, c.want)
		}
	}
}
