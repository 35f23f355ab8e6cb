package campaign

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/endpoint"
	"github.com/needlestorm/needlestorm/internal/testkit"
	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/probes"
	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
)

// executeTest parses a campaign and executes it into a temporary folder,
// returning the result, the manifest, the records and the log.
func executeTest(t *testing.T, text string, o ExecOptions) (*Result, *run.Manifest, []run.Record, string) {
	t.Helper()
	c, err := Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var log bytes.Buffer
	o.Log = &log
	dir := filepath.Join(t.TempDir(), "run")
	res, err := c.Execute(ctx, dir, o)
	if err != nil {
		t.Fatalf("execute: %v\nlog:\n%s", err, log.String())
	}
	m, err := run.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, run.RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := run.ReadRecords(f)
	if err != nil {
		t.Fatal(err)
	}
	return res, m, recs, log.String()
}

func executeTestTargets(t *testing.T, m *run.Manifest) []manifestTarget {
	t.Helper()
	var out []manifestTarget
	if err := json.Unmarshal(m.Targets, &out); err != nil {
		t.Fatalf("manifest targets: %v\n%s", err, m.Targets)
	}
	return out
}

// TestExecuteServerBasis sizes prompts so the server counts the requested
// length: the simulator's chat template adds 50 tokens, so the client
// sends 50 fewer, and the records still carry the requested length.
func TestExecuteServerBasis(t *testing.T) {
	res, m, recs, log := executeTest(t, `
name: basis
targets:
  - {name: s, kind: sim, sim_profile: fast, time_scale: 0, sim: {template_overhead: 50}}
corpus:
  lengths: [400, 800]
  depths: [50]
  length_basis: server
load:
  stages:
    - {rate: 100, requests: 6}
`, ExecOptions{})
	if res.Run.Status != run.StatusComplete || len(recs) != 6 {
		t.Fatalf("status %s, %d records\n%s", res.Run.Status, len(recs), log)
	}
	for _, r := range recs {
		if r.Length != 400 && r.Length != 800 {
			t.Errorf("record length %d, want the requested 400 or 800", r.Length)
		}
		if r.PromptTokensClient != r.Length-50 || r.PromptTokensServer != r.Length {
			t.Errorf("length %d: client %d server %d tokens, want %d and %d", r.Length, r.PromptTokensClient, r.PromptTokensServer, r.Length-50, r.Length)
		}
		if !strings.Contains(r.CaseID, "-"+corpus.FormatLength(r.Length)+"-") {
			t.Errorf("case id %q does not name the requested length %d", r.CaseID, r.Length)
		}
	}
	mt := executeTestTargets(t, m)
	if len(mt) != 1 || mt[0].LengthBasis != BasisServer || len(mt[0].ClientLengths) != 2 || mt[0].ClientLengths[0] != 350 || mt[0].ClientLengths[1] != 750 {
		t.Errorf("manifest target: %+v", mt)
	}
	var pre []endpoint.PreflightReport
	if err := json.Unmarshal(m.Preflight, &pre); err != nil || len(pre) != 1 || pre[0].TemplateOverhead != 50 {
		t.Errorf("manifest preflight (%v): %s", err, m.Preflight)
	}
}

// TestExecuteSkipTooLong leaves out, for the target whose window is too
// small, the length preflight flags, and keeps it for the other.
func TestExecuteSkipTooLong(t *testing.T) {
	const text = `
name: windows
targets:
  - {name: small, kind: sim, sim_profile: fast, time_scale: 0, sim: {context_window: 1000}}
  - {name: large, kind: sim, sim_profile: fast, time_scale: 0}
corpus:
  lengths: [300, 2000]
  depths: [50]
load:
  stages:
    - {rate: 100}
`
	tests := []struct {
		name      string
		skip      bool
		wantSmall []int
	}{
		{"flagged only", false, []int{300, 2000}},
		{"left out", true, []int{300}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, m, recs, log := executeTest(t, text, ExecOptions{SkipTooLong: tt.skip})
			if !strings.Contains(log, "target small: length 2k will not fit") && !strings.Contains(log, "target small: leaving out length 2k") {
				t.Errorf("the too-long length is not flagged:\n%s", log)
			}
			lengths := map[string]map[int]int{"small": {}, "large": {}}
			for _, r := range recs {
				lengths[r.Target][r.Length]++
			}
			if len(lengths["large"]) != 2 || len(lengths["small"]) != len(tt.wantSmall) {
				t.Errorf("lengths sent: %v, want small %v", lengths, tt.wantSmall)
			}
			// A stage without bounds sends every case of the target once.
			if lengths["small"][300] != 1 || lengths["large"][2000] != 1 {
				t.Errorf("requests per length: %v", lengths)
			}
			mt := executeTestTargets(t, m)
			if tt.skip && (len(mt[0].Dropped) != 1 || mt[0].Dropped[0] != 2000 || len(res.Targets[0].Dropped) != 1) {
				t.Errorf("dropped lengths not recorded: %+v", mt[0])
			}
		})
	}
}

// TestExecuteSearch runs an envelope search against a simulator that never
// sleeps: every step passes, so each length's search ramps to max_rate, and
// every step is recorded in the manifest and the records. step_requests 6
// is raised to 20, the fewest an e2e p95 rests on (reports.MinSamples).
func TestExecuteSearch(t *testing.T) {
	res, m, recs, log := executeTest(t, `
name: search
targets:
  - {name: s, kind: sim, sim_profile: fast, time_scale: 0}
corpus:
  lengths: [300, 600]
  depths: [50]
load:
  search: {start_rate: 10, max_rate: 40, step_requests: 6}
slo:
  e2e_p95: 5s
  send_lag: 500ms   # a loaded test machine's late sends are not what this test is about
`, ExecOptions{NoPreflight: true})
	if res.Run.Status != run.StatusComplete {
		t.Fatalf("status %s\n%s", res.Run.Status, log)
	}
	mt := executeTestTargets(t, m)
	if len(mt) != 1 || len(mt[0].Search) != 2 {
		t.Fatalf("manifest search results: %s", m.Targets)
	}
	stages := map[string]int{}
	for _, r := range recs {
		stages[r.StageLabel]++
	}
	for _, sr := range mt[0].Search {
		if sr.Found != 40 || len(sr.Steps) != 3 || sr.Requests != 60 {
			t.Errorf("length %d: found %g in %d steps, %d requests; want 40 in 3 steps (10, 20, 40), 60 requests", sr.Length, sr.Found, len(sr.Steps), sr.Requests)
		}
		for _, st := range sr.Steps {
			if !st.Pass || stages[st.StageLabel] != 20 {
				t.Errorf("step %s: pass %v, %d records", st.StageLabel, st.Pass, stages[st.StageLabel])
			}
		}
	}
	if len(recs) != 120 {
		t.Errorf("%d records, want 2 lengths × 3 steps × 20", len(recs))
	}
	var sched map[string]json.RawMessage
	if err := json.Unmarshal(m.Schedule, &sched); err != nil || sched["search"] == nil {
		t.Errorf("manifest schedule (%v): %s", err, m.Schedule)
	}
	if !strings.Contains(log, "search at 600: 40 requests/s held") {
		t.Errorf("the log does not say what the search found:\n%s", log)
	}
}

func TestStepJudge(t *testing.T) {
	five := 0.05
	obj := reports.Objectives{Latency: []reports.LatencyObjective{{Metric: "ttft", Percentile: 95, Max: 1}}, ErrorRate: &five, Accuracy: 0.5}
	step := loadgen.SearchStep{Length: 1000, Stage: 3, StageLabel: "search len=1k rate=2/s", Rate: 2}
	recs := func(n int, ttft time.Duration, errs int) []run.Record {
		out := make([]run.Record, n)
		t0 := time.Unix(1700000000, 0)
		for i := range out {
			r := &out[i]
			r.Target, r.Stage, r.StageLabel, r.Length = "t", 3, step.StageLabel, 1000
			r.Expected, r.Answer = []string{"42"}, "42"
			r.PromptTokensClient = 1000
			r.ScheduledAt = t0.Add(time.Duration(i) * 500 * time.Millisecond)
			r.SentAt = r.ScheduledAt
			r.TTFT, r.E2E = run.Seconds(ttft), run.Seconds(ttft+time.Millisecond)
			if i < errs {
				r.ErrorClass, r.Status, r.Answer = run.ErrServerError, 500, ""
			}
		}
		return out
	}
	tests := []struct {
		name     string
		recs     []run.Record
		wantPass bool
		reason   string
	}{
		{"holds", recs(20, 100*time.Millisecond, 0), true, ""},
		{"slow", recs(20, 3*time.Second, 0), false, "ttft_p95"},
		{"errors", recs(20, 100*time.Millisecond, 5), false, "error"},
		{"nothing", nil, false, "no request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newStepJudge(obj)(step, tt.recs)
			if v.Pass != tt.wantPass || !strings.Contains(v.Reason, tt.reason) {
				t.Errorf("verdict %+v, want pass %v with a reason containing %q", v, tt.wantPass, tt.reason)
			}
		})
	}
}

// TestExecuteLiveVerdicts: a simulator that misses often (so that some
// answers hold one canary and lack the other) and never truncates. With
// preflight's template overhead the live verdicts see that the server
// counted every prompt in full, so none is server_truncated and each is
// what the report judges with the overhead known; without preflight the
// lost canaries read as truncations.
func TestExecuteLiveVerdicts(t *testing.T) {
	const text = `
name: verdicts
targets:
  - {name: s, kind: sim, sim_profile: fast, time_scale: 0, sim: {template_overhead: 10, base_accuracy: 0.5}}
corpus:
  lengths: [1000]
  depths: [0, 50, 100]
  samples: 6
  canaries: true
load:
  stages:
    - {rate: 100}
`
	salt := uint64(11)
	tests := []struct {
		name        string
		noPreflight bool
		wantCut     bool // some records are live server_truncated
	}{
		{"calibrated by preflight", false, false},
		{"no preflight", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, m, recs, log := executeTest(t, text, ExecOptions{NoPreflight: tt.noPreflight, NonceSalt: &salt})
			if res.Run.Status != run.StatusComplete || len(recs) != 18 {
				t.Fatalf("status %s, %d records\n%s", res.Run.Status, len(recs), log)
			}
			if m.NonceSalt != salt {
				t.Errorf("manifest nonce salt %d, want the %d given", m.NonceSalt, salt)
			}
			known := probes.Calibration{Overhead: 10, OverheadKnown: true}
			cut, canaryLost := 0, 0
			for _, r := range recs {
				if r.PromptTokensServer != r.PromptTokensClient+10 {
					t.Fatalf("%s: the server counted %d of %d client tokens, want all and the template's 10", r.CaseID, r.PromptTokensServer, r.PromptTokensClient)
				}
				c := &corpus.Case{Expected: r.Expected, NeedleTokenIndex: r.NeedleTokenIndex, Canaries: &corpus.Canaries{Head: r.CanaryHead, Tail: r.CanaryTail}}
				facts := probes.ResponseFacts{
					Answer: r.Answer, FinishReason: r.FinishReason, ErrorClass: r.ErrorClass, Error: r.Error, Status: r.Status,
					PromptTokensClient: r.PromptTokensClient, PromptTokensServer: r.PromptTokensServer,
				}
				if probes.Judge(c, facts).Attribution == probes.AttrServerTruncated {
					canaryLost++
				}
				if r.Attribution == probes.AttrServerTruncated {
					cut++
				}
				facts.Calibration = known
				if want := probes.Judge(c, facts).Attribution; !tt.noPreflight && r.Attribution != want {
					t.Errorf("%s: live attribution %s, the report's %s (answer %q)", r.CaseID, r.Attribution, want, r.Answer)
				}
			}
			if canaryLost == 0 {
				t.Fatalf("no answer lost a canary, so the test proves nothing: change the salt or the accuracy")
			}
			if (cut > 0) != tt.wantCut {
				t.Errorf("%d of %d records live server_truncated (%d lost a canary), want some: %v", cut, len(recs), canaryLost, tt.wantCut)
			}
		})
	}
}

// TestExecuteRefusesRunDir: a directory that already holds a run is refused
// before any simulator starts or any request (preflight's included) reaches
// a target, and the run in it is left as it was.
func TestExecuteRefusesRunDir(t *testing.T) {
	srv := testkit.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not here", http.StatusNotFound)
	}))
	c, err := Parse("test.yaml", []byte(`
name: held
targets:
  - {name: local, kind: sim, sim_profile: fast, time_scale: 0}
  - {name: remote, kind: openai, base_url: `+srv.URL+`/v1, model: m}
corpus:
  lengths: [300]
load:
  stages:
    - {rate: 10, requests: 2}
`))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	old := []byte(`{"seq":1}` + "\n")
	if err := os.WriteFile(filepath.Join(dir, run.RecordsFile), old, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var log bytes.Buffer
	res, err := c.Execute(ctx, dir, ExecOptions{Log: &log})
	if !errors.Is(err, run.ErrExists) || !strings.Contains(err.Error(), "--overwrite") || res != nil {
		t.Fatalf("Execute: %v (result %v), want the directory refused", err, res)
	}
	if n := srv.Len(); n != 0 {
		t.Errorf("%d requests reached the target before the directory was refused", n)
	}
	if strings.Contains(log.String(), "started the built-in simulator") {
		t.Errorf("a simulator started before the directory was refused:\n%s", log.String())
	}
	if got, err := os.ReadFile(filepath.Join(dir, run.RecordsFile)); err != nil || !bytes.Equal(got, old) {
		t.Errorf("the run in the directory was changed: %q, %v", got, err)
	}
}

// TestSearchLinesAfterProgress: the live display stops before the search
// prints what it found, so no progress line is drawn over (or after) them.
func TestSearchLinesAfterProgress(t *testing.T) {
	_, _, _, log := executeTest(t, `
name: search-progress
targets:
  - {name: s, kind: sim, sim_profile: fast, time_scale: 0}
corpus:
  lengths: [300]
  depths: [50]
load:
  search: {start_rate: 10, max_rate: 20, step_requests: 4}
slo:
  e2e_p95: 5s
  send_lag: 500ms
`, ExecOptions{NoPreflight: true, Progress: true, ProgressInterval: 5 * time.Millisecond})
	found := strings.Index(log, "target s: search at 300:")
	lastProgress := strings.LastIndex(log, ", completed ")
	if found < 0 || lastProgress < 0 {
		t.Fatalf("want progress lines and the search line in the log:\n%s", log)
	}
	if lastProgress > found {
		t.Errorf("a progress line follows the search's result line:\n%s", log)
	}
}
