package reports

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/needlestorm/needlestorm/internal/testkit"
	"github.com/needlestorm/needlestorm/run"
)

// artifactDir is where the screenshot goes: $NEEDLESTORM_ARTIFACTS when set
// (CI keeps it), else a temporary directory.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("NEEDLESTORM_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("NEEDLESTORM_ARTIFACTS: %v", err)
		}
		return d
	}
	return t.TempDir()
}

// headless runs Chromium on the page with the network shut off and returns
// its stdout and stderr.
func headless(t *testing.T, bin, windowSize string, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir(),
		"--host-resolver-rules=MAP * ~NOTFOUND",
		"--enable-logging=stderr", "--v=0",
		"--window-size=" + windowSize,
	}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String(), stderr.String()
}

// consoleProblem matches Chromium's log lines for console errors and
// uncaught exceptions, and failed loads.
var consoleProblem = regexp.MustCompile(`(?i)(CONSOLE\(\d+\)\].*(error|uncaught))|Uncaught|net::ERR_|Failed to load resource`)

func TestReportInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	bin := testkit.Binary(t, "chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
	dir := writeRun(t, run.StatusComplete, "")
	obj, _ := ParseSLO("ttft_p95=2s,error_rate=0.05")
	if _, err := Write(dir, Options{Objectives: obj}); err != nil {
		t.Fatal(err)
	}
	url := "file://" + filepath.Join(dir, HTMLFile)

	dom, logs := headless(t, bin, "1400,3000", "--virtual-time-budget=3000", "--dump-dom", url)
	for _, line := range strings.Split(logs, "\n") {
		if consoleProblem.MatchString(line) {
			t.Errorf("console: %s", line)
		}
	}
	doc, err := html.Parse(strings.NewReader(dom))
	if err != nil {
		t.Fatal(err)
	}
	sized, figures := 0, 0
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "figure" {
			figures++
			for _, a := range n.Attr {
				if a.Key != "data-rendered" {
					continue
				}
				var w, h int
				if _, err := fmtSscanf(a.Val, &w, &h); err == nil && w > 100 && h > 50 {
					sized++
				} else {
					t.Errorf("a chart rendered at %q", a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if figures == 0 || sized != figures {
		t.Errorf("%d of %d charts have a size on the page (did the inline script run?)", sized, figures)
	}

	shot := filepath.Join(artifactDir(t), "report.png")
	headless(t, bin, "1400,7000", "--screenshot="+shot, "--hide-scrollbars", url)
	if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
		t.Errorf("screenshot %s: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)
}

// fmtSscanf reads "WxH".
func fmtSscanf(s string, w, h *int) (int, error) {
	return fmt.Sscanf(s, "%dx%d", w, h)
}
