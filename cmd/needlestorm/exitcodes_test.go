package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// exitTestTiny are the flags of a tiny run: one length, one depth, four
// requests.
var exitTestTiny = []string{"--lengths", "300", "--depths", "50", "--rates", "20", "--requests-per-stage", "4",
	"--stage-duration", "0", "--quiet"}

func exitTestRun(t *testing.T, args ...string) (int, string, string, error) {
	t.Helper()
	out, errOut, err := runTestApp(t, args...)
	return campaignTestExitCode(err), out, errOut, err
}

func TestExitEveryRequestFailed(t *testing.T) {
	// Every chat request gets a 400.
	srv := httptest.NewServer(&runTestOpenAI{status: http.StatusBadRequest, key: "k"})
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "run")
	args := append([]string{"run", "--target", srv.URL + "/v1", "--model", "m", "--no-preflight", "--out", dir}, exitTestTiny...)
	code, out, errOut, err := exitTestRun(t, args...)
	if code != exitUnmeasured || !strings.Contains(err.Error(), "nothing could be measured") || !strings.Contains(err.Error(), "every one of its 4 requests failed") {
		t.Fatalf("exit %d (%v), want %d: nothing measured\nstdout:\n%s\nstderr:\n%s", code, err, exitUnmeasured, out, errOut)
	}
}

func TestExitPreflightFailed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/v1"
	l.Close()
	args := append([]string{"run", "--target", closed, "--model", "m", "--connect-timeout", "2s", "--out", filepath.Join(t.TempDir(), "run")}, exitTestTiny...)
	code, _, errOut, err := exitTestRun(t, args...)
	if code != exitUnmeasured || !strings.Contains(err.Error(), "preflight") {
		t.Fatalf("exit %d (%v), want %d: preflight failed\nstderr:\n%s", code, err, exitUnmeasured, errOut)
	}
}

func TestExitObjectiveFailed(t *testing.T) {
	args := append([]string{"run", "--slo", "ttft_p95=1ns", "--sim-time-scale", "0", "--out", filepath.Join(t.TempDir(), "run")}, exitTestTiny...)
	code, out, errOut, err := exitTestRun(t, args...)
	if code != exitObjectives || !strings.Contains(err.Error(), "objectives failed") || !strings.Contains(err.Error(), "ttft_p95") {
		t.Fatalf("exit %d (%v), want %d: objectives failed\nstdout:\n%s\nstderr:\n%s", code, err, exitObjectives, out, errOut)
	}
	// The same run with --require a length beyond what was tested: the
	// requirement fails.
	args = append([]string{"run", "--require", "length=64k", "--sim-time-scale", "0", "--out", filepath.Join(t.TempDir(), "run")}, exitTestTiny...)
	if code, _, _, err = exitTestRun(t, args...); code != exitObjectives || !strings.Contains(err.Error(), "requirement") {
		t.Errorf("--require length=64k: exit %d (%v), want %d", code, err, exitObjectives)
	}
}

func TestExitReportOnlyObjective(t *testing.T) {
	path := campaignTestFile(t, `
name: gated
targets: [{name: s, kind: sim, sim_profile: fast, time_scale: 0}]
corpus: {lengths: [300], depths: [50]}
load: {stages: [{rate: 20, requests: 4}]}
slo:
  ttft_p95: {max: 1ns, gate: false}
`)
	dir := filepath.Join(t.TempDir(), "run")
	code, out, errOut, err := exitTestRun(t, "run", path, "--out", dir, "--quiet", "--no-preflight")
	if code != exitOK {
		t.Fatalf("exit %d (%v), want 0: the failing objective is report only\nstdout:\n%s\nstderr:\n%s", code, err, out, errOut)
	}
	if !strings.Contains(out, "report only, not gating: ttft_p95") {
		t.Errorf("the summary does not say ttft_p95 is report only:\n%s", out)
	}
	// Re-judged with the objective gating, the same records fail.
	code, _, _, err = exitTestRun(t, "report", dir, "--slo", "ttft_p95=1ns", "--out", filepath.Join(t.TempDir(), "rejudged"))
	if code != exitObjectives {
		t.Errorf("report --slo ttft_p95=1ns: exit %d (%v), want %d", code, err, exitObjectives)
	}
}

func TestExitUnknownCommand(t *testing.T) {
	for _, tc := range []struct{ arg, suggest string }{{"rn", "did you mean run?"}, {"reprot", "did you mean report?"}, {"xyzzy", ""}} {
		code, _, _, err := exitTestRun(t, tc.arg)
		if code != exitUsage || err == nil || !strings.Contains(err.Error(), `unknown command "`+tc.arg+`"`) || !strings.Contains(err.Error(), tc.suggest) {
			t.Errorf("needlestorm %s: exit %d (%v), want %d with %q", tc.arg, code, err, exitUsage, tc.suggest)
		}
		if tc.suggest == "" && strings.Contains(err.Error(), "did you mean") {
			t.Errorf("needlestorm %s suggests a far command: %v", tc.arg, err)
		}
	}
	if code, _, _, err := exitTestRun(t, "help", "rn"); code != exitUsage {
		t.Errorf("needlestorm help rn: exit %d (%v), want %d", code, err, exitUsage)
	}
	out, _, err := runTestApp(t, "--help")
	if err != nil || !strings.Contains(out, "EXIT STATUS:") || !strings.Contains(out, "99 ") || !strings.Contains(out, "130 ") {
		t.Errorf("--help (%v) does not list the exit statuses:\n%s", err, out)
	}
}
