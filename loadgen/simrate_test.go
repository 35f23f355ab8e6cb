package loadgen_test

import (
	"context"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/endpoint"
	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/run"
	"github.com/needlestorm/needlestorm/sim"
)

// TestRatesAgainstSimulator drives the built-in simulator (time scale 0)
// through the real openai target over loopback HTTP: a constant 200 req/s
// stage over 5 s achieves its rate within 2%, a Poisson stage its mean rate
// within tolerance, and a concurrency stage never exceeds N in flight (the
// server's own peak) while keeping N busy.
func TestRatesAgainstSimulator(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg, err := sim.Profile("fast")
	if err != nil {
		t.Fatal(err)
	}
	cfg.TimeScale = 0
	srv, err := sim.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cases, err := corpus.Matrix{Tasks: []string{corpus.TaskSingle}, Lengths: []int{300}, Depths: []float64{0, 50, 100}, Samples: 1, Seed: 1}.Cases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := endpoint.NewTarget(endpoint.TargetConfig{Name: "sim", Kind: endpoint.KindOpenAI, BaseURL: srv.URL(), Model: cfg.Model, MaxTokens: 32})
	if err != nil {
		t.Fatal(err)
	}
	send := func(st loadgen.Stage) []run.Record {
		t.Helper()
		sink := &searchMemSink{}
		d, err := loadgen.NewDispatcher(tgt, cases, sink)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Run(ctx, loadgen.Schedule{st}); err != nil {
			t.Fatal(err)
		}
		for _, r := range sink.recs {
			if r.ErrorClass != "" {
				t.Fatalf("request %d failed: %s %s", r.Seq, r.ErrorClass, r.Error)
			}
		}
		return sink.recs
	}
	rate := func(recs []run.Record) float64 {
		ts := make([]time.Time, len(recs))
		for i, r := range recs {
			ts[i] = r.SentAt
		}
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
		return float64(len(ts)-1) / ts[len(ts)-1].Sub(ts[0]).Seconds()
	}

	recs := send(loadgen.Stage{Kind: loadgen.StageConstant, Rate: 200, Duration: run.Seconds(5 * time.Second)})
	if n := len(recs); n < 990 || n > 1000 {
		t.Errorf("constant 200/s over 5 s sent %d requests, want 1000", n)
	}
	if got := rate(recs); math.Abs(got-200)/200 > 0.02 {
		t.Errorf("constant stage achieved %.2f req/s (from sent_at), want 200 ± 2%%", got)
	}

	recs = send(loadgen.Stage{Kind: loadgen.StagePoisson, Rate: 300, Duration: run.Seconds(1500 * time.Millisecond), Seed: 7})
	if got := rate(recs); math.Abs(got-300)/300 > 0.12 {
		t.Errorf("Poisson stage achieved %.1f req/s, want 300 ± 12%%", got)
	}

	// A slow server makes the closed loop's bound visible: each request
	// holds a sequence for a while, so the server sees exactly N at once.
	slow := cfg
	slow.TimeScale, slow.BaseLatency, slow.MaxSeqs = 0.05, 0.4, 64
	srv2, err := sim.Start(ctx, slow)
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Close()
	tgt, err = endpoint.NewTarget(endpoint.TargetConfig{Name: "sim", Kind: endpoint.KindOpenAI, BaseURL: srv2.URL(), Model: cfg.Model, MaxTokens: 32})
	if err != nil {
		t.Fatal(err)
	}
	recs = send(loadgen.Stage{Kind: loadgen.StageConcurrency, Concurrency: 6, Requests: 120})
	if len(recs) != 120 {
		t.Errorf("concurrency stage sent %d requests, want 120", len(recs))
	}
	if peak := srv2.Stats().PeakActive; peak != 6 {
		t.Errorf("server saw at most %d requests at once, want exactly 6", peak)
	}
}
