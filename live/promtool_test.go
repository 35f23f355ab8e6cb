package live

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/internal/testkit"
	"github.com/needlestorm/needlestorm/run"
)

// promtoolScrape returns a scrape of /metrics over the test records and
// one more whose time to first token (0.3 s) falls in the bucket above the
// first's (0.12 s).
func promtoolScrape(t *testing.T) string {
	t.Helper()
	m := NewMetrics(WithRun("nightly-7"), WithCampaign("nightly"))
	recs := metricsTestRecords()
	slow := *recs[0]
	slow.Seq, slow.TTFT = 9, run.Seconds(300*time.Millisecond)
	for _, r := range append(recs, &slow) {
		m.Sent(r)
		m.Completed(r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	addr, err := m.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return scrape(t, "http://"+addr.String()+"/metrics")
}

// promtool runs promtool with args and stdin, returning its exit code and
// output.
func promtool(t *testing.T, bin, stdin string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		t.Fatalf("promtool %v: %v", args, err)
	}
	return 0, out.String()
}

// TestPromtoolCheckMetrics: Prometheus' own linter (promtool check metrics,
// from the Debian package prometheus) finds nothing to complain of in a
// scrape of /metrics: every family has help and a type, counters end in
// _total, units are base units.
func TestPromtoolCheckMetrics(t *testing.T) {
	bin := testkit.Binary(t, "prometheus", "promtool")
	text := promtoolScrape(t)
	if !strings.Contains(text, `needlestorm_ttft_seconds_bucket{run="nightly-7",campaign="nightly",target="sim",model="m1",stage="rate=4/s",length="1024",le="0.25"} 1`) {
		t.Fatalf("the scrape lacks Prometheus le buckets:\n%s", text)
	}
	code, out := promtool(t, bin, text, "check", "metrics")
	if code != 0 || strings.TrimSpace(out) != "" {
		t.Errorf("promtool check metrics: exit %d, said:\n%s\non the scrape:\n%s", code, out, text)
	}
	// The check does complain of what the metrics used to be: a counter
	// without help, as the library's own metadata writes it.
	code, out = promtool(t, bin, "# HELP needlestorm_requests_total\n# TYPE needlestorm_requests_total counter\nneedlestorm_requests_total 1\n", "check", "metrics")
	if code == 0 || !strings.Contains(out, "no help text") {
		t.Errorf("promtool check metrics on a counter without help: exit %d, said %q; want it to complain", code, out)
	}
}

// TestPromtoolHistogramQuantile: Prometheus' query engine (through promtool
// test rules) computes the query,
// histogram_quantile(q, sum by (le) (rate(needlestorm_ttft_seconds_bucket[2m]))),
// over the scraped buckets, taken as counters that rose from 0 in a
// minute. The two observations, 0.12 s and 0.3 s, fall in the buckets
// (0.1, 0.25] and (0.25, 0.5]: the median is the first's upper bound.
func TestPromtoolHistogramQuantile(t *testing.T) {
	bin := testkit.Binary(t, "prometheus", "promtool")
	var series strings.Builder
	sc := bufio.NewScanner(strings.NewReader(promtoolScrape(t)))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, famTTFT+"_bucket{") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		fmt.Fprintf(&series, "      - series: '%s'\n        values: '0 %s'\n", line[:i], line[i+1:])
	}
	if series.Len() == 0 {
		t.Fatal("the scrape has no ttft buckets")
	}
	test := `rule_files: []
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
` + series.String() + `    promql_expr_test:
      - expr: histogram_quantile(0.5, sum by (le) (rate(needlestorm_ttft_seconds_bucket{run="nightly-7"}[2m])))
        eval_time: 1m
        exp_samples:
          - labels: '{}'
            value: 0.25
`
	file := filepath.Join(t.TempDir(), "quantile_test.yml")
	if err := os.WriteFile(file, []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := promtool(t, bin, "", "test", "rules", file); code != 0 || !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules: exit %d, said:\n%s\non:\n%s", code, out, test)
	}
}
