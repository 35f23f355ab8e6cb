package sim_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/internal/testkit"
	"github.com/needlestorm/needlestorm/sim"
)

// TestMetricsPromtool: Prometheus' own linter (promtool check metrics,
// from the Debian package prometheus) finds nothing to complain of in the
// simulator's /metrics but the one thing vLLM's own /metrics shares: its
// names hold a colon (a convention for recording rules, which vLLM does not
// follow and the simulator copies). A parse error, a missing HELP or TYPE,
// or a counter not ending in _total would be complained of too.
func TestMetricsPromtool(t *testing.T) {
	bin := testkit.Binary(t, "prometheus", "promtool")
	cfg, err := sim.Profile("fast")
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "vllm:num_requests_running") {
		t.Fatalf("/metrics lacks vLLM's names:\n%s", body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "check", "metrics")
	cmd.Stdin = strings.NewReader(string(body))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) {
		t.Fatalf("promtool check metrics: %v (exit 3 is lint findings; anything else a failure), said:\n%s\non:\n%s", err, out, body)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" && !(strings.HasPrefix(line, "vllm:") && strings.HasSuffix(line, " metric names should not contain ':'")) {
			t.Errorf("promtool check metrics complains: %q\non:\n%s", line, body)
		}
	}
}
