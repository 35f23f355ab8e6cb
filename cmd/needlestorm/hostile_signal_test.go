package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/internal/hostile"
	"github.com/needlestorm/needlestorm/run"
)

// TestRunHostileSIGTERM builds needlestorm, runs it against a server that
// answers with long whitespace-free words and no usage (the answers'
// tokens are counted by the client, the CPU-heavy part of recording), and
// sends SIGTERM once the server has sent every answer whole: the process
// must exit within 2 s, with status 130, every sent request in
// records.jsonl.
func TestRunHostileSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if os.Getenv("NEEDLESTORM_HOSTILE_PENDING") == "1" {
		t.Skip("needs the endpoint's linear output-token counting (NEEDLESTORM_HOSTILE_PENDING=1 is set)")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build needlestorm with")
	}
	bin := filepath.Join(t.TempDir(), "needlestorm")
	bctx, bcancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer bcancel()
	if out, err := exec.CommandContext(bctx, goBin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	const requests = 2
	srv := hostile.Start(hostile.LongWord, hostile.Key(hostileCanary), hostile.Model("fake"), hostile.Bytes(256<<10))
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "--target", srv.URL, "--kind", "openai", "--model", "fake",
		"--api-key-env", hostileKeyEnv, "--out", dir, "--rates", "20", "--requests-per-stage", "2", "--stage-duration", "0",
		"--lengths", "1k", "--depths", "50", "--timeout", "60s", "--grace", "30s", "--no-preflight", "--quiet",
		"--max-tokens", "200000") // the answers stay within it: counted, not cut as runaways
	cmd.Env = append(os.Environ(), hostileKeyEnv+"="+hostileCanary)
	var stdout, stderr runTestSyncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	deadline := time.After(60 * time.Second)
	for srv.Answered() < requests {
		select {
		case err := <-exited:
			t.Fatalf("needlestorm exited (%v) before the server answered %d requests; stderr:\n%s", err, requests, stderr.String())
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("the server answered %d of %d requests in 60 s; stderr:\n%s", srv.Answered(), requests, stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	// Every answer is sent; the client is recording them.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	var werr error
	select {
	case werr = <-exited:
	case <-time.After(2 * time.Second):
		// Let it go on, to learn how long it takes, but it failed.
		select {
		case werr = <-exited:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			werr = <-exited
		}
		t.Errorf("needlestorm took %s to exit after SIGTERM, over 2 s", time.Since(sent).Round(time.Millisecond))
	}
	var ee *exec.ExitError
	if !errors.As(werr, &ee) || ee.ExitCode() != exitInterrupted {
		t.Errorf("exit: %v, want status %d; stderr:\n%s", werr, exitInterrupted, stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, run.RecordsFile))
	if err != nil {
		t.Fatalf("no records: %v; stderr:\n%s", err, stderr.String())
	}
	recs, err := run.ReadRecords(bytes.NewReader(b))
	if err != nil {
		t.Errorf("records.jsonl does not read back: %v", err)
	}
	if int64(len(recs)) != srv.Chats() {
		t.Errorf("%d records; the server received %d requests", len(recs), srv.Chats())
	}
	for _, r := range recs {
		if r.ErrorClass != "" {
			t.Errorf("record %d: %s (%s), want the finished answer recorded", r.Seq, r.ErrorClass, r.Error)
		}
	}
	for where, text := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String(), "records": string(b)} {
		if w := hostileKeyPiece(text); w != "" {
			t.Errorf("%s holds %q of the API key", where, w)
		}
	}
}
