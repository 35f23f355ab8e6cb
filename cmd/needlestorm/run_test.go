package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/needlestorm/needlestorm/run"
)

// runTestApp runs `needlestorm args...` in-process and returns its stdout,
// stderr and error. Exit codes are returned as errors, not acted on.
func runTestApp(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	app := newApp()
	app.Writer, app.ErrWriter = &out, &errOut
	app.ExitErrHandler = func(*cli.Context, error) {}
	err := app.Run(append([]string{"needlestorm"}, args...))
	return out.String(), errOut.String(), err
}

func runTestReadDir(t *testing.T, dir string) (*run.Manifest, []run.Record) {
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

func TestRunCommandSimulator(t *testing.T) {
	// A VictoriaMetrics stand-in receiving the pushed metrics.
	var pushMu sync.Mutex
	var pushed []string
	vm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rd io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			rd = zr
		}
		b, _ := io.ReadAll(rd)
		pushMu.Lock()
		pushed = append(pushed, r.Method+" "+r.URL.Path+"\n"+string(b))
		pushMu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer vm.Close()

	dir := filepath.Join(t.TempDir(), "run")
	out, errOut, err := runTestApp(t, "run", "--out", dir, "--rates", "40", "--stage-duration", "500ms", "--warmup", "250ms",
		"--lengths", "300", "--depths", "0,100", "--quiet", "--sim-time-scale", "0",
		"--metrics-addr", "127.0.0.1:0", "--metrics-push", vm.URL+"/api/v1/import/prometheus")
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, errOut)
	}
	if !strings.Contains(errOut, "serving live metrics on http://127.0.0.1:") {
		t.Errorf("stderr does not say where metrics are served:\n%s", errOut)
	}
	pushMu.Lock()
	if len(pushed) == 0 || !strings.HasPrefix(pushed[len(pushed)-1], "POST /api/v1/import/prometheus") ||
		!strings.Contains(pushed[len(pushed)-1], `needlestorm_requests_total{run="run",campaign="sim-fast",target="sim-fast",model="sim-fast",stage="rate=40/s",length="300",status="200"} 20`) {
		t.Errorf("the final metrics push is missing or incomplete: %q", pushed)
	}
	pushMu.Unlock()
	if !strings.Contains(errOut, "started the built-in simulator") || !strings.Contains(errOut, "127.0.0.1:") {
		t.Errorf("stderr does not say the simulator was started on loopback:\n%s", errOut)
	}
	m, recs := runTestReadDir(t, dir)
	if m.Status != run.StatusComplete || m.Records != int64(len(recs)) {
		t.Errorf("manifest status %q records %d, file %d", m.Status, m.Records, len(recs))
	}
	// 0.25 s of warm-up and 0.5 s at 40/s: 10 + 20 requests.
	var warm, measured int
	for _, r := range recs {
		if r.Warmup {
			warm++
			continue
		}
		measured++
		if r.Target != "sim-fast" || r.Length != 300 || r.ErrorClass != "" {
			t.Errorf("record %d: target %q length %d error %q %s", r.Seq, r.Target, r.Length, r.ErrorClass, r.Error)
		}
	}
	if warm != 10 || measured != 20 {
		t.Errorf("%d warm-up and %d measured records, want 10 and 20", warm, measured)
	}
	// One end-of-run summary: the report's, then what only the run knows,
	// each line once.
	for _, want := range []string{"run complete: 30 records (10 warm-up) in ", "errors: none", "run directory: " + dir,
		"report: " + filepath.Join(dir, "report.html"), "objectives: "} {
		if n := strings.Count(out, want); n != 1 {
			t.Errorf("summary holds %q %d times, want once:\n%s", want, n, out)
		}
	}
	if n := strings.Count(out, "run complete"); n != 1 {
		t.Errorf("the run's status is printed %d times:\n%s", n, out)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) != "" && lines[l] && !strings.HasPrefix(strings.TrimSpace(l), "length") {
			t.Errorf("summary line %q printed twice:\n%s", l, out)
		}
		lines[l] = true
	}
	if strings.Contains(errOut, "stage 1/") {
		t.Errorf("--quiet still drew progress:\n%s", errOut)
	}
}

// runTestOpenAI is a loopback OpenAI-compatible server that streams a short
// answer after delay, checks the API key, and counts completed responses.
type runTestOpenAI struct {
	key       string
	delay     time.Duration
	status    int // non-200: answer with an error echoing the key
	completed atomic.Int64
	// models and chats count the requests to /models and to the chat
	// endpoint.
	models, chats atomic.Int64
	mu            sync.Mutex
	auth          []string
	// hangEvery > 0 makes every hangEvery-th chat request hang until the
	// client cancels it; hanging counts those in flight, canceled those the
	// client gave up on.
	hangEvery         int64
	hanging, canceled atomic.Int64
}

func (f *runTestOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	f.mu.Lock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.mu.Unlock()
	if f.status != 0 && f.status != 200 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		fmt.Fprintf(w, `{"error":{"message":"Incorrect API key provided: %s","type":"invalid_request_error","code":"invalid_api_key"}}`, f.key)
		return
	}
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/models") {
		f.models.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"object":"list","data":[{"id":"fake","object":"model","owned_by":"test"}]}`)
		return
	}
	n := f.chats.Add(1)
	if f.hangEvery > 0 && n%f.hangEvery == 0 {
		f.hanging.Add(1)
		<-r.Context().Done()
		f.hanging.Add(-1)
		f.canceled.Add(1)
		return
	}
	select {
	case <-time.After(f.delay):
	case <-r.Context().Done():
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	chunk := func(s string) {
		fmt.Fprintf(w, "data: %s\n\n", s)
		w.(http.Flusher).Flush()
	}
	head := `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"fake"`
	chunk(head + `,"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`)
	chunk(head + `,"choices":[{"index":0,"delta":{"content":"I do not"},"finish_reason":null}]}`)
	chunk(head + `,"choices":[{"index":0,"delta":{"content":" know."},"finish_reason":null}]}`)
	chunk(head + `,"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`)
	chunk(head + `,"choices":[],"usage":{"prompt_tokens":310,"completion_tokens":4,"total_tokens":314}}`)
	chunk("[DONE]")
	f.completed.Add(1)
}

func TestRunCommandKeepsKeysOut(t *testing.T) {
	const canary = "sk-canary-7f3a9c1e5b2d4680"
	t.Setenv("NS_TEST_KEY", canary)
	tests := []struct {
		name        string
		status      int
		preflight   bool
		wantErr     string // the run stops before any load with this error
		wantRecords int
		wantCode    int // the fake answers wrong: objectives fail
	}{
		{"answers", 200, true, "", 5, exitObjectives},
		{"key rejected at preflight", 401, true, "refused the API key", 0, exitUnmeasured},
		{"key rejected without preflight", 401, false, "", 5, exitUnmeasured},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &runTestOpenAI{key: canary, status: tt.status}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			dir := filepath.Join(t.TempDir(), "run")
			args := []string{"run", "--target", srv.URL + "/v1", "--kind", "openai", "--model", "fake",
				"--api-key-env", "NS_TEST_KEY", "--header", "X-Extra=${NS_TEST_KEY}", "--out", dir,
				"--rates", "20", "--requests-per-stage", "5", "--lengths", "300", "--depths", "50"}
			if !tt.preflight {
				args = append(args, "--no-preflight")
			}
			out, errOut, err := runTestApp(t, args...)
			files := map[string]string{"stdout": out, "stderr": errOut}
			if err != nil {
				files["error"] = err.Error()
			}
			switch {
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("run: %v, want an error containing %q\nstderr:\n%s", err, tt.wantErr, errOut)
			case campaignTestExitCode(err) != tt.wantCode:
				t.Fatalf("run: exit %d (%v), want %d\nstderr:\n%s", campaignTestExitCode(err), err, tt.wantCode, errOut)
			}
			fake.mu.Lock()
			auth := append([]string(nil), fake.auth...)
			fake.mu.Unlock()
			if len(auth) == 0 || auth[0] != "Bearer "+canary {
				t.Errorf("the server saw %d requests, first Authorization %q: want them with the key", len(auth), auth)
			}
			for _, name := range []string{run.ManifestFile, run.RecordsFile} {
				b, err := os.ReadFile(filepath.Join(dir, name))
				if tt.wantRecords == 0 {
					if err == nil {
						t.Errorf("%s was written although the run stopped before any load", name)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				files[name] = string(b)
			}
			for where, text := range files {
				if strings.Contains(text, canary) || strings.Contains(text, canary[3:15]) {
					t.Errorf("the API key appears in %s", where)
				}
			}
			if tt.wantRecords == 0 {
				if n := fake.chats.Load(); n != 0 {
					t.Errorf("%d chat requests reached the server after preflight failed", n)
				}
				return
			}
			_, recs := runTestReadDir(t, dir)
			if len(recs) != tt.wantRecords {
				t.Fatalf("%d records, want %d", len(recs), tt.wantRecords)
			}
			if tt.status != 200 && (recs[0].Status != tt.status || recs[0].ErrorClass == "") {
				t.Errorf("a %d answer recorded as status %d class %q", tt.status, recs[0].Status, recs[0].ErrorClass)
			}
			if tt.status != 200 && !strings.Contains(out, "errors: 5") {
				t.Errorf("summary does not count the errors:\n%s", out)
			}
			if tt.preflight && !strings.Contains(errOut, "preflight fake") {
				t.Errorf("stderr does not show the preflight report:\n%s", errOut)
			}
		})
	}
}

func TestRunFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
		code int // exit status: 2 for a usage error
	}{
		{"rates and concurrency", []string{"--rates", "1", "--concurrency", "2"}, "not both", 2},
		{"bad rate", []string{"--rates", "1,fast"}, "--rates", 2},
		{"zero rate", []string{"--rates", "0"}, "--rates", 2},
		{"unending stage", []string{"--stage-duration", "0"}, "needs an end", 2},
		{"bad kind", []string{"--kind", "grpc"}, "--kind", 2},
		{"bad target", []string{"--target", "ftp://example.com", "--kind", "openai"}, `--target: "ftp://example.com" must start with http://`, 2},
		{"sim kind with a URL", []string{"--target", "http://127.0.0.1:1/v1", "--kind", "sim"}, "--kind sim", 2},
		{"header without value", []string{"--header", "Authorization: Bearer sk-secret-123"}, "Name=value", 2},
		{"extra body not an object", []string{"--extra-body", "[1]"}, "--extra-body", 2},
		{"bad lengths", []string{"--lengths", "big"}, "--lengths", 2},
		{"bad depths", []string{"--depths", "150"}, "--depths", 2},
		{"zero samples", []string{"--samples", "0"}, "--samples", 2},
		{"bad profile", []string{"--sim-profile", "nope", "--requests-per-stage", "1"}, "--sim-profile", 2},
		{"missing campaign file", []string{"no-such-campaign.yaml"}, "no-such-campaign.yaml", 1}, // not a usage error: the file cannot be read
		{"two campaign files", []string{"a.yaml", "b.yaml"}, "at most one campaign file", 2},
		{"remote target without model", []string{"--target", "http://127.0.0.1:1/v1"}, "--model: missing", 2},
		{"targets without a file", []string{"--targets", "a"}, "--targets", 2},
		{"repeats with requests per stage", []string{"--repeats", "2", "--requests-per-stage", "5"}, "give only one of them", 2},
		{"repeats cut short by the stage duration", []string{"--repeats", "3", "--depths", "0,50,100", "--rates", "1", "--stage-duration", "5s"}, "fewer than the 3 cases × --repeats 3 = 9", 2},
		{"zero repeats", []string{"--repeats", "0"}, "--repeats: 0 is the same as leaving it out", 2},
		{"number that does not parse", []string{"--samples", "many"}, "needlestorm run --help", 2},
		{"negative nonce salt", []string{"--nonce-salt", "-1"}, "nonce-salt", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"run", "--quiet", "--lengths", "300", "--out", filepath.Join(t.TempDir(), "r")}, tt.args...)
			_, _, err := runTestApp(t, args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if code := campaignTestExitCode(err); code != tt.code {
				t.Errorf("exit status %d, want %d (%v)", code, tt.code, err)
			}
			if strings.Contains(err.Error(), "sk-secret") {
				t.Errorf("the error repeats a header value: %v", err)
			}
		})
	}
}

// TestRunCommandSIGINT runs the command in a child process (this test
// binary, re-executed), interrupts it with SIGINT mid-run, and checks the
// exit status, the manifest and that every response the server completed is
// in records.jsonl.
func TestRunCommandSIGINT(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	fake := &runTestOpenAI{delay: 150 * time.Millisecond}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "run")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRunCommandChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), runTestChildEnv+"="+strings.Join([]string{
		"run", "--target", srv.URL + "/v1", "--kind", "openai", "--model", "fake", "--out", dir,
		"--rates", "40", "--stage-duration", "60s", "--lengths", "300", "--depths", "50", "--grace", "5s",
		"--no-preflight",
	}, "\x1f"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for fake.completed.Load() < 20 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the server completed %d requests in 30 s; stderr:\n%s", fake.completed.Load(), stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
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
	if m.Status != run.StatusInterrupted || !strings.Contains(m.Reason, "interrupt") || m.Records != int64(len(recs)) {
		t.Errorf("manifest: status %q reason %q records %d (file %d)", m.Status, m.Reason, m.Records, len(recs))
	}
	ok := 0
	for _, r := range recs {
		if r.ErrorClass == "" && r.Answer == "I do not know." {
			ok++
		}
	}
	// The grace period (5 s) outlasts every request (150 ms), so every
	// response the server completed arrived and was recorded.
	if n := fake.completed.Load(); int64(ok) != n || len(recs) != ok {
		t.Errorf("the server completed %d responses; records.jsonl has %d records, %d of them complete", n, len(recs), ok)
	}
	if !strings.Contains(stdout.String(), "run INTERRUPTED") || !strings.Contains(stderr.String(), "sending stopped") {
		t.Errorf("output does not say the run was interrupted:\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
}

const runTestChildEnv = "NEEDLESTORM_RUN_CHILD_ARGS"

// TestRunCommandChild is the child of TestRunCommandSIGINT: it runs main
// with the arguments in the environment.
func TestRunCommandChild(t *testing.T) {
	args := os.Getenv(runTestChildEnv)
	if args == "" {
		t.Skip("only runs as the child of TestRunCommandSIGINT")
	}
	os.Args = append([]string{"needlestorm"}, strings.Split(args, "\x1f")...)
	main()
}

func FuzzRunParseRates(f *testing.F) {
	for _, s := range []string{"1,2,4,8", "0.5", "10/s, 20/s", "", "1,,2", "-1", "NaN", "1e300", "inf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rates, err := runParseRates(s)
		if err != nil {
			if !strings.Contains(err.Error(), "--rates") {
				t.Errorf("error %q does not name --rates", err)
			}
			return
		}
		if len(rates) == 0 {
			t.Fatalf("%q: no rates and no error", s)
		}
		for _, r := range rates {
			if !(r > 0) || r > 1e6 {
				t.Errorf("%q gave rate %g", s, r)
			}
		}
	})
}

// runTestSyncBuffer is a bytes.Buffer safe to read while a child process
// writes to it.
type runTestSyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *runTestSyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *runTestSyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRunCommandSecondInterrupt interrupts a run (in a child process) twice
// while requests hang on the server and the grace period is long: the
// second signal must cancel them at once, record each as canceled, keep
// every response the server completed, write the manifest interrupted with
// the reason, and exit 130. It runs the child as started, and as a shell
// starts a background job (SIGINT ignored), where restoring the inherited
// disposition after the first signal would make the second do nothing.
func TestRunCommandSecondInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	sh, shErr := exec.LookPath("sh")
	tests := []struct {
		name          string
		ignoredSIGINT bool
	}{
		{"started normally", false},
		{"started with SIGINT ignored", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.ignoredSIGINT && shErr != nil {
				t.Skip("no sh to start the child with SIGINT ignored")
			}
			fake := &runTestOpenAI{delay: 20 * time.Millisecond, hangEvery: 3}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			dir := filepath.Join(t.TempDir(), "run")

			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			child := []string{os.Args[0], "-test.run=^TestRunCommandChild$", "-test.count=1"}
			var cmd *exec.Cmd
			if tt.ignoredSIGINT {
				// trap '' INT ignores SIGINT; exec keeps it ignored.
				cmd = exec.CommandContext(ctx, sh, append([]string{"-c", `trap '' INT; exec "$@"`, "sh"}, child...)...)
			} else {
				cmd = exec.CommandContext(ctx, child[0], child[1:]...)
			}
			cmd.Env = append(os.Environ(), runTestChildEnv+"="+strings.Join([]string{
				"run", "--target", srv.URL + "/v1", "--kind", "openai", "--model", "fake", "--out", dir,
				"--rates", "40", "--stage-duration", "60s", "--lengths", "300", "--depths", "50", "--grace", "5m",
				"--no-preflight", "--quiet",
			}, "\x1f"))
			var stdout, stderr runTestSyncBuffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitFor := func(what string, ok func() bool) {
				t.Helper()
				deadline := time.Now().Add(30 * time.Second)
				for !ok() {
					if time.Now().After(deadline) {
						cmd.Process.Kill()
						t.Fatalf("waited 30 s for %s; stderr:\n%s", what, stderr.String())
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			waitFor("completed and hanging requests", func() bool { return fake.completed.Load() >= 10 && fake.hanging.Load() >= 3 })
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			waitFor("the first interrupt to be acknowledged", func() bool { return strings.Contains(stderr.String(), "sending stopped") })
			// Requests hang until canceled and the grace period is 5
			// minutes: only the second signal can end the run now.
			time.Sleep(200 * time.Millisecond)
			if fake.hanging.Load() == 0 {
				t.Fatal("no request is in flight any more; the test cannot tell the second interrupt's doing")
			}
			start := time.Now()
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
				t.Fatalf("exit: %v, want status %d; stderr:\n%s", err, exitInterrupted, stderr.String())
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("the process took %s to end after the second interrupt", took)
			}
			m, recs := runTestReadDir(t, dir)
			if m.Status != run.StatusInterrupted || m.Reason != "second interrupt: requests in flight canceled" || m.Records != int64(len(recs)) {
				t.Errorf("manifest: status %q reason %q records %d (file %d)", m.Status, m.Reason, m.Records, len(recs))
			}
			ok, canceled := 0, 0
			for _, r := range recs {
				switch {
				case r.ErrorClass == "" && r.Answer == "I do not know.":
					ok++
				case r.ErrorClass == run.ErrCanceled:
					canceled++
				default:
					t.Errorf("record %d: error class %q (%s), want a complete answer or canceled", r.Seq, r.ErrorClass, r.Error)
				}
			}
			if n := fake.completed.Load(); int64(ok) != n {
				t.Errorf("the server completed %d responses; records.jsonl has %d of them", n, ok)
			}
			if n := fake.canceled.Load(); int64(canceled) != n || canceled == 0 {
				t.Errorf("the server saw %d requests canceled; records.jsonl has %d canceled records", n, canceled)
			}
			if n := fake.chats.Load(); int64(len(recs)) != n {
				t.Errorf("the server received %d requests; records.jsonl has %d records", n, len(recs))
			}
			if !strings.Contains(stderr.String(), "canceling the requests in flight") || !strings.Contains(stderr.String(), "needlestorm report "+dir) {
				t.Errorf("stderr does not say what the second interrupt did:\n%s", stderr.String())
			}
		})
	}
}

// TestRunRepeats checks that --repeats sends each case N times in every
// stage of a flag run (the dry-run plan says so too), and that the report
// then shows consistency over repeats.
func TestRunRepeats(t *testing.T) {
	args := []string{"--lengths", "300", "--depths", "0,100", "--rates", "50", "--quiet", "--sim-time-scale", "0"}
	plain, _, err := runTestApp(t, append([]string{"run", "--dry-run"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	plan, _, err := runTestApp(t, append([]string{"run", "--dry-run", "--repeats", "3"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	if plan == plain || !strings.Contains(plan, "rate=50/s  6 requests") || !strings.Contains(plan, "repeats 3: every stage sends each of the 2 cases 3 times") {
		t.Errorf("the plan with --repeats 3:\n%s\nwithout:\n%s", plan, plain)
	}

	dir := filepath.Join(t.TempDir(), "run")
	out, errOut, err := runTestApp(t, append([]string{"run", "--repeats", "3", "--out", dir}, args...)...)
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, errOut)
	}
	_, recs := runTestReadDir(t, dir)
	repeats := map[string][]int{}
	for _, r := range recs {
		repeats[r.CaseID] = append(repeats[r.CaseID], r.Repeat)
	}
	if len(recs) != 6 || len(repeats) != 2 {
		t.Fatalf("%d records over %d cases, want 6 over 2", len(recs), len(repeats))
	}
	for id, rs := range repeats {
		if !slices.Equal(rs, []int{0, 1, 2}) {
			t.Errorf("case %s sent as repeats %v, want 0, 1, 2", id, rs)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Targets []struct {
			Consistency struct {
				Cases         int     `json:"cases"`
				MeanAgreement float64 `json:"mean_agreement"`
				MeanDistinct  float64 `json:"mean_distinct"`
			} `json:"consistency"`
		} `json:"targets"`
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if len(sum.Targets) != 1 || sum.Targets[0].Consistency.Cases != 2 || sum.Targets[0].Consistency.MeanAgreement <= 0 || sum.Targets[0].Consistency.MeanDistinct < 1 {
		t.Errorf("summary.json consistency: %+v", sum.Targets)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "summary.md"))
	// The run asked for repeats (the manifest's corpus says so), so the
	// agreement is labelled as consistency over repeats.
	if !strings.Contains(string(md), "## Consistency") || !strings.Contains(string(md), "| consistency over repeats | 2 |") ||
		!strings.Contains(out, "consistency over repeats: 2 cases") {
		t.Errorf("consistency over repeats missing from summary.md or the printed summary:\n%s\nsummary.md:\n%s", out, md)
	}
}

// TestRunUnpricedCost checks that a target without prices shows its cost
// as unknown ("-", null) in what run prints and writes, and the same in a
// report regenerated from the run directory: never $0.
func TestRunUnpricedCost(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	runOut, errOut, err := runTestApp(t, "run", "--out", dir, "--rates", "50", "--requests-per-stage", "4", "--lengths", "300", "--depths", "50", "--quiet", "--sim-time-scale", "0")
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, errOut)
	}
	m, _ := runTestReadDir(t, dir)
	if strings.Contains(string(m.Targets), `"prices"`) {
		t.Errorf("the manifest records prices for an unpriced target: %s", m.Targets)
	}
	read := func() map[string]string {
		files := map[string]string{}
		for _, f := range []string{"summary.json", "envelope.json", "summary.md", "report.html"} {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			files[f] = string(b)
		}
		return files
	}
	check := func(who, printed string, files map[string]string) {
		t.Helper()
		files["printed by "+who] = printed
		for name, text := range files {
			if strings.Contains(text, "$0") {
				t.Errorf("%s (after %s) shows a cost of $0 for an unpriced target", name, who)
			}
		}
		for _, name := range []string{"summary.json", "envelope.json"} {
			if !strings.Contains(files[name], `"cost": null`) && !strings.Contains(files[name], `"cost":null`) {
				t.Errorf("%s (after %s) does not give cost as null", name, who)
			}
		}
	}
	check("run", runOut, read())
	repOut, err := runApp("report", dir)
	if err != nil {
		t.Fatalf("report: %v\n%s", err, repOut)
	}
	check("report", repOut, read())
	// The envelope line's cost column says "-" in both.
	costCol := func(out string) string {
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) >= 6 && f[0] == "300" {
				return f[5]
			}
		}
		return ""
	}
	if a, b := costCol(runOut), costCol(repOut); a != "-" || b != "-" {
		t.Errorf("cost/request: run prints %q, report %q; want - in both\nrun:\n%s\nreport:\n%s", a, b, runOut, repOut)
	}
}

// TestRunCanariesAndSharedPrefix checks the two corpus switches of a flag
// run: --canaries puts canary values in every record, and --shared-prefix
// drops the per-request preamble, so the simulator's prefix cache (vllm-8b
// has one) serves repeats of a case, which it never does by default.
func TestRunCanariesAndSharedPrefix(t *testing.T) {
	cached := func(extra ...string) (maxCached int, canaries bool) {
		dir := filepath.Join(t.TempDir(), "run")
		args := append([]string{"run", "--out", dir, "--sim-profile", "vllm-8b", "--sim-time-scale", "0", "--quiet",
			"--lengths", "1k", "--depths", "50", "--rates", "50", "--repeats", "3"}, extra...)
		// Three requests may miss the accuracy objective (exit 99): what is
		// checked here is what the records hold.
		if _, errOut, err := runTestApp(t, args...); err != nil && campaignTestExitCode(err) != exitObjectives {
			t.Fatalf("run %v: %v\nstderr:\n%s", extra, err, errOut)
		}
		_, recs := runTestReadDir(t, dir)
		canaries = len(recs) > 0
		for _, r := range recs {
			maxCached = max(maxCached, r.CachedTokens)
			canaries = canaries && r.CanaryHead != "" && r.CanaryTail != ""
		}
		return maxCached, canaries
	}
	if c, can := cached(); c > 64 || can {
		t.Errorf("default run: max cached tokens %d (want only the system prompt's, <= 64), canaries %v (want none)", c, can)
	}
	if c, can := cached("--shared-prefix", "--canaries"); c < 900 || !can {
		t.Errorf("--shared-prefix --canaries: max cached tokens %d (want most of the 1k prompt), canaries %v (want in every record)", c, can)
	}
}
