package loadgen_test

// BenchmarkVsVegeta measures the client's closed-loop throughput beside
// vegeta's on the same work: the simulator on loopback at time scale 0,
// 256-token needle prompts, streamed, 16 output tokens, 32 requests in
// flight for 5 s each. vegeta sends the same bodies and reads the stream
// without parsing it; needlestorm parses, times and records every chunk.
//
//	go test ./loadgen -run '^$' -bench VsVegeta -benchtime 1x
//
// It reports both rates and their ratio (needlestorm / vegeta).

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/endpoint"
	"github.com/needlestorm/needlestorm/internal/testkit"
	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/run"
)

func BenchmarkVsVegeta(b *testing.B) {
	const (
		inFlight = 32
		span     = 5 * time.Second
		output   = 16
	)
	cfg := testkit.SimConfig(b, "fast")
	cfg.OutputTokens = output
	srv := testkit.StartSim(b, cfg)
	cases, err := corpus.Matrix{Lengths: []int{256}, Depths: []float64{0, 50, 100}, Samples: 4, Seed: 1}.Cases(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		vr := vegetaRate(b, srv.URL(), cfg.Model, cases, inFlight, span, output)
		nr := needlestormRate(b, srv.URL(), cfg.Model, cases, inFlight, span, output)
		b.ReportMetric(vr, "vegeta_req/s")
		b.ReportMetric(nr, "needlestorm_req/s")
		b.ReportMetric(nr/vr, "ratio")
	}
}

// vegetaRate is vegeta's completion rate of 200 answers.
func vegetaRate(b *testing.B, base, model string, cases []corpus.Case, inFlight int, span time.Duration, output int) float64 {
	b.Helper()
	targets := make([]vegeta.Target, len(cases))
	for i, c := range cases {
		body, err := json.Marshal(map[string]any{
			"model": model, "messages": c.Messages, "stream": true, "max_tokens": output,
			"stream_options": map[string]bool{"include_usage": true},
		})
		if err != nil {
			b.Fatal(err)
		}
		targets[i] = vegeta.Target{Method: http.MethodPost, URL: base + "/chat/completions", Body: body,
			Header: http.Header{"Content-Type": {"application/json"}}}
	}
	atk := vegeta.NewAttacker(vegeta.Workers(uint64(inFlight)), vegeta.MaxWorkers(uint64(inFlight)), vegeta.KeepAlive(true))
	var ok, failed int
	start := time.Now()
	for res := range atk.Attack(vegeta.NewStaticTargeter(targets...), vegeta.Rate{}, span, "bench") {
		if res.Code == http.StatusOK {
			ok++
		} else {
			failed++
		}
	}
	took := time.Since(start)
	if failed > 0 || ok == 0 {
		b.Fatalf("vegeta: %d answers, %d failed", ok, failed)
	}
	return float64(ok) / took.Seconds()
}

// needlestormRate is the dispatcher's completion rate of answers recorded
// without an error.
func needlestormRate(b *testing.B, base, model string, cases []corpus.Case, inFlight int, span time.Duration, output int) float64 {
	b.Helper()
	tgt, err := endpoint.NewTarget(endpoint.TargetConfig{Name: "sim", Kind: endpoint.KindOpenAI, BaseURL: base, Model: model, MaxTokens: output})
	if err != nil {
		b.Fatal(err)
	}
	sink := &countSink{}
	d, err := loadgen.NewDispatcher(tgt, cases, sink)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := d.Run(context.Background(), loadgen.Schedule{{Kind: loadgen.StageConcurrency, Concurrency: inFlight, Duration: run.Seconds(span)}}); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	if n := sink.failed.Load(); n > 0 {
		b.Fatalf("needlestorm: %d requests failed (first: %s)", n, sink.first.Load())
	}
	return float64(sink.ok.Load()) / took.Seconds()
}

// countSink counts records, answered and failed.
type countSink struct {
	ok, failed atomic.Int64
	first      atomic.Value
}

func (s *countSink) Write(r *run.Record) error {
	if r.ErrorClass != "" {
		if s.failed.Add(1) == 1 {
			s.first.Store(r.ErrorClass + ": " + r.Error)
		}
		return nil
	}
	s.ok.Add(1)
	return nil
}
