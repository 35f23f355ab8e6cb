package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/reports"
)

// compareTestCampaign is a tiny nightly campaign on one simulated target:
// two lengths, 20 cases each, sent once at 40/s. sim holds the target's
// simulator overrides. Time runs at half speed, so that the simulated
// latencies (tens of milliseconds and more where they matter) stand far
// above a loaded machine's scheduling delays; for the same reason a send
// may be 200 ms late before the client counts as the bottleneck (on a busy
// 2-core machine under the race detector a few sends at 40/s are late by
// 20 ms, which would keep the stage out of the envelope in one run and
// not the other: a "regression" of the test machine). Latency changes
// under 400 ms do not count (regression.latency_floor): the fast profile
// answers in milliseconds, and on a heavily loaded machine the p95 of
// identical runs moved by up to 180 ms; the latency regression the tests
// look for is a second and more.
func compareTestCampaign(t *testing.T, sim string) string {
	t.Helper()
	return campaignTestFile(t, fmt.Sprintf(`
name: nightly
targets:
  - {name: model, kind: sim, sim_profile: fast, time_scale: 0.5, sim: {%s}}
corpus: {lengths: [500, 2000], depths: [50], samples: 20, seed: 3}
load: {stages: [{rate: 40, requests: 40}]}
slo: {ttft_p95: 5s, send_lag: 200ms}
accuracy: {threshold: 0.7}
regression: {latency_floor: 400ms}
`, sim))
}

// compareTestRun runs a campaign into a fresh run directory, whatever its
// objectives say.
func compareTestRun(t *testing.T, path string, args ...string) (string, int, string, error) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	// One nonce salt: the same prompts in every run, so that the same
	// configuration draws the same answers.
	out, errOut, err := runTestApp(t, append([]string{"run", path, "--out", dir, "--quiet", "--no-preflight", "--nonce-salt", "7"}, args...)...)
	if _, serr := os.Stat(filepath.Join(dir, reports.EnvelopeFile)); serr != nil {
		t.Fatalf("run %s: %v (%v)\nstdout:\n%s\nstderr:\n%s", path, serr, err, out, errOut)
	}
	return dir, campaignTestExitCode(err), out, err
}

// compareTestStatuses reads a regression.json: status by
// "length/metric" ("all" for target-wide metrics).
func compareTestStatuses(t *testing.T, path string) (map[string]string, *reports.Regression) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r reports.Regression
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range r.Changes {
		l := "all"
		if c.Length > 0 {
			l = fmt.Sprint(c.Length)
		}
		out[l+"/"+c.Metric] = c.Status
	}
	return out, &r
}

// compareTestHead is the start of a valid campaign file.
const compareTestHead = "targets: [{name: a, kind: sim}]\ncorpus: {lengths: [1k]}\nload: {stages: [{rate: 1, duration: 1s}]}\n"

// compareTestBaseline is one baseline run shared by the compare tests.
func compareTestBaseline(t *testing.T) string {
	t.Helper()
	dir, _, _, _ := compareTestRun(t, compareTestCampaign(t, "base_accuracy: 0.95"))
	return dir
}

func TestCompareSimRuns(t *testing.T) {
	base := compareTestBaseline(t)
	tests := []struct {
		name, sim string
		wantCode  int
		regressed []string // length/metric that must regress
		ok        []string // and that must not
	}{
		{"identical configuration and seed", "base_accuracy: 0.95", exitOK, nil,
			[]string{"all/effective_context", "500/accuracy", "2000/accuracy", "500/ttft_p95", "2000/max_rate"}},
		{"lower accuracy", "base_accuracy: 0.4", exitObjectives, []string{"500/accuracy", "2000/accuracy", "all/effective_context"}, []string{"500/ttft_p95"}},
		// 250 prefill tokens/s: 2 s for 500 tokens, 8 s for 2,000
		// (halved by the time scale), against a few milliseconds.
		{"slower prefill", "base_accuracy: 0.95, prefill_tps: 250", exitObjectives, []string{"500/ttft_p95", "2000/ttft_p95"}, []string{"500/accuracy", "all/effective_context"}},
		// A 1,000-token window rejects the 2,000-token prompts.
		{"smaller window", "base_accuracy: 0.95, context_window: 1000", exitObjectives,
			[]string{"all/effective_context", "2000/accuracy", "2000/error_rate", "2000/max_rate"}, []string{"500/accuracy", "500/error_rate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur, _, _, _ := compareTestRun(t, compareTestCampaign(t, tt.sim))
			files := t.TempDir()
			md, junit, js := filepath.Join(files, "r.md"), filepath.Join(files, "r.xml"), filepath.Join(files, "r.json")
			out, errOut, err := runTestApp(t, "compare", base, cur, "--latency-floor", "400ms", "--markdown", md, "--junit", junit, "--json", js)
			if code := campaignTestExitCode(err); code != tt.wantCode {
				t.Fatalf("compare: exit %d (%v), want %d\n%s\n%s", code, err, tt.wantCode, out, errOut)
			}
			status, _ := compareTestStatuses(t, js)
			for _, k := range tt.regressed {
				if status[k] != reports.ChangeRegressed {
					t.Errorf("%s: %q, want regressed\n%s", k, status[k], out)
				}
			}
			for _, k := range tt.ok {
				if status[k] == reports.ChangeRegressed || status[k] == "" {
					t.Errorf("%s: %q, want compared and not regressed\n%s", k, status[k], out)
				}
			}
			for _, f := range []string{md, junit} {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if tt.wantCode == exitObjectives && !strings.Contains(string(b), "regress") {
					t.Errorf("%s does not say what regressed:\n%s", f, b)
				}
			}
		})
	}
}

func TestCompareWithinNoise(t *testing.T) {
	base := compareTestBaseline(t)
	// A few points less accurate: beyond a 2-point threshold, but not
	// significantly so on 20 requests per length.
	cur, _, _, _ := compareTestRun(t, compareTestCampaign(t, "base_accuracy: 0.85"))
	js := filepath.Join(t.TempDir(), "r.json")
	out, _, err := runTestApp(t, "compare", base, cur, "--threshold", "accuracy_drop=2pt", "--json", js)
	if code := campaignTestExitCode(err); code != exitOK {
		t.Fatalf("compare: exit %d (%v), want 0: the drop is within noise\n%s", code, err, out)
	}
	_, r := compareTestStatuses(t, js)
	dropped := 0
	for _, c := range r.Changes {
		if c.Metric != reports.CmpAccuracy || c.Delta == nil {
			continue
		}
		if *c.Delta < -2 {
			dropped++
			if c.Status != reports.ChangeNoise || c.PValue == nil || *c.PValue < r.Alpha {
				t.Errorf("at %d: accuracy %+.1fpt is %q (p %v), want within noise", c.Length, *c.Delta, c.Status, c.PValue)
			}
		}
	}
	if dropped == 0 {
		t.Fatalf("no length dropped more than 2 points, so the test shows nothing:\n%s", out)
	}
}

func TestCompareUsage(t *testing.T) {
	base := compareTestBaseline(t)
	other := campaignTestFile(t, `
name: nightly
targets: [{name: model, kind: sim, sim_profile: fast, time_scale: 0}]
corpus: {lengths: [500], depths: [50], samples: 2, seed: 3}
load: {stages: [{rate: 40, requests: 2}]}
`)
	cur, _, _, _ := compareTestRun(t, other)
	bad := campaignTestFile(t, compareTestHead+"regression:\n  thresholds: {ttft_p95: 5pt}\n")
	good := campaignTestFile(t, compareTestHead+"regression:\n  thresholds: {accuracy_drop: 100pt, effective_context: off}\n")
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"compare", base}, exitUsage, "compare needs two runs"},
		{[]string{"compare", base, filepath.Join(t.TempDir(), "nope")}, exitUsage, "current: reading"},
		{[]string{"compare", base, base, "--threshold", "ttft_p95=5pt"}, exitUsage, "--threshold: threshold ttft_p95=5pt"},
		{[]string{"compare", base, base, "--campaign", bad}, exitUsage, ":5:"},
		{[]string{"compare", base, cur}, exitUsage, "lengths tested: 500, 2000 in the baseline, 500 in the current run"},
		// Forced, the comparison lists what differs and finds the 2k
		// length gone.
		{[]string{"compare", base, cur, "--force"}, exitObjectives, "effective_context 2000 → 500"},
		{[]string{"compare", base, base, "--campaign", good}, exitOK, ""},
		{[]string{"compare", base, filepath.Join(base, reports.EnvelopeFile), "--alpha", "0.01"}, exitOK, ""},
	}
	for _, tt := range tests {
		out, _, err := runTestApp(t, tt.args...)
		if code := campaignTestExitCode(err); code != tt.code || (tt.want != "" && !strings.Contains(err.Error()+out, tt.want)) {
			t.Errorf("%s: exit %d (%v), want %d with %q\n%s", strings.Join(tt.args, " "), code, err, tt.code, tt.want, out)
		}
	}
}

func TestRunBaseline(t *testing.T) {
	base := compareTestBaseline(t)
	// A smaller window: the run's own objectives fail at 2k and the
	// comparison finds the regression; either gives 99.
	dir, code, out, err := compareTestRun(t, compareTestCampaign(t, "base_accuracy: 0.95, context_window: 1000"), "--baseline", base)
	if code != exitObjectives || !strings.Contains(out, "compared with the baseline "+base) || !strings.Contains(out, "effective_context 2000 → 500") {
		t.Fatalf("run --baseline: exit %d (%v), want %d and the comparison\n%s", code, err, exitObjectives, out)
	}
	for _, f := range []string{compareFileMarkdown, compareFileJUnit, compareFileJSON} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	status, _ := compareTestStatuses(t, filepath.Join(dir, compareFileJSON))
	if status["all/effective_context"] != reports.ChangeRegressed {
		t.Errorf("regression.json: effective_context %q, want regressed", status["all/effective_context"])
	}

	// regression.baseline in the campaign, the same configuration: no
	// regression, exit 0.
	path := campaignTestFile(t, strings.Replace(readFile(t, compareTestCampaign(t, "base_accuracy: 0.95")), "regression: {",
		"regression: {baseline: "+base+", thresholds: {accuracy_drop: 10pt}, ", 1))
	dir, code, out, err = compareTestRun(t, path)
	if code != exitOK || !strings.Contains(out, "no regression") {
		t.Fatalf("run with regression.baseline: exit %d (%v), want 0\n%s", code, err, out)
	}
	// The same configuration, seed and prompts draw the same answers.
	_, r := compareTestStatuses(t, filepath.Join(dir, compareFileJSON))
	for _, c := range r.Changes {
		if c.Metric == reports.CmpAccuracy && (c.Delta == nil || *c.Delta != 0) {
			t.Errorf("at %d: accuracy changed by %v between identical runs", c.Length, c.Delta)
		}
	}
	if md := readFile(t, filepath.Join(dir, compareFileMarkdown)); !strings.Contains(md, `accuracy\_drop=10pt`) {
		t.Errorf("regression.md does not use the campaign's threshold:\n%s", md)
	}

	// A baseline that cannot be read stops the run before it starts.
	missing := filepath.Join(t.TempDir(), "run")
	_, _, err = runTestApp(t, "run", path, "--baseline", filepath.Join(t.TempDir(), "none"), "--out", missing, "--quiet")
	if campaignTestExitCode(err) != exitUsage || !strings.Contains(err.Error(), "--baseline: reading") {
		t.Errorf("a missing baseline: %v, want a usage error", err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("the run started although its baseline is missing")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRunSaveBaseline is the nightly cycle without a shell around it: the
// first night has no baseline yet (--baseline-optional) and its passing
// run becomes the baseline (--save-baseline); a regressed night is
// compared with it and leaves it as it was; a good night replaces it.
func TestRunSaveBaseline(t *testing.T) {
	base := filepath.Join(t.TempDir(), "baseline")
	nightly := func(sim string) (string, int, string) {
		dir, code, out, _ := compareTestRun(t, compareTestCampaign(t, sim), "--baseline", base, "--baseline-optional", "--save-baseline", base)
		return dir, code, out
	}
	first, code, out := nightly("base_accuracy: 0.95")
	if code != exitOK || !strings.Contains(out, "no baseline at "+base+" yet") || !strings.Contains(out, "this run is the baseline now: "+base) {
		t.Fatalf("first night: exit %d, want 0, no comparison and the run saved as the baseline\n%s", code, out)
	}
	if readFile(t, filepath.Join(base, reports.JSONFile)) != readFile(t, filepath.Join(first, reports.JSONFile)) {
		t.Fatal("the baseline is not the first night's run")
	}

	_, code, out = nightly("base_accuracy: 0.95, context_window: 1000")
	if code != exitObjectives || !strings.Contains(out, "compared with the baseline "+base) || !strings.Contains(out, "not saved as the baseline") {
		t.Fatalf("regressed night: exit %d, want %d, the comparison and the baseline kept\n%s", code, exitObjectives, out)
	}
	if readFile(t, filepath.Join(base, reports.JSONFile)) != readFile(t, filepath.Join(first, reports.JSONFile)) {
		t.Error("a regressed night replaced the baseline")
	}

	third, code, out := nightly("base_accuracy: 0.95")
	if code != exitOK || !strings.Contains(out, "no regression") || !strings.Contains(out, "this run is the baseline now") {
		t.Fatalf("good night: exit %d, want 0, compared and saved\n%s", code, out)
	}
	if readFile(t, filepath.Join(base, reports.JSONFile)) != readFile(t, filepath.Join(third, reports.JSONFile)) {
		t.Error("a good night did not become the baseline")
	}

	// --baseline-optional alone is a usage error: it has nothing to qualify.
	_, _, err := runTestApp(t, "run", compareTestCampaign(t, "base_accuracy: 0.95"), "--baseline-optional", "--dry-run")
	if campaignTestExitCode(err) != exitUsage || !strings.Contains(err.Error(), "give --baseline DIR") {
		t.Errorf("--baseline-optional without --baseline: %v, want a usage error saying what to add", err)
	}
}
