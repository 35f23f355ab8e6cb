package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/campaign"
	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
	"github.com/needlestorm/needlestorm/sim"
)

// shardTestRate and shardTestDuration are the total load of the process
// test: modest, so that three shards, a single process and a simulator hold
// it on a loaded two-core machine.
const (
	shardTestRate     = 30
	shardTestDuration = 4 * time.Second
)

// arrivals counts the chat requests a simulator receives, and when.
type arrivals struct {
	mu sync.Mutex
	at []time.Time
}

func (a *arrivals) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/chat/completions") {
			a.mu.Lock()
			a.at = append(a.at, time.Now())
			a.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

// since returns the arrivals from the i-th on.
func (a *arrivals) since(i int) []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.at[i:])
}

// shardTestBinary builds the needlestorm binary into dir.
func shardTestBinary(t *testing.T, ctx context.Context, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "needlestorm")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("building needlestorm: %v\n%s", err, out)
	}
	return bin
}

// shardTestEnv is the test's environment without the variables of a
// sharded run, which would shard every child.
func shardTestEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name != campaign.EnvShardIndex && !strings.HasPrefix(name, "NEEDLESTORM_") {
			env = append(env, kv)
		}
	}
	return env
}

// shardTestRun runs the binary with args and returns its stdout, stderr and
// exit code.
func shardTestRun(ctx context.Context, bin string, args ...string) (string, string, int) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = shardTestEnv()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return out.String(), errOut.String(), code
}

// scheduledRate is (n-1)/(last-first) over the records' scheduled times.
func scheduledRate(recs []run.Record) float64 {
	ts := make([]time.Time, len(recs))
	for i, r := range recs {
		ts[i] = r.ScheduledAt
	}
	return spanRate(ts)
}

func spanRate(ts []time.Time) float64 {
	if len(ts) < 2 {
		return 0
	}
	first, last := slices.MinFunc(ts, time.Time.Compare), slices.MaxFunc(ts, time.Time.Compare)
	return float64(len(ts)-1) / last.Sub(first).Seconds()
}

func within(a, b, frac float64) bool { return math.Abs(a-b) <= frac*math.Abs(b) }

// TestShardProcesses runs one campaign as 3 shard processes (the built
// binary, exec'd) and as one process, at the same total rate, against one
// simulator on loopback, merges the shards, and compares:
//
//   - the simulator saw as many requests from the shards as from the
//     single process, within 1%, and the arrival rate (from the records'
//     scheduled times) is the same within 2%. Scheduled times are what the
//     client controls: they come from the schedule's ideal clock and so do
//     not move with how busy this machine is; the simulator's own arrival
//     times carry each process's send delay and are held to a looser 10%;
//   - the merged records are the single run's cases in the single run's
//     sequence, request for request, at the same offsets from the start;
//   - the merged report's and envelope's figures match the single run's
//     (requests per cell exactly, rates within 2%, accuracy within its
//     sampling interval);
//   - merge refuses a missing shard (and with --allow-missing says it is
//     missing), and a shard of another campaign.
func TestShardProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs 5 processes for about 20 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	root := t.TempDir()
	bin := shardTestBinary(t, ctx, root)

	cfg, err := sim.Profile("fast")
	if err != nil {
		t.Fatal(err)
	}
	cfg.TimeScale = 0
	srv, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var seen arrivals
	hs := httptest.NewServer(seen.wrap(srv.Handler()))
	defer hs.Close()

	common := []string{"run", "--target", hs.URL + "/v1", "--kind", "openai", "--model", cfg.Model, "--no-preflight",
		"--lengths", "300", "--depths", "0,50,100", "--rates", fmt.Sprint(shardTestRate), "--stage-duration", shardTestDuration.String(),
		"--seed", "7", "--nonce-salt", "4242", "--quiet"}

	// Three shards, begun together at a common start time far enough
	// ahead for three processes to be ready on a busy machine.
	startAt := time.Now().Add(8 * time.Second).UTC()
	var wg sync.WaitGroup
	shardDirs := make([]string, 3)
	for i := range 3 {
		shardDirs[i] = filepath.Join(root, fmt.Sprintf("shard-%d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := append(slices.Clone(common), "--shard", fmt.Sprintf("%d/3", i), "--start-at", startAt.Format(time.RFC3339Nano), "--out", shardDirs[i])
			if _, errOut, code := shardTestRun(ctx, bin, args...); code != 0 {
				t.Errorf("shard %d exited %d:\n%s", i, code, errOut)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	shardArrivals := seen.since(0)

	singleDir := filepath.Join(root, "single")
	if _, errOut, code := shardTestRun(ctx, bin, append(slices.Clone(common), "--out", singleDir)...); code != 0 {
		t.Fatalf("the single process exited %d:\n%s", code, errOut)
	}
	singleArrivals := seen.since(len(shardArrivals))

	merged := filepath.Join(root, "merged")
	out, errOut, code := shardTestRun(ctx, bin, "merge", filepath.Join(root, "shard-*"), "--out", merged)
	if code != 0 || !strings.Contains(out, "merged 3 of 3 shards") {
		t.Fatalf("merge exited %d:\n%s\n%s", code, out, errOut)
	}

	// What the simulator saw. (The schedule sends about rate × duration
	// requests: 121, as vegeta's constant pacer spaces 30/s at 33333333 ns.)
	mm, mrecs := runTestReadDir(t, merged)
	_, srecs := runTestReadDir(t, singleDir)
	// One process writes records as they complete; the merge, in
	// scheduled order, which is sequence order here.
	slices.SortFunc(srecs, func(a, b run.Record) int { return int(a.Seq - b.Seq) })
	if n, s := len(shardArrivals), len(singleArrivals); s != len(srecs) || s < 115 || math.Abs(float64(n-s)) > 0.01*float64(s) {
		t.Errorf("the simulator saw %d requests from the shards and %d from the single process (which recorded %d); want the same within 1%%", n, s, len(srecs))
	}
	mr, sr := scheduledRate(mrecs), scheduledRate(srecs)
	if !within(mr, sr, 0.02) || !within(sr, shardTestRate, 0.02) {
		t.Errorf("arrival rate from scheduled times: %.3f/s merged, %.3f/s single; want %d/s, within 2%%", mr, sr, shardTestRate)
	}
	if ar, as := spanRate(shardArrivals), spanRate(singleArrivals); !within(ar, as, 0.10) {
		t.Errorf("arrival rate at the simulator: %.3f/s from the shards, %.3f/s from the single process; want within 10%%", ar, as)
	}
	t.Logf("requests: %d shards, %d single; scheduled rate %.3f/s merged, %.3f/s single; at the simulator %.3f/s, %.3f/s",
		len(shardArrivals), len(singleArrivals), mr, sr, spanRate(shardArrivals), spanRate(singleArrivals))

	// The merged run is the single run, request for request.
	if mm.Status != run.StatusComplete || mm.Merged == nil || mm.Merged.Count != 3 || len(mm.Merged.Missing) != 0 || mm.Records != int64(len(srecs)) {
		t.Fatalf("merged manifest: status %s, records %d, merged %+v", mm.Status, mm.Records, mm.Merged)
	}
	if len(mrecs) != len(srecs) {
		t.Fatalf("%d merged records, %d single", len(mrecs), len(srecs))
	}
	late := mm.Merged.Late()
	for k := range mrecs {
		m, s := mrecs[k], srecs[k]
		if m.Seq != int64(k+1) {
			t.Fatalf("merged record %d has seq %d: want the records in the single run's sequence", k, m.Seq)
		}
		if m.Seq != s.Seq || m.CaseID != s.CaseID || m.Repeat != s.Repeat || m.Stage != s.Stage || m.Answer != s.Answer {
			t.Errorf("seq %d: merged %s repeat %d answer %q; single %s repeat %d answer %q", m.Seq, m.CaseID, m.Repeat, m.Answer, s.CaseID, s.Repeat, s.Answer)
		}
		if mo, so := m.ScheduledAt.Sub(mrecs[0].ScheduledAt), s.ScheduledAt.Sub(srecs[0].ScheduledAt); len(late) == 0 && mo != so {
			t.Errorf("seq %d scheduled %s after the first in the merged run, %s in the single run", m.Seq, mo, so)
		}
	}
	if len(late) > 0 {
		t.Logf("shards began late (offsets not compared): %+v", late)
	}
	if !mrecs[0].ScheduledAt.Equal(startAt) && len(late) == 0 {
		t.Errorf("the merged run's first request was scheduled at %s, not the common start %s", mrecs[0].ScheduledAt, startAt)
	}
	shardTestCompareSummaries(t, merged, singleDir)
	if out, errOut, code := shardTestRun(ctx, bin, "report", merged); code != 0 || !strings.Contains(out, "run complete") {
		t.Errorf("report of the merged run: exit %d\n%s\n%s", code, out, errOut)
	}
	// ... and compares like any other: the single run is a comparable
	// baseline (0, or 99 where latency on a loaded machine moved past a
	// threshold; never refused as incomparable, 2, or unmeasured, 4).
	if out, errOut, code := shardTestRun(ctx, bin, "compare", singleDir, merged); code != exitOK && code != exitObjectives {
		t.Errorf("compare single merged: exit %d\n%s\n%s", code, out, errOut)
	} else if !strings.Contains(out, "accuracy") {
		t.Errorf("compare single merged printed no comparison:\n%s", out)
	}

	// A missing shard is refused, unless allowed, and then said.
	_, errOut, code = shardTestRun(ctx, bin, "merge", shardDirs[0], shardDirs[1], "--out", filepath.Join(root, "partial"))
	if code == 0 || !strings.Contains(errOut, "shard 2 of 3 not given") || !strings.Contains(errOut, "--allow-missing") {
		t.Errorf("merging without shard 2: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(root, "partial")); err == nil {
		t.Error("a refused merge wrote its output directory")
	}
	out, errOut, code = shardTestRun(ctx, bin, "merge", shardDirs[0], shardDirs[1], "--out", filepath.Join(root, "partial"), "--allow-missing")
	md, _ := os.ReadFile(filepath.Join(root, "partial", reports.MarkdownFile))
	if code != 0 || !strings.Contains(out, "shard 2 missing") || !strings.Contains(string(md), "shard 2 missing") {
		t.Errorf("merging without shard 2, --allow-missing: exit %d\n%s\n%s\nsummary.md:\n%s", code, out, errOut, md)
	}

	// A shard of another campaign (another seed) is refused.
	other := filepath.Join(root, "other")
	args := append(slices.Clone(common), "--seed", "8", "--stage-duration", "300ms", "--shard", "1/3", "--out", other)
	if _, errOut, code := shardTestRun(ctx, bin, args...); code != 0 {
		t.Fatalf("the other campaign's shard exited %d:\n%s", code, errOut)
	}
	_, errOut, code = shardTestRun(ctx, bin, "merge", shardDirs[0], other, shardDirs[2], "--out", filepath.Join(root, "mixed"))
	if code == 0 || !strings.Contains(errOut, "belongs to another run") {
		t.Errorf("merging a shard of another campaign: exit %d\n%s", code, errOut)
	}
}

// shardTestCompareSummaries compares the merged run's summary.json and
// envelope with the single run's.
func shardTestCompareSummaries(t *testing.T, merged, single string) {
	t.Helper()
	read := func(dir string) *reports.Summary {
		b, err := os.ReadFile(filepath.Join(dir, reports.JSONFile))
		if err != nil {
			t.Fatal(err)
		}
		var s reports.Summary
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		return &s
	}
	m, s := read(merged), read(single)
	// Accuracy agrees within its sampling interval: the single run's
	// accuracy lies in the merged run's Wilson interval.
	sameAccuracy := func(what string, a, b reports.Stats) {
		if b.Accuracy < a.AccuracyCI[0]-1e-9 || b.Accuracy > a.AccuracyCI[1]+1e-9 {
			t.Errorf("%s: accuracy %.3f merged (95%% interval %.3f-%.3f), %.3f single", what, a.Accuracy, a.AccuracyCI[0], a.AccuracyCI[1], b.Accuracy)
		}
	}
	if len(m.Targets) != 1 || len(s.Targets) != 1 || m.Targets[0].Requests != s.Targets[0].Requests {
		t.Fatalf("targets: merged %+v, single %+v", m.Targets, s.Targets)
	}
	sameAccuracy("target", m.Targets[0].Stats, s.Targets[0].Stats)
	if len(m.Cells) != len(s.Cells) || len(m.Points) != len(s.Points) {
		t.Fatalf("%d cells and %d points merged, %d and %d single", len(m.Cells), len(m.Points), len(s.Cells), len(s.Points))
	}
	for i := range m.Cells {
		a, b := m.Cells[i], s.Cells[i]
		if a.Length != b.Length || a.Depth != b.Depth || a.Requests != b.Requests {
			t.Errorf("cell %d: merged length %d depth %g, %d requests; single length %d depth %g, %d requests", i, a.Length, a.Depth, a.Requests, b.Length, b.Depth, b.Requests)
		}
	}
	for i := range m.Points {
		a, b := m.Points[i], s.Points[i]
		if a.Requests != b.Requests || !within(a.StageRate, b.StageRate, 0.02) || a.Pass != b.Pass {
			t.Errorf("point %d: merged %d requests at %.3f/s pass %v; single %d at %.3f/s pass %v", i, a.Requests, a.StageRate, a.Pass, b.Requests, b.StageRate, b.Pass)
		}
		sameAccuracy(fmt.Sprintf("point %d", i), a.Stats, b.Stats)
	}
	me, se := m.Envelope.Targets, s.Envelope.Targets
	if len(me) != 1 || len(se) != 1 || me[0].EffectiveContextLength != se[0].EffectiveContextLength || len(me[0].Lengths) != len(se[0].Lengths) {
		t.Fatalf("envelope: merged %+v, single %+v", me, se)
	}
	// On a loaded machine a process may fall behind its schedule; the
	// report then keeps that stage out of the envelope (as it should), so
	// max rates are compared only where neither run's client was the
	// bottleneck.
	bottleneck := func(ts reports.TargetSummary) bool {
		for _, st := range ts.Stages {
			if st.ClientBottleneck {
				t.Logf("%s stage %d: client bottleneck (%s): max rates not compared", ts.Target, st.Stage, strings.Join(st.BottleneckReasons, "; "))
				return true
			}
		}
		return false
	}
	if bottleneck(m.Targets[0]) || bottleneck(s.Targets[0]) {
		return
	}
	for i, a := range me[0].Lengths {
		b := se[0].Lengths[i]
		if (a.MaxRate == nil) != (b.MaxRate == nil) || (a.MaxRate != nil && !within(*a.MaxRate, *b.MaxRate, 0.02)) {
			t.Errorf("envelope at %d: max rate %v merged, %v single (merged stages %+v; single %+v; limited by %q, %q)", a.Length, a.MaxRate, b.MaxRate,
				m.Targets[0].Stages, s.Targets[0].Stages, me[0].LimitedBy, se[0].LimitedBy)
		}
	}
	if m.Envelope.Note != "" {
		t.Errorf("a whole, on-time merge has an envelope note: %q", m.Envelope.Note)
	}
}

// TestShardFlags: the shard comes from --shard or from a Kubernetes
// Indexed Job's environment; what cannot be a shard is a usage error
// naming what to fix.
func TestShardFlags(t *testing.T) {
	search := filepath.Join(t.TempDir(), "search.yaml")
	if err := os.WriteFile(search, []byte("name: s\ntargets: [{name: s, kind: sim}]\ncorpus: {lengths: [300]}\nload: {search: {max_rate: 8}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	quick := []string{"--rates", "50", "--requests-per-stage", "4", "--lengths", "300", "--depths", "50", "--quiet", "--sim-time-scale", "0"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"index too high", nil, []string{"--shard", "3/3"}, "write I/N"},
		{"not a pair", nil, []string{"--shard", "2"}, "write I/N"},
		{"two counts", nil, []string{"--shard", "0/2", "--shards", "3"}, "give one count"},
		{"start without shard", nil, []string{"--start-at", "2026-05-01T12:00:00Z"}, "--start-at is for sharded runs"},
		{"bad start", nil, []string{"--shard", "0/2", "--start-at", "noon"}, "RFC 3339"},
		{"count without index", map[string]string{campaign.EnvShards: "3"}, nil, campaign.EnvShardIndex + ", which is not set"},
		{"index without count", map[string]string{campaign.EnvShardIndex: "1"}, nil, "set " + campaign.EnvShards},
		{"index beyond count", map[string]string{campaign.EnvShardIndex: "4", campaign.EnvShards: "3"}, nil, "is not a shard"},
		{"search", nil, []string{search, "--shard", "0/2"}, "cannot run the envelope search"},
		{"start and barrier", nil, []string{"--shard", "0/2", "--start-at", "2026-05-01T12:00:00Z", "--barrier", t.TempDir()}, "not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := append([]string{"run", "--out", filepath.Join(t.TempDir(), "r")}, tc.args...)
			if tc.name != "search" { // a campaign file takes no target flags
				args = append(args, quick...)
			}
			_, _, err := runTestApp(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err) != 2 {
				t.Errorf("error %v (exit %d), want a usage error saying %q", err, exitCode(err), tc.want)
			}
		})
	}

	// In an Indexed Job: the index from the environment, the count too.
	t.Setenv(campaign.EnvShardIndex, "1")
	t.Setenv(campaign.EnvShards, "2")
	t.Setenv(campaign.EnvRunID, "job-uid-1")
	dir := filepath.Join(t.TempDir(), "r")
	if _, errOut, err := runTestApp(t, append([]string{"run", "--out", dir}, quick...)...); err != nil {
		t.Fatalf("run in an Indexed Job: %v\n%s", err, errOut)
	}
	m, recs := runTestReadDir(t, dir)
	if m.Shard == nil || m.Shard.Index != 1 || m.Shard.Count != 2 || m.CampaignHash == "" {
		t.Fatalf("manifest shard %+v, hash %q; want shard 1 of 2", m.Shard, m.CampaignHash)
	}
	for _, r := range recs {
		if r.Seq%2 != 0 {
			t.Errorf("shard 1 of 2 sent seq %d (request %d), shard 0's", r.Seq, r.Seq-1)
		}
	}
	if len(recs) != 2 {
		t.Errorf("shard 1 of 2 of a 4-request stage sent %d requests, want 2", len(recs))
	}
}
