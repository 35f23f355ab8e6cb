package sim

import (
	"context"
	"strings"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

func TestStartServeClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Start(ctx, testConfig(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if u := s.URL(); !strings.HasPrefix(u, "http://127.0.0.1:") || !strings.HasSuffix(u, "/v1") {
		t.Fatalf("URL %q", u)
	}
	cc := openai.DefaultConfig("")
	cc.BaseURL = s.URL()
	c := openai.NewClientWithConfig(cc)
	if _, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}}); err == nil {
		t.Fatal("request after Close succeeded")
	}
}

func TestStartStopsWithContextAndInFlight(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cfg := testConfig(t, func(c *Config) { c.TimeScale = 1; c.StallSeconds = 60; c.FaultStall = 1 })
	s, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		cc := openai.DefaultConfig("")
		cc.BaseURL = s.URL()
		rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer rcancel()
		_, err := openai.NewClientWithConfig(cc).CreateChatCompletion(rctx, openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}})
		done <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); s.Stats().Active == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the request never became active")
		}
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a stalled request finished normally after the server stopped")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a stalled request kept running after the server stopped")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("stopping took %v", d)
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, tt := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:0", true}, {"localhost:8089", true}, {"[::1]:80", true}, {"127.1.2.3:9", true},
		{"0.0.0.0:8089", false}, {":8089", false}, {"10.0.0.1:80", false}, {"example.com:80", false}, {"nonsense", false},
	} {
		if err := CheckLoopback(tt.addr); (err == nil) != tt.ok {
			t.Errorf("CheckLoopback(%q) = %v, want ok=%v", tt.addr, err, tt.ok)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := Start(ctx, testConfig(t, nil), WithAddr("0.0.0.0:0")); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("Start on 0.0.0.0: %v, want a loopback refusal", err)
	}
}

func TestProfilesValid(t *testing.T) {
	names := Profiles()
	for _, want := range []string{"fast", "vllm-8b", "ollama-default", "api-large"} {
		c, err := Profile(want)
		if err != nil {
			t.Fatalf("profile %s: %v", want, err)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("profile %s invalid: %v", want, err)
		}
	}
	if len(names) < 4 {
		t.Errorf("profiles %v", names)
	}
	if c, _ := Profile("ollama-default"); c.ContextWindow != 2048 || c.Overflow != OverflowTruncateLeft {
		t.Errorf("ollama-default: window %d overflow %s", c.ContextWindow, c.Overflow)
	}
	if _, err := Profile("nope"); err == nil || !strings.Contains(err.Error(), "vllm-8b") {
		t.Errorf("unknown profile error %v should list the profiles", err)
	}
	bad := testConfig(t, func(c *Config) { c.Overflow = "drop"; c.MaxSeqs = 0; c.Fault429 = 0.7; c.Fault5xx = 0.7 })
	err := bad.Validate()
	for _, want := range []string{"overflow", "max_seqs", "sum"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want a complaint about %s", err, want)
		}
	}
}
