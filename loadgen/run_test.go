package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/endpoint"
	"github.com/needlestorm/needlestorm/internal/testkit"
	"github.com/needlestorm/needlestorm/sim"

	"github.com/needlestorm/needlestorm/run"
)

func readRunDir(t *testing.T, dir string) (*run.Manifest, []run.Record) {
	t.Helper()
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
	return m, recs
}

func TestRunnerComplete(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "run")
	sched := Schedule{
		{Kind: StageConstant, Rate: 200, Requests: 10, Warmup: true},
		{Kind: StagePoisson, Rate: 200, Requests: 20},
		{Kind: StageConcurrency, Concurrency: 2, Requests: 6},
	}
	tgt := testkit.NewFakeTarget(time.Millisecond)
	tgt.Answer = func(c *corpus.Case) string {
		if c.ID == "case-0" {
			return "none"
		}
		return c.Expected[0]
	}
	type targetCfg struct {
		Name   string `json:"name"`
		APIKey string `json:"-"`
	}
	r, err := NewRunner(tgt, testkit.Cases(3), sched, Seed(100))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(ctx, dir, run.Tool("needlestorm", "v9"),
		run.Asked([]targetCfg{{Name: "fake", APIKey: "sk-canary"}}, map[string]any{"lengths": []int{1000}}))
	if err != nil {
		t.Fatal(err)
	}
	m, recs := readRunDir(t, dir)
	if res.Status != run.StatusComplete || m.Status != run.StatusComplete || m.Reason != "" {
		t.Errorf("status %q / manifest %q %q, want complete", res.Status, m.Status, m.Reason)
	}
	if len(recs) != 36 || m.Records != 36 || res.Records != 36 || res.Sent != 36 {
		t.Errorf("records: file %d, manifest %d, result %d, sent %d; want 36", len(recs), m.Records, res.Records, res.Sent)
	}
	if m.Tool != "needlestorm" || m.Version != "v9" || m.StartedAt.IsZero() || m.EndedAt.Before(m.StartedAt) {
		t.Errorf("manifest header %+v", m)
	}
	var got Schedule
	if err := json.Unmarshal(m.Schedule, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].Seed != 101 || got[0].Seed != 0 || !got[0].Warmup {
		t.Errorf("manifest schedule %s: want 3 stages, the Poisson one with seed 101", m.Schedule)
	}
	var tb, cb bytes.Buffer
	if json.Compact(&tb, m.Targets) != nil || json.Compact(&cb, m.Corpus) != nil ||
		tb.String() != `[{"name":"fake"}]` || cb.String() != `{"lengths":[1000]}` {
		t.Errorf("manifest targets %s corpus %s", m.Targets, m.Corpus)
	}
	// 26 scored records outside warm-up; case-0 (every third) is wrong.
	if res.Scored != 26 || res.Correct != 26-9 {
		t.Errorf("scored %d correct %d, want 26 and 17", res.Scored, res.Correct)
	}
	// A second run into the same directory is refused.
	r2, _ := NewRunner(tgt, testkit.Cases(1), sched)
	if _, err := r2.Run(ctx, dir); err == nil || !strings.Contains(err.Error(), "already holds a run") {
		t.Errorf("second run into %s: %v, want a refusal", dir, err)
	}
	// Unless asked to overwrite it.
	r3, _ := NewRunner(tgt, testkit.Cases(1), Schedule{{Kind: StageConstant, Rate: 100, Requests: 2}})
	if _, err := r3.Run(ctx, dir, run.Overwrite(true)); err != nil {
		t.Fatalf("overwriting run: %v", err)
	}
	if m, recs := readRunDir(t, dir); len(recs) != 2 || m.Records != 2 || m.Status != run.StatusComplete {
		t.Errorf("after overwriting: %d records, manifest %d %q; want 2, complete", len(recs), m.Records, m.Status)
	}
}

// TestRunnerManifestWhileRunning reads the manifest while the run's first
// request is held at the target (so the run is surely under way, however
// loaded the machine) and again once it is let through.
func TestRunnerManifestWhileRunning(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	tgt := &testkit.FakeTarget{Gate: make(chan struct{})}
	r, err := NewRunner(tgt, testkit.Cases(1), Schedule{{Kind: StageConstant, Rate: 50, Requests: 3}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := r.Run(ctx, dir); done <- err }()
	for deadline := time.Now().Add(10 * time.Second); tgt.Arrived() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no request reached the target within 10 s")
		}
	}
	m, err := run.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != run.StatusRunning || !m.EndedAt.IsZero() {
		t.Errorf("manifest mid-run: status %q ended %v, want running", m.Status, m.EndedAt)
	}
	close(tgt.Gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if m, err := run.ReadManifest(dir); err != nil || m.Status != run.StatusComplete || m.EndedAt.IsZero() || m.Records != 3 {
		t.Errorf("manifest after the run: %+v, %v; want complete with 3 records", m, err)
	}
}

// failAfter fails every write after the first n.
type failAfter struct {
	run.Sink
	mu sync.Mutex
	n  int
}

func (f *failAfter) Write(r *run.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		return errors.New("no space left on device")
	}
	f.n--
	return f.Sink.Write(r)
}

func TestRunnerStatuses(t *testing.T) {
	tests := []struct {
		name       string
		cancelAt   time.Duration
		failAfter  int
		wantStatus string
		wantReason string
	}{
		{"interrupted", 250 * time.Millisecond, -1, run.StatusInterrupted, "context canceled"},
		{"failed", 0, 5, run.StatusFailed, "no space left on device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if tt.cancelAt > 0 {
				time.AfterFunc(tt.cancelAt, cancel)
			}
			tgt := testkit.NewFakeTarget(100 * time.Millisecond)
			// A minute-long stage: the run must stop long before it ends.
			sched := Schedule{{Kind: StageConstant, Rate: 100, Duration: run.Seconds(time.Minute)}}
			dir := t.TempDir()
			start := time.Now()
			rs, err := run.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			var sink run.Sink = rs.Sink()
			if tt.failAfter >= 0 {
				sink = &failAfter{Sink: sink, n: tt.failAfter}
			}
			d, err := NewDispatcher(tgt, testkit.Cases(2), sink, Grace(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			runErr := d.Run(ctx, sched)
			rs.Sent(d.seq.Load(), d.Sent(), d.HeldBack())
			res, err := rs.Close(ctx, runErr)
			if err == nil {
				t.Fatal("Run succeeded, want an error")
			}
			// Stopping takes the grace period (1 s) at most; 10 s is far
			// above any scheduling delay and far below the stage.
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("Run took %s to stop", took)
			}
			m, recs := readRunDir(t, dir)
			if res.Status != tt.wantStatus || m.Status != tt.wantStatus || !strings.Contains(m.Reason, tt.wantReason) {
				t.Errorf("status %q, manifest %q reason %q; want %q with reason containing %q", res.Status, m.Status, m.Reason, tt.wantStatus, tt.wantReason)
			}
			if m.EndedAt.IsZero() || m.Records != int64(len(recs)) {
				t.Errorf("manifest ended %v records %d, file has %d", m.EndedAt, m.Records, len(recs))
			}
			if tt.wantStatus == run.StatusInterrupted {
				have := map[int64]bool{}
				for _, r := range recs {
					have[r.Seq] = true
				}
				for seq := range tgt.Completed() {
					if !have[seq] {
						t.Errorf("request %d completed but is not in records.jsonl", seq)
					}
				}
				if int64(len(recs)) != res.Sent {
					t.Errorf("%d records for %d sent", len(recs), res.Sent)
				}
			}
		})
	}
}

// The signal test: the parent runs a loopback HTTP server and re-executes
// this test binary as a child that runs a Runner against it; the parent
// sends SIGINT mid-run and checks that every request the server completed
// is in the child's records.jsonl.

const signalChildEnv = "NEEDLESTORM_SIGNAL_CHILD"

// httpTestTarget is a minimal streaming HTTP target for the signal test.
type httpTestTarget struct {
	url string
	c   *http.Client
}

func (h *httpTestTarget) Name() string { return "http-test" }

func (h *httpTestTarget) Send(ctx context.Context, c *corpus.Case, rec *run.Record) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, strings.NewReader(c.ID))
	if err != nil {
		rec.ErrorClass, rec.Error = run.ErrBadResponse, err.Error()
		return
	}
	req.Header.Set("X-Seq", strconv.FormatInt(rec.Seq, 10))
	rec.SentAt = time.Now()
	resp, err := h.c.Do(req)
	if err != nil {
		rec.ErrorClass, rec.Error = run.ErrConnection, err.Error()
		if ctx.Err() != nil {
			rec.ErrorClass = run.ErrCanceled
		}
		return
	}
	defer resp.Body.Close()
	rec.Status = resp.StatusCode
	b, err := io.ReadAll(resp.Body)
	rec.E2E = run.Seconds(time.Since(rec.SentAt))
	rec.Answer = string(b)
	if err != nil {
		rec.ErrorClass, rec.Error = run.ErrStreamBroken, err.Error()
		if ctx.Err() != nil {
			rec.ErrorClass = run.ErrCanceled
		}
	}
}

func TestRunnerSIGINTChild(t *testing.T) {
	spec := os.Getenv(signalChildEnv)
	if spec == "" {
		t.Skip("only runs as the child of TestRunnerSIGINT")
	}
	dir, url, _ := strings.Cut(spec, "|")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tgt := &httpTestTarget{url: url, c: &http.Client{}}
	r, err := NewRunner(tgt, testkit.Cases(3), Schedule{{Kind: StageConstant, Rate: 100, Duration: run.Seconds(20 * time.Second)}}, Grace(2*time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	res, err := r.Run(ctx, dir)
	fmt.Fprintf(os.Stderr, "child: status %s, %d records, err %v\n", res.Status, res.Records, err)
	if res.Status == run.StatusInterrupted {
		os.Exit(3)
	}
	os.Exit(0)
}

func TestRunnerSIGINT(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	var mu sync.Mutex
	completed := map[int64]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seq, _ := strconv.ParseInt(r.Header.Get("X-Seq"), 10, 64)
		io.Copy(io.Discard, r.Body)
		fl := w.(http.Flusher)
		for i := range 5 {
			fmt.Fprintf(w, "part%d ", i)
			fl.Flush()
			select {
			case <-time.After(30 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
		mu.Lock()
		completed[seq] = true
		mu.Unlock()
	}))
	defer srv.Close()

	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRunnerSIGINTChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), signalChildEnv+"="+dir+"|"+srv.URL)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the server has completed a few requests, then interrupt.
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n := len(completed)
		mu.Unlock()
		if n >= 20 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the child completed only %d requests in 15 s; stderr:\n%s", n, stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("child exit: %v, want exit code 3 (interrupted); stderr:\n%s", err, stderr.String())
	}
	m, recs := readRunDir(t, dir)
	if m.Status != run.StatusInterrupted || m.EndedAt.IsZero() || m.Records != int64(len(recs)) {
		t.Errorf("manifest status %q ended %v records %d (file %d)", m.Status, m.EndedAt, m.Records, len(recs))
	}
	have := map[int64]run.Record{}
	for _, r := range recs {
		have[r.Seq] = r
	}
	mu.Lock()
	defer mu.Unlock()
	for seq := range completed {
		r, ok := have[seq]
		if !ok {
			t.Errorf("the server completed request %d but records.jsonl lacks it", seq)
		} else if r.ErrorClass == "" && r.Answer != "part0 part1 part2 part3 part4 " {
			t.Errorf("request %d: answer %q", seq, r.Answer)
		}
	}
	if len(recs) < len(completed) {
		t.Errorf("%d records for %d completed requests", len(recs), len(completed))
	}
}

// namedFake is a fake target called name that answers after 1 ms.
func namedFake(name string) *testkit.FakeTarget {
	f := testkit.NewFakeTarget(time.Millisecond)
	f.TargetName = name
	return f
}

// TestRunnerSessionSeveralTargets writes two targets into one run directory:
// one manifest, one records file whose sequence numbers continue across the
// targets, and an interruption of the second keeping the first's records.
func TestRunnerSessionSeveralTargets(t *testing.T) {
	tests := []struct {
		name       string
		stopSecond bool
		wantStatus string
	}{
		{"both run", false, run.StatusComplete},
		{"second interrupted", true, run.StatusInterrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			dir := filepath.Join(t.TempDir(), "run")
			rs, err := run.Open(dir, run.Tool("needlestorm", "v9"), run.Asked([]string{"a", "b"}, nil))
			if err != nil {
				t.Fatal(err)
			}
			s := NewSession(rs, Grace(time.Second))
			if m, err := run.ReadManifest(dir); err != nil || m.Status != run.StatusRunning {
				t.Fatalf("manifest while running: %+v, %v", m, err)
			}
			sched := Schedule{{Kind: StageConstant, Rate: 200, Requests: 5}}
			runErr := s.Dispatch(ctx, namedFake("a"), testkit.Cases(2), sched)
			if runErr != nil {
				t.Fatal(runErr)
			}
			if err := rs.UpdateManifest(func(m *run.Manifest) { m.Preflight = json.RawMessage(`[{"target":"a"}]`) }); err != nil {
				t.Fatal(err)
			}
			runCtx, stop := context.WithCancelCause(ctx)
			defer stop(nil)
			second := Schedule{{Kind: StageConstant, Rate: 200, Requests: 5}}
			if tt.stopSecond {
				stop(errors.New("budget: spent $2.00 of $1.00"))
			}
			if err := s.Dispatch(runCtx, namedFake("b"), testkit.Cases(2), second); err != nil {
				runErr = err
			}
			res, err := rs.Close(runCtx, runErr)
			if (err != nil) != tt.stopSecond {
				t.Errorf("close: %v", err)
			}
			m, recs := readRunDir(t, dir)
			if res.Status != tt.wantStatus || m.Status != tt.wantStatus {
				t.Errorf("status %q, manifest %q; want %q", res.Status, m.Status, tt.wantStatus)
			}
			if tt.stopSecond && m.Reason != "budget: spent $2.00 of $1.00" {
				t.Errorf("reason %q, want the cause of the stop", m.Reason)
			}
			if m.NonceSalt != rs.NonceSalt() {
				t.Errorf("manifest nonce salt %#x, the session's %#x", m.NonceSalt, rs.NonceSalt())
			}
			if string(m.Preflight) == "" || !strings.Contains(string(m.Preflight), `"a"`) {
				t.Errorf("manifest preflight lost: %s", m.Preflight)
			}
			byTarget := map[string]int{}
			seqs := map[int64]bool{}
			for _, r := range recs {
				byTarget[r.Target]++
				if seqs[r.Seq] {
					t.Errorf("sequence number %d appears twice", r.Seq)
				}
				seqs[r.Seq] = true
			}
			wantB := 5
			if tt.stopSecond {
				wantB = 0
			}
			if byTarget["a"] != 5 || byTarget["b"] != wantB || m.Records != int64(len(recs)) || res.Sent != int64(len(recs)) {
				t.Errorf("records per target %v (manifest %d, sent %d); want a 5, b %d", byTarget, m.Records, res.Sent, wantB)
			}
			if _, err := rs.Close(runCtx, nil); err == nil {
				t.Error("a second Close succeeded")
			}
		})
	}
}

// TestRunnerNonceSaltAcrossRuns runs the same cases twice against one
// long-lived simulator with vLLM's prefix cache: each run draws its own
// nonce salt (recorded in its manifest), so the second run's prompts are
// new to the cache too and only the system prompt's blocks are read from
// it. With the same salt given to both runs the second run's prompts are
// the first's, and the cache serves nearly all of them: what a rerun sent
// before runs had a salt.
func TestRunnerNonceSaltAcrossRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cases, err := corpus.Matrix{Tasks: []string{corpus.TaskSingle}, Lengths: []int{2000}, Depths: []float64{25, 75}, Seed: 5}.Cases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := corpus.GetTokenizer(corpus.DefaultEncoding)
	if err != nil {
		t.Fatal(err)
	}
	sys := tok.Count(corpus.SystemPrompt) / sim.PrefixBlockTokens * sim.PrefixBlockTokens
	tests := []struct {
		name string
		opts []run.Option // of both runs
		// the cached tokens of the second run's records, at least and at
		// most
		min, max int
	}{
		{"a salt per run", nil, 0, sys},
		{"the same salt", []run.Option{run.NonceSalt(7)}, 2000 - 2*sim.PrefixBlockTokens, 2000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testkit.SimConfig(t, "vllm-8b")
			srv := testkit.StartSim(t, cfg)
			tgt, err := endpoint.NewTarget(endpoint.TargetConfig{Name: "vllm", Kind: "openai", BaseURL: srv.URL(), Model: cfg.Model},
				endpoint.TargetEnv(testkit.NoEnv))
			if err != nil {
				t.Fatal(err)
			}
			var salts []uint64
			for i := range 2 {
				r, err := NewRunner(tgt, cases, Schedule{{Kind: StageConcurrency, Concurrency: 1, Requests: len(cases)}})
				if err != nil {
					t.Fatal(err)
				}
				dir := filepath.Join(t.TempDir(), "run")
				if _, err := r.Run(ctx, dir, tt.opts...); err != nil {
					t.Fatal(err)
				}
				m, recs := readRunDir(t, dir)
				salts = append(salts, m.NonceSalt)
				if len(recs) != len(cases) {
					t.Fatalf("run %d: %d records, want %d", i+1, len(recs), len(cases))
				}
				lo, hi := 0, sys
				if i == 1 {
					lo, hi = tt.min, tt.max
				}
				for _, rec := range recs {
					if rec.ErrorClass != "" || rec.PromptTokensServer == 0 {
						t.Fatalf("run %d, %s: %s %s (server tokens %d)", i+1, rec.CaseID, rec.ErrorClass, rec.Error, rec.PromptTokensServer)
					}
					if rec.CachedTokens < lo || rec.CachedTokens > hi {
						t.Errorf("run %d, %s: %d of %d prompt tokens cached, want %d to %d", i+1, rec.CaseID, rec.CachedTokens, rec.PromptTokensClient, lo, hi)
					}
				}
			}
			if same := salts[0] == salts[1]; same != (tt.opts != nil) {
				t.Errorf("the manifests' nonce salts are %#x and %#x", salts[0], salts[1])
			}
		})
	}
}

// TestRunnerCheckRunDir: a directory is refused before anything is created
// when it holds a run (unless overwriting) or is a file; a new or empty
// directory is accepted.
func TestRunnerCheckRunDir(t *testing.T) {
	root := t.TempDir()
	held := filepath.Join(root, "held")
	if err := os.MkdirAll(held, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(held, run.RecordsFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		dir       string
		overwrite bool
		want      string // in the error; "" for none
		exists    bool   // the error wraps run.ErrExists
	}{
		{"new", filepath.Join(root, "new", "run"), false, "", false},
		{"empty", root, false, "", false},
		{"holds a run", held, false, "--overwrite", true},
		{"holds a run, overwrite", held, true, "", false},
		{"a file", file, true, "is a file", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run.CheckDir(tt.dir, tt.overwrite)
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("CheckRunDir: %v, want an error containing %q", err, tt.want)
			}
			if errors.Is(err, run.ErrExists) != tt.exists {
				t.Errorf("errors.Is(%v, run.ErrExists) = %v", err, !tt.exists)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(root, "new")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("CheckRunDir created a directory: %v", err)
	}
}
