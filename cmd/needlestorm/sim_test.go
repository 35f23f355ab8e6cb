package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/needlestorm/needlestorm/sim"
)

func TestSimListProfiles(t *testing.T) {
	app := newApp()
	var out strings.Builder
	app.Writer = &out
	if err := app.Run([]string{"needlestorm", "sim", "--list-profiles"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range append(sim.Profiles(), "--context-window", "2048", "truncate_left", "--fault-429", "--time-scale") {
		if !strings.Contains(out.String(), want) {
			t.Errorf("profile table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestSimRefusesRemoteAndBadInput(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "0.0.0.0:0"}, "--allow-remote"},
		{[]string{"--listen", ":8089"}, "loopback"},
		{[]string{"--profile", "gpu-farm"}, "unknown simulator profile"},
		{[]string{"--listen", "127.0.0.1:0", "--overflow", "drop"}, "overflow"},
		{[]string{"--listen", "127.0.0.1:0", "--max-seqs", "0"}, "max_seqs"},
		{[]string{"extra"}, "no arguments"},
	}
	for _, tt := range tests {
		app := newApp()
		app.Writer, app.ErrWriter = io.Discard, io.Discard
		app.ExitErrHandler = func(*cli.Context, error) {} // report the exit status, do not exit
		err := app.Run(append([]string{"needlestorm", "sim"}, tt.args...))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("sim %v: %v, want an error about %q", tt.args, err, tt.want)
		}
		var ec cli.ExitCoder
		if !errors.As(err, &ec) || ec.ExitCode() != 2 {
			t.Errorf("sim %v: %v, want a usage error with exit status 2", tt.args, err)
		}
	}
}

// TestSimServesAndStops runs the command with overrides on a free loopback
// port, checks the overrides through /v1/models, and stops it by canceling.
func TestSimServesAndStops(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	app := newApp()
	app.Writer, app.ErrWriter = pw, io.Discard
	done := make(chan error, 1)
	go func() {
		done <- app.RunContext(runCtx, []string{"needlestorm", "sim", "--profile", "fast", "--listen", "127.0.0.1:0",
			"--context-window", "4096", "--model", "sim-test", "--time-scale", "0", "--seed", "7"})
		pw.Close()
	}()
	var base string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "OpenAI base URL:"); ok {
			base = strings.TrimSpace(u)
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if base == "" {
		t.Fatalf("no URL printed; run ended with %v", <-done)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/models", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"id":"sim-test"`) || !strings.Contains(string(body), `"max_model_len":4096`) {
		t.Errorf("overrides not applied: %s", body)
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("sim ended with %v", err)
		}
	case <-ctx.Done():
		t.Fatal("sim did not stop")
	}
}
