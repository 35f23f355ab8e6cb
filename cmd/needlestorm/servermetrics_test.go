package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/run"
)

// TestRunServerMetricsFlag: --server-metrics /metrics scrapes the built-in
// simulator into server_metrics.jsonl; a bad URL is refused naming the flag.
func TestRunServerMetricsFlag(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	_, errOut, err := runTestApp(t, "run", "--lengths", "300", "--depths", "50", "--rates", "20", "--stage-duration", "500ms",
		"--sim-time-scale", "0", "--server-metrics", "/metrics", "--server-metrics-interval", "100ms", "--out", dir, "--quiet")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut)
	}
	samples, err := run.ReadServerMetricsFile(dir)
	if err != nil || len(samples) == 0 || samples[0].Metric == "" || !strings.HasPrefix(samples[0].Metric, "vllm:") {
		t.Fatalf("server_metrics.jsonl: %v, %+v", err, samples)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "summary.md"))
	if !strings.Contains(string(md), "## Server metrics") {
		t.Errorf("summary.md has no server-metrics section")
	}

	_, errOut, err = runTestApp(t, "run", "--lengths", "300", "--server-metrics", "http://h/metrics?token=1", "--dry-run", "--out", filepath.Join(t.TempDir(), "r"))
	if err == nil || !strings.Contains(err.Error()+errOut, "--server-metrics") || !strings.Contains(err.Error()+errOut, "query string") {
		t.Errorf("a metrics URL with a query: %v\n%s", err, errOut)
	}
}
