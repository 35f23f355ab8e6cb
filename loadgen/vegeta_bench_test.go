package loadgen_test

// BenchmarkVsVegeta measures the client's closed-loop throughput beside
// vegeta's on the same work: the simulator on loopback at time scale 0,
// 256-token needle prompts, streamed, 16 output tokens, 32 requests in
// flight, 5 s each. vegeta sends the same bodies (each prompt with its own
// cache-busting preamble, as needlestorm sends them, so the server's work is
// the same) and reads the stream without parsing it; needlestorm parses,
// times, scores and records every chunk.
//
//	go test ./loadgen -run '^$' -bench VsVegeta -benchtime 1x
//
// The two alternate in rounds of 1 s (vegeta, needlestorm, needlestorm,
// vegeta, ...), so a machine whose load changes during the run (other
// processes, the 2-core CI box) weighs on both alike. It reports both
// completion rates and their ratio (needlestorm / vegeta), and the CPU
// time of the whole process (client and simulator) per completed request
// of each, with its ratio (vegeta's / needlestorm's: above 1, needlestorm
// spends less): on a saturated machine the two ratios agree, and the CPU
// one is less sensitive to other processes.

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime/pprof"
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

func BenchmarkVsVegeta(b *testing.B) { underCollectors(b, benchVsVegeta) }

func benchVsVegeta(b *testing.B) {
	const (
		inFlight = 32
		span     = 5 * time.Second
		rounds   = 5
		output   = 16
	)
	cfg := testkit.SimConfig(b, "fast")
	cfg.OutputTokens = output
	srv := testkit.StartSim(b, cfg)
	cases, err := corpus.Matrix{Lengths: []int{256}, Depths: []float64{0, 50, 100}, Samples: 4, Seed: 1}.Cases(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	compareClients(b, clientComparison{base: srv.URL(), model: cfg.Model, cases: cases, inFlight: inFlight, span: span, rounds: rounds, output: output})
}

// clientComparison is one side-by-side run of vegeta and needlestorm
// against the server at base: rounds alternating rounds (vegeta,
// needlestorm, needlestorm, vegeta, ...) of span/rounds each per client.
type clientComparison struct {
	base, model              string
	cases                    []corpus.Case
	inFlight, rounds, output int
	span                     time.Duration
}

// compareClients runs c b.N times and reports both clients' completion
// rates, their ratio, and their CPU per request with its ratio. It fails
// when vegeta had to repeat a body.
func compareClients(b *testing.B, c clientComparison) {
	var sent atomic.Int64
	tr := vegetaTargeter(b, c.base, c.model, c.cases, c.output, &sent)
	for i := 0; i < b.N; i++ {
		sent.Store(0)
		var v, n benchHalf
		for r := range c.rounds {
			halves := []func(){
				labelled("vegeta", func() { v.add(vegetaRun(b, tr, c.inFlight, c.span/time.Duration(c.rounds))) }),
				labelled("needlestorm", func() {
					n.add(needlestormRun(b, c.base, c.model, c.cases, c.inFlight, c.span/time.Duration(c.rounds), c.output))
				}),
			}
			if r%2 == 1 {
				halves[0], halves[1] = halves[1], halves[0]
			}
			for _, h := range halves {
				h()
			}
		}
		checkFresh(b, &sent)
		b.ReportMetric(v.rate(), "vegeta_req/s")
		b.ReportMetric(n.rate(), "needlestorm_req/s")
		b.ReportMetric(n.rate()/v.rate(), "ratio")
		if v.cpu > 0 && n.cpu > 0 {
			b.ReportMetric(v.cpuPer().Seconds()*1e6, "vegeta_cpu_us/req")
			b.ReportMetric(n.cpuPer().Seconds()*1e6, "needlestorm_cpu_us/req")
			b.ReportMetric(float64(v.cpuPer())/float64(n.cpuPer()), "cpu_ratio")
		}
	}
}

// labelled runs f with the profiler label client=name, which the
// goroutines it starts (the client's workers and its connections' readers
// and writers) inherit, so a CPU profile of the benchmark splits by client:
//
//	go test ./loadgen -run '^$' -bench 'VsVegeta/gc=go' -benchtime 1x -cpuprofile cpu.out
//	go tool pprof -tagfocus client=needlestorm -top cpu.out
//
// The simulator's goroutines are the server's and carry no label.
func labelled(name string, f func()) func() {
	return func() { pprof.Do(context.Background(), pprof.Labels("client", name), func(context.Context) { f() }) }
}

// benchHalf sums the rounds of one client.
type benchHalf struct {
	ok   int64
	took time.Duration
	cpu  time.Duration
}

// benchRound is one round of one client: answers completed, wall time,
// and the process's CPU time (0 where it cannot be read).
type benchRound struct {
	ok        int64
	took, cpu time.Duration
}

func (h *benchHalf) add(r benchRound) {
	h.ok += r.ok
	h.took += r.took
	h.cpu += r.cpu
}

func (h *benchHalf) rate() float64 { return float64(h.ok) / h.took.Seconds() }

func (h *benchHalf) cpuPer() time.Duration { return h.cpu / time.Duration(h.ok) }

// timed runs f and measures its wall and process CPU time.
func timed(f func() int64) benchRound {
	c0 := processCPU()
	start := time.Now()
	ok := f()
	took := time.Since(start)
	return benchRound{ok: ok, took: took, cpu: processCPU() - c0}
}

// vegetaBodies is how many distinct request bodies vegeta cycles through:
// more than it sends in the benchmark's 5 s (at up to 26,000 requests/s),
// so that, like needlestorm's, every prompt it sends is new to the server
// (the simulator counts every prompt it sees, and a repeat costs it less
// than a new one). benchVsVegeta fails when vegeta sent more.
const vegetaBodies = 1 << 17

// vegetaTargeter returns a targeter over vegetaBodies requests of the
// cases, each case's prompt with a fresh cache-busting preamble
// (corpus.Case.WithNonce, as needlestorm's dispatcher sends them), in the
// body needlestorm sends: the simulator then does the same work for both
// clients. It counts the requests it hands out in sent.
func vegetaTargeter(b *testing.B, base, model string, cases []corpus.Case, output int, sent *atomic.Int64) vegeta.Targeter {
	b.Helper()
	targets := make([]vegeta.Target, vegetaBodies)
	// One header for all: vegeta copies a target's header into each
	// request, and 2^17 maps of their own would be live heap for the
	// collector to mark, which weighs on both clients.
	header := http.Header{"Content-Type": {"application/json"}}
	for i := range targets {
		c, err := cases[i%len(cases)].WithNonce(uint64(i) ^ 0x5eed)
		if err != nil {
			b.Fatal(err)
		}
		body, err := json.Marshal(map[string]any{
			"model": model, "messages": c.Messages, "stream": true, "max_tokens": output, "temperature": 0,
			"stream_options": map[string]bool{"include_usage": true},
		})
		if err != nil {
			b.Fatal(err)
		}
		targets[i] = vegeta.Target{Method: http.MethodPost, URL: base + "/chat/completions", Body: body, Header: header}
	}
	return func(t *vegeta.Target) error {
		if t == nil {
			return vegeta.ErrNilTarget
		}
		*t = targets[(sent.Add(1)-1)%vegetaBodies]
		return nil
	}
}

// checkFresh fails the benchmark when vegeta was handed more requests than
// it has distinct bodies.
func checkFresh(b *testing.B, sent *atomic.Int64) {
	if n := sent.Load(); n > vegetaBodies {
		b.Fatalf("vegeta sent %d requests, more than its %d distinct bodies: the server saw repeats; raise vegetaBodies", n, vegetaBodies)
	}
}

// vegetaRun runs vegeta for span and counts its 200 answers.
func vegetaRun(b *testing.B, tr vegeta.Targeter, inFlight int, span time.Duration) benchRound {
	b.Helper()
	atk := vegeta.NewAttacker(vegeta.Workers(uint64(inFlight)), vegeta.MaxWorkers(uint64(inFlight)), vegeta.KeepAlive(true))
	var failed int64
	r := timed(func() int64 {
		var ok int64
		for res := range atk.Attack(tr, vegeta.Rate{}, span, "bench") {
			if res.Code == http.StatusOK {
				ok++
			} else {
				failed++
			}
		}
		return ok
	})
	if failed > 0 || r.ok == 0 {
		b.Fatalf("vegeta: %d answers, %d failed", r.ok, failed)
	}
	return r
}

// needlestormRun runs the dispatcher for span and counts the answers
// recorded without an error.
func needlestormRun(b *testing.B, base, model string, cases []corpus.Case, inFlight int, span time.Duration, output int) benchRound {
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
	defer tgt.Close()
	r := timed(func() int64 {
		if err := d.Run(context.Background(), loadgen.Schedule{{Kind: loadgen.StageConcurrency, Concurrency: inFlight, Duration: run.Seconds(span)}}); err != nil {
			b.Fatal(err)
		}
		return sink.ok.Load()
	})
	if n := sink.failed.Load(); n > 0 {
		b.Fatalf("needlestorm: %d requests failed (first: %s)", n, sink.first.Load())
	}
	return r
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
