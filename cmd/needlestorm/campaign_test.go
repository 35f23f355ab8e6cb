package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/needlestorm/needlestorm/endpoint"
	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
)

// campaignTestFile writes a campaign file into a new temporary folder and
// returns its path.
func campaignTestFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "campaign.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// campaignTestTargets decodes the manifest's targets.
func campaignTestTargets(t *testing.T, m *run.Manifest) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal(m.Targets, &out); err != nil {
		t.Fatalf("manifest targets: %v\n%s", err, m.Targets)
	}
	return out
}

// campaignTestBudget decodes the manifest's budget.
func campaignTestBudget(t *testing.T, m *run.Manifest) (b struct {
	MaxDuration   float64            `json:"max_duration"`
	Spent         float64            `json:"spent"`
	SpentByTarget map[string]float64 `json:"spent_by_target"`
	Stopped       string             `json:"stopped"`
}) {
	t.Helper()
	if err := json.Unmarshal(m.Budget, &b); err != nil {
		t.Fatalf("manifest budget: %v\n%s", err, m.Budget)
	}
	return b
}

func campaignTestExitCode(err error) int {
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	if err != nil {
		return 1
	}
	return 0
}

// TestRunCampaignSimExample runs examples/campaigns/sim.yaml as the README
// does and checks that one run directory and one report compare both
// targets. It takes about a minute, as the example says.
func TestRunCampaignSimExample(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the example campaign for about a minute")
	}
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "demo")
	start := time.Now()
	out, errOut, err := runTestApp(t, "run", "../../examples/campaigns/sim.yaml", "--out", dir, "--quiet")
	took := time.Since(start)
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, errOut)
	}
	t.Logf("examples/campaigns/sim.yaml took %s", took.Round(time.Second))
	if took > 150*time.Second {
		t.Errorf("the example took %s; its comment promises about a minute", took.Round(time.Second))
	}
	m, recs := runTestReadDir(t, dir)
	if m.Status != run.StatusComplete || m.Records != int64(len(recs)) {
		t.Errorf("manifest status %q, %d records (file %d)", m.Status, m.Records, len(recs))
	}
	byTarget := map[string]int{}
	for _, r := range recs {
		byTarget[r.Target]++
	}
	if byTarget["roomy"] == 0 || byTarget["tight"] == 0 || len(byTarget) != 2 {
		t.Errorf("records per target: %v, want roomy and tight", byTarget)
	}
	targets := campaignTestTargets(t, m)
	if len(targets) != 2 || targets[0]["name"] != "roomy" || targets[1]["name"] != "tight" ||
		targets[0]["status"] != run.StatusComplete || targets[1]["kind"] != "sim" {
		t.Errorf("manifest targets: %v", targets)
	}
	var pre []endpoint.PreflightReport
	if err := json.Unmarshal(m.Preflight, &pre); err != nil || len(pre) != 2 || pre[1].ContextWindow != 2048 || len(pre[1].TooLong) != 1 {
		t.Errorf("manifest preflight (%v): %s", err, m.Preflight)
	}
	if b := campaignTestBudget(t, m); b.MaxDuration != 180 || b.Spent <= 0 || b.SpentByTarget["roomy"] <= 0 || b.SpentByTarget["tight"] <= 0 {
		t.Errorf("manifest budget: %s", m.Budget)
	}
	for _, want := range []string{"roomy (sim-vllm-8b)", "tight (sim-ollama)", "report: "} {
		if !strings.Contains(out, want) {
			t.Errorf("the report summary lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "report.html")); err != nil {
		t.Errorf("no report.html: %v", err)
	}
}

// TestRunCampaignDryRunExamples prints the plan of every example campaign,
// with its remote targets pointed at a loopback server, and checks that
// nothing reached it, no simulator started and no run directory was made.
func TestRunCampaignDryRunExamples(t *testing.T) {
	fake := &runTestOpenAI{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	src := "../../examples"
	tmp := t.TempDir()
	// Copy the folder (own-docs.yaml reads ./docs beside it, tiers.yaml
	// ../routing/routing.yaml), with every
	// base_url replaced by the loopback server's.
	baseURL := regexp.MustCompile(`(?m)^(\s*base_url:\s*)\S+`)
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		dst := filepath.Join(tmp, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".yaml") {
			b = baseURL.ReplaceAll(b, []byte("${1}"+srv.URL+"/v1"))
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	examples, _ := filepath.Glob(filepath.Join(tmp, "campaigns", "*.yaml"))
	if len(examples) < 6 {
		t.Fatalf("found %d example campaigns, want at least 6", len(examples))
	}
	for _, ex := range examples {
		t.Run(filepath.Base(ex), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			stdout, stderr, err := runTestApp(t, "run", ex, "--dry-run", "--out", out)
			if err != nil {
				t.Fatalf("dry run: %v\nstderr:\n%s", err, stderr)
			}
			if !strings.Contains(stdout, "Plan for campaign") || !strings.Contains(stdout, "nothing has been sent") {
				t.Errorf("no plan printed:\n%s", stdout)
			}
			if strings.Contains(stderr, "started the built-in simulator") || strings.Contains(stderr, "preflight") {
				t.Errorf("a dry run started something:\n%s", stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a dry run created %s", out)
			}
		})
	}
	fake.mu.Lock()
	n := len(fake.auth)
	fake.mu.Unlock()
	if n != 0 {
		t.Errorf("%d requests reached the test server during dry runs", n)
	}
}

const campaignTestTwoSims = `
name: two
targets:
  - {name: a, kind: sim, sim_profile: fast, time_scale: 0}
  - {name: b, kind: sim, sim_profile: fast, time_scale: 0}
corpus:
  lengths: [300, 600]
  depths: [0, 100]
load:
  stages:
    - {rate: 50, requests: 8}
`

func TestRunCampaignFlagOverrides(t *testing.T) {
	path := campaignTestFile(t, campaignTestTwoSims)
	dir := filepath.Join(t.TempDir(), "run")
	_, errOut, err := runTestApp(t, "run", path, "--targets", "b", "--lengths", "400", "--depths", "50",
		"--seed", "7", "--out", dir, "--quiet", "--slo", "e2e_p95=5s", "--accuracy", "0.5")
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, errOut)
	}
	m, recs := runTestReadDir(t, dir)
	if len(recs) != 8 {
		t.Errorf("%d records, want the stage's 8", len(recs))
	}
	for _, r := range recs {
		if r.Target != "b" || r.Length != 400 || r.Depth != 50 {
			t.Fatalf("record %d: target %s length %d depth %g; want b, 400, 50", r.Seq, r.Target, r.Length, r.Depth)
		}
	}
	var corpusAsked struct {
		Lengths []int `json:"lengths"`
		Seed    int64 `json:"seed"`
	}
	if err := json.Unmarshal(m.Corpus, &corpusAsked); err != nil || len(corpusAsked.Lengths) != 1 || corpusAsked.Lengths[0] != 400 || corpusAsked.Seed != 7 {
		t.Errorf("manifest corpus (%v): %s", err, m.Corpus)
	}
	if obj, err := reports.DecodeObjectives(m.Objectives); err != nil || obj.String() != "e2e_p95=5s" || obj.Accuracy != 0.5 {
		t.Errorf("manifest objectives (%v): %s", err, m.Objectives)
	}
	if targets := campaignTestTargets(t, m); len(targets) != 1 || targets[0]["name"] != "b" {
		t.Errorf("manifest targets: %v", targets)
	}

	// Flags that describe one target belong to runs without a file.
	_, _, err = runTestApp(t, "run", path, "--rates", "2", "--out", filepath.Join(t.TempDir(), "r"))
	if err == nil || !strings.Contains(err.Error(), "load.stages") {
		t.Errorf("--rates with a campaign file: %v, want a refusal naming load.stages", err)
	}
	_, _, err = runTestApp(t, "run", path, "--targets", "c", "--out", filepath.Join(t.TempDir(), "r"))
	if err == nil || !strings.Contains(err.Error(), `no target is named "c"`) {
		t.Errorf("--targets c: %v", err)
	}
}

func TestRunCampaignBudget(t *testing.T) {
	// Each prompt of 300 client tokens is counted 1,300 by the server (a
	// 1,000-token chat template), at $1,000 per million input tokens: the
	// plan (client tokens) estimates $0.30 per request, a request really
	// costs $1.30.
	const camp = `
name: costly
targets:
  - name: a
    kind: sim
    sim_profile: fast
    time_scale: 0
    sim: {template_overhead: 1000}
    prices: {input: 1000, output: 0}
  - {name: b, kind: sim, sim_profile: fast, time_scale: 0, prices: {input: 1000, output: 0}}
corpus:
  lengths: [300]
  depths: [50]
load:
  stages:
    - {rate: 20, requests: 10}
budget:
  max_cost_usd: 7.5
`
	path := campaignTestFile(t, camp)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
		ran      bool
	}{
		{"refused by the plan", []string{"--max-cost", "1"}, exitBudget, "over budget.max_cost_usd", false},
		{"dry run over budget", []string{"--max-cost", "1", "--dry-run"}, exitBudget, "over budget", false},
		{"stopped by spend", nil, exitBudget, "budget: spent $", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			args := append([]string{"run", path, "--out", dir, "--quiet", "--no-preflight", "--grace", "2s"}, tt.args...)
			out, errOut, err := runTestApp(t, args...)
			if code := campaignTestExitCode(err); code != tt.wantCode || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("exit %d (%v), want %d with %q\nstdout:\n%s\nstderr:\n%s", code, err, tt.wantCode, tt.wantErr, out, errOut)
			}
			if !tt.ran {
				if _, err := os.Stat(dir); err == nil {
					t.Errorf("a refused campaign created %s", dir)
				}
				return
			}
			m, recs := runTestReadDir(t, dir)
			if m.Status != run.StatusInterrupted || !strings.HasPrefix(m.Reason, "budget: spent $") || !strings.Contains(m.Reason, "of $7.50") {
				t.Errorf("manifest status %q reason %q", m.Status, m.Reason)
			}
			// $7.50 at $1.30 a request: the sixth completion trips it; a
			// few sent before the stop may still complete.
			if len(recs) < 6 || len(recs) >= 10 {
				t.Errorf("%d records, want the budget to stop target a after about 6", len(recs))
			}
			for _, r := range recs {
				if r.Target != "a" {
					t.Errorf("target %s ran after the budget stopped the campaign", r.Target)
				}
			}
			targets := campaignTestTargets(t, m)
			if targets[0]["status"] != run.StatusInterrupted || targets[1]["status"] != "skipped" {
				t.Errorf("target statuses %v and %v, want interrupted and skipped", targets[0]["status"], targets[1]["status"])
			}
			if b := campaignTestBudget(t, m); !strings.HasPrefix(b.Stopped, "budget: spent $") || b.Spent < 7.5 || b.SpentByTarget["a"] != b.Spent {
				t.Errorf("manifest budget: %s", m.Budget)
			}
			if !strings.Contains(out, "stopped by the budget") {
				t.Errorf("the summary does not say the budget stopped the run:\n%s", out)
			}
		})
	}
}

func TestRunCampaignMaxDuration(t *testing.T) {
	// Each answer decodes 40 tokens at 20 tokens/s: 2 s. The plan counts
	// the sending only (0.5 s a target), so it fits 1.5 s; the run does
	// not, and the deadline stops it while target a's answers are still
	// decoding.
	const camp = `
name: slow
targets:
  - {name: a, kind: sim, sim_profile: fast, time_scale: 1, sim: {decode_tps: 20, output_tokens: 40}}
  - {name: b, kind: sim, sim_profile: fast, time_scale: 1}
corpus:
  lengths: [300]
  depths: [50]
load:
  stages:
    - {rate: 10, requests: 5}
budget:
  max_duration: 1500ms
`
	path := campaignTestFile(t, camp)
	dir := filepath.Join(t.TempDir(), "run")
	start := time.Now()
	_, errOut, err := runTestApp(t, "run", path, "--out", dir, "--quiet", "--no-preflight", "--grace", "200ms")
	if code := campaignTestExitCode(err); code != exitBudget {
		t.Fatalf("exit %d (%v), want %d\nstderr:\n%s", code, err, exitBudget, errOut)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the run took %s despite its 1.5 s budget", took)
	}
	m, recs := runTestReadDir(t, dir)
	if m.Status != run.StatusInterrupted || m.Reason != "budget: max_duration 1.5s reached" {
		t.Errorf("manifest status %q reason %q", m.Status, m.Reason)
	}
	if len(recs) != 5 {
		t.Errorf("%d records, want target a's 5 (canceled at the end of the grace period)", len(recs))
	}
	for _, r := range recs {
		if r.Target != "a" {
			t.Errorf("target %s ran after the deadline", r.Target)
		}
	}
}

func TestRunCampaignPreflightFailure(t *testing.T) {
	// A closed loopback port: listen, note the port, close.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/v1"
	l.Close()
	path := campaignTestFile(t, `
name: unreachable
targets:
  - {name: local, kind: sim, sim_profile: fast, time_scale: 0}
  - {name: gone, kind: openai, base_url: `+closed+`, model: m, connect_timeout: 2s}
corpus:
  lengths: [300]
load:
  stages:
    - {rate: 10, requests: 5}
`)
	dir := filepath.Join(t.TempDir(), "run")
	_, errOut, err := runTestApp(t, "run", path, "--out", dir, "--quiet")
	if err == nil || !strings.Contains(err.Error(), "preflight of target gone failed") || !strings.Contains(err.Error(), "--no-preflight") {
		t.Fatalf("run: %v, want the preflight failure of target gone\nstderr:\n%s", err, errOut)
	}
	if !errors.Is(err, endpoint.ErrUnreachable) {
		t.Errorf("the error is not endpoint.ErrUnreachable: %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("the run directory was created although preflight failed")
	}
}

func TestRunCampaignKeepsKeysOut(t *testing.T) {
	const canary = "sk-canary-0b1c2d3e4f5a6978"
	t.Setenv("NS_CAMPAIGN_KEY", canary)
	fake := &runTestOpenAI{key: canary}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	path := campaignTestFile(t, `
name: keyed
targets:
  - name: remote
    kind: openai
    base_url: `+srv.URL+`/v1
    model: fake
    api_key_env: NS_CAMPAIGN_KEY
    headers: {X-Api-Key: "${NS_CAMPAIGN_KEY}"}
corpus:
  lengths: [300]
  depths: [50]
load:
  stages:
    - {rate: 20, requests: 4}
`)
	dir := filepath.Join(t.TempDir(), "run")
	out, errOut, err := runTestApp(t, "run", path, "--out", dir, "--quiet")
	if code := campaignTestExitCode(err); code != exitObjectives { // the fake answers wrong
		t.Fatalf("run: exit %d (%v), want %d\nstderr:\n%s", code, err, exitObjectives, errOut)
	}
	files := map[string]string{"stdout": out, "stderr": errOut, "error": err.Error()}
	fake.mu.Lock()
	first := fake.auth[0]
	fake.mu.Unlock()
	if first != "Bearer "+canary {
		t.Errorf("the server got Authorization %q, want the key", first)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	if _, ok := files[run.RecordsFile]; !ok {
		t.Fatalf("no records written: %v", entries)
	}
	for where, text := range files {
		if strings.Contains(text, canary) || strings.Contains(text, canary[3:15]) {
			t.Errorf("the API key appears in %s", where)
		}
	}
}

// TestRunCampaignSIGINT interrupts a two-target campaign (in a child
// process) during its first target: the records of the first are kept, the
// second never runs, the manifest says interrupted and the exit status is
// 130.
func TestRunCampaignSIGINT(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	path := campaignTestFile(t, `
name: interrupted
targets:
  - {name: first, kind: sim, sim_profile: fast, time_scale: 0.05}
  - {name: second, kind: sim, sim_profile: fast, time_scale: 0.05}
corpus:
  lengths: [300]
  depths: [50]
load:
  stages:
    - {rate: 20, duration: 60s}
`)
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRunCommandChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), runTestChildEnv+"="+strings.Join([]string{
		"run", path, "--out", dir, "--quiet", "--grace", "5s", "--no-preflight",
	}, "\x1f"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Records are flushed every half second: wait for some of the first
	// target's.
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, run.RecordsFile))
		if bytes.Count(b, []byte("\n")) >= 10 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no records after 30 s; stderr:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit: %v, want status %d; stderr:\n%s", err, exitInterrupted, stderr.String())
	}
	m, recs := runTestReadDir(t, dir)
	if m.Status != run.StatusInterrupted || !strings.Contains(m.Reason, "interrupt") || m.Records != int64(len(recs)) || len(recs) < 10 {
		t.Errorf("manifest: status %q reason %q records %d (file %d)", m.Status, m.Reason, m.Records, len(recs))
	}
	for _, r := range recs {
		if r.Target != "first" {
			t.Fatalf("a record of target %s: the second target ran after the interrupt", r.Target)
		}
	}
	targets := campaignTestTargets(t, m)
	if targets[0]["status"] != run.StatusInterrupted || targets[1]["status"] != "skipped" {
		t.Errorf("target statuses %v and %v, want interrupted and skipped", targets[0]["status"], targets[1]["status"])
	}
	if _, err := os.Stat(filepath.Join(dir, "report.html")); err != nil {
		t.Errorf("no report for the interrupted run: %v", err)
	}
}

// TestRunCampaignSimFaults runs a campaign whose sim target injects 429s
// with probability 0.5 (sim: {fault_429: 0.5}) and checks that about half
// the requests come back rate_limited: the fault is drawn per request, not
// per prompt (a few cases repeated many times must not all share one
// draw).
func TestRunCampaignSimFaults(t *testing.T) {
	path := campaignTestFile(t, `
name: faults
targets:
  - {name: flaky, kind: sim, sim_profile: fast, time_scale: 0, sim: {fault_429: 0.5}}
corpus:
  lengths: [300]
  depths: [0, 100]
load:
  stages:
    - {concurrency: 8, requests: 400}
`)
	dir := filepath.Join(t.TempDir(), "run")
	_, errOut, err := runTestApp(t, "run", path, "--out", dir, "--quiet", "--no-preflight")
	// Half the requests are rate limited, so accuracy falls below the threshold.
	if code := campaignTestExitCode(err); code != exitObjectives {
		t.Fatalf("run: exit %d (%v), want %d\nstderr:\n%s", code, err, exitObjectives, errOut)
	}
	_, recs := runTestReadDir(t, dir)
	if len(recs) != 400 {
		t.Fatalf("%d records, want 400", len(recs))
	}
	limited := 0
	for _, r := range recs {
		switch {
		case r.ErrorClass == run.ErrRateLimited && r.Status == 429:
			limited++
		case r.ErrorClass != "":
			t.Errorf("record %d: error class %q (%s), want rate_limited or none", r.Seq, r.ErrorClass, r.Error)
		}
	}
	// Binomial(400, 0.5): standard deviation 10; allow 4 of them.
	if share := float64(limited) / float64(len(recs)); share < 0.4 || share > 0.6 {
		t.Errorf("%d of %d requests rate limited (%.2f), want about half", limited, len(recs), share)
	}
}

// TestRunRefusesRunDir: --out naming a directory that already holds a run
// is refused before anything starts: no simulator, no preflight request
// (which costs money on a paid API), no load; the run in it is kept.
func TestRunRefusesRunDir(t *testing.T) {
	fake := &runTestOpenAI{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	path := campaignTestFile(t, `
name: held
targets:
  - {name: local, kind: sim, sim_profile: fast, time_scale: 0}
  - {name: remote, kind: openai, base_url: `+srv.URL+`/v1, model: fake}
corpus:
  lengths: [300]
load:
  stages:
    - {rate: 10, requests: 2}
`)
	tests := []struct {
		name string
		args []string
	}{
		{"campaign file", []string{path}},
		{"flags", []string{"--target", srv.URL + "/v1", "--model", "fake", "--rates", "10", "--requests-per-stage", "2", "--lengths", "300"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			old := []byte(`{"seq":1}` + "\n")
			if err := os.WriteFile(filepath.Join(dir, run.RecordsFile), old, 0o644); err != nil {
				t.Fatal(err)
			}
			_, errOut, err := runTestApp(t, append([]string{"run", "--out", dir, "--quiet"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), "already holds a run") || !strings.Contains(err.Error(), "--overwrite") {
				t.Fatalf("run: %v, want the directory refused\nstderr:\n%s", err, errOut)
			}
			fake.mu.Lock()
			n := len(fake.auth)
			fake.mu.Unlock()
			if n != 0 {
				t.Errorf("%d requests reached the target before the directory was refused", n)
			}
			if strings.Contains(errOut, "started the built-in simulator") || strings.Contains(errOut, "preflight") {
				t.Errorf("something started before the directory was refused:\n%s", errOut)
			}
			if got, err := os.ReadFile(filepath.Join(dir, run.RecordsFile)); err != nil || !bytes.Equal(got, old) {
				t.Errorf("the run in the directory was changed: %q, %v", got, err)
			}
		})
	}
}
