package loadgen_test

// Benchmarks of the dispatcher plus the OpenAI client against the built-in
// simulator on loopback at time scale 0 (the simulator never sleeps), so the
// figures are the client's own costs:
//
//	go test ./loadgen -run '^$' -bench 'Dispatcher|SendLag' -benchtime 5000x
//	NEEDLESTORM_BENCH_100K=1 go test ./loadgen -run '^$' -bench Memory100k -benchtime 1x
//
// BenchmarkMemory100k runs 100,000 requests and only runs when
// NEEDLESTORM_BENCH_100K is set.

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/endpoint"
	"github.com/needlestorm/needlestorm/internal/testkit"
	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/run"
)

// benchSim starts the simulator's fast profile at time scale 0 and an
// OpenAI target for it.
//
// With NEEDLESTORM_BENCH_SIM=URL it talks to a simulator of its own
// process instead (`needlestorm sim --profile fast --listen
// 127.0.0.1:8089`, then NEEDLESTORM_BENCH_SIM=http://127.0.0.1:8089/v1):
// on the same cores, but its garbage collections are not the client's.
func benchSim(b *testing.B) loadgen.Target {
	b.Helper()
	cfg := testkit.SimConfig(b, "fast")
	url := os.Getenv("NEEDLESTORM_BENCH_SIM")
	if url == "" {
		url = testkit.StartSim(b, cfg).URL()
	} else if !strings.HasPrefix(url, "http://127.0.0.1:") && !strings.HasPrefix(url, "http://localhost:") {
		b.Fatalf("NEEDLESTORM_BENCH_SIM=%s: give a simulator on loopback, such as http://127.0.0.1:8089/v1", url)
	}
	tgt, err := endpoint.NewTarget(endpoint.TargetConfig{Name: "sim", Kind: endpoint.KindOpenAI, BaseURL: url, Model: cfg.Model})
	if err != nil {
		b.Fatal(err)
	}
	if c, ok := tgt.(io.Closer); ok {
		b.Cleanup(func() { c.Close() })
	}
	return tgt
}

// shortCases are hand-written prompts of about 60 tokens.
func shortCases() []corpus.Case {
	cs := make([]corpus.Case, 4)
	for i := range cs {
		v := fmt.Sprintf("%d", 7000+i)
		text := fmt.Sprintf("The sky was clear over the harbour. The special magic number for key-%d is %s. "+
			"Boats came in with the tide and the market opened at dawn.\n\nWhat is the special magic number for key-%d?", i, v, i)
		cs[i] = corpus.Case{ID: fmt.Sprintf("short-%d", i), Task: "single", Length: 60, PromptTokens: 60,
			Expected: []string{v}, Messages: []corpus.Message{{Role: "user", Content: text}}}
	}
	return cs
}

func longCases(b *testing.B) []corpus.Case {
	b.Helper()
	cs, err := corpus.Matrix{Lengths: []int{1000}, Depths: []float64{0, 50, 100}, Seed: 1}.Cases(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return cs
}

// lagSink keeps send lags and send times and counts errors.
type lagSink struct {
	mu        sync.Mutex
	lags      []time.Duration
	firstSent time.Time
	lastSent  time.Time
	errs      atomic.Int64
	first     string
	inner     run.Sink
}

func (s *lagSink) Write(r *run.Record) error {
	s.mu.Lock()
	s.lags = append(s.lags, r.SendLag.Duration())
	if s.firstSent.IsZero() || r.SentAt.Before(s.firstSent) {
		s.firstSent = r.SentAt
	}
	if r.SentAt.After(s.lastSent) {
		s.lastSent = r.SentAt
	}
	if r.ErrorClass != "" && s.first == "" {
		s.first = r.ErrorClass + ": " + r.Error
	}
	s.mu.Unlock()
	if r.ErrorClass != "" {
		s.errs.Add(1)
	}
	return s.inner.Write(r)
}

func (s *lagSink) quantile(q float64) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.lags) == 0 {
		return 0
	}
	l := append([]time.Duration(nil), s.lags...)
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return l[min(len(l)-1, int(q*float64(len(l))))]
}

// report reports the send lag percentiles and the achieved send rate,
// (requests - 1) / (last sent_at - first sent_at): the figures of how
// closely the sends keep to the schedule on this machine, which tests do
// not bound because they depend on its load.
func (s *lagSink) report(b *testing.B) {
	s.mu.Lock()
	n, span := len(s.lags), s.lastSent.Sub(s.firstSent)
	s.mu.Unlock()
	if n > 1 && span > 0 {
		b.ReportMetric(float64(n-1)/span.Seconds(), "sent_req/s")
	}
	b.ReportMetric(float64(s.quantile(0.5).Microseconds())/1000, "send_lag_p50_ms")
	b.ReportMetric(float64(s.quantile(0.99).Microseconds())/1000, "send_lag_p99_ms")
	b.ReportMetric(float64(s.quantile(1).Microseconds())/1000, "send_lag_max_ms")
}

// benchThroughput runs b.N requests with conc in flight (closed loop) and
// reports requests per second.
func benchThroughput(b *testing.B, cases []corpus.Case, conc int) {
	tgt := benchSim(b)
	w := run.NewRecordWriter(io.Discard)
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// A short warm-up opens the connections.
	warm, err := loadgen.NewDispatcher(tgt, cases, w)
	if err != nil {
		b.Fatal(err)
	}
	if err := warm.Run(ctx, loadgen.Schedule{{Kind: loadgen.StageConcurrency, Concurrency: conc, Requests: 2 * conc}}); err != nil {
		b.Fatal(err)
	}
	sink := &lagSink{inner: w}
	d, err := loadgen.NewDispatcher(tgt, cases, sink)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	if err := d.Run(ctx, loadgen.Schedule{{Kind: loadgen.StageConcurrency, Concurrency: conc, Requests: b.N}}); err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	b.StopTimer()
	if n := sink.errs.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed, first: %s", n, b.N, sink.first)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "req/s")
}

// BenchmarkDispatcherShortPrompts: streamed requests per second with prompts
// of about 60 tokens.
func BenchmarkDispatcherShortPrompts(b *testing.B) {
	for _, conc := range []int{16, 64} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) { benchThroughput(b, shortCases(), conc) })
	}
}

// BenchmarkDispatcher1kPrompts: streamed requests per second with 1,000-token
// prompts (the simulator tokenizes each one, which costs it CPU too).
func BenchmarkDispatcher1kPrompts(b *testing.B) {
	cases := longCases(b)
	for _, conc := range []int{16, 64} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) { benchThroughput(b, cases, conc) })
	}
}

// BenchmarkSendLag500 sends b.N requests open loop at 500 req/s and reports
// send_lag percentiles and the achieved send rate (-benchtime 2500x is 5 s).
// It fails if any request failed.
func BenchmarkSendLag500(b *testing.B) { benchSendLag(b, 500) }

// BenchmarkSendLag2000 is BenchmarkSendLag500 at 2,000 req/s, the
// simulator on the same cores (-benchtime 10000x is 5 s), once with the
// garbage collector set as the command line sets it and once with Go's
// default (underCollectors):
//
//	go test ./loadgen -run '^$' -bench 'SendLag2000$' -benchtime 10000x
func BenchmarkSendLag2000(b *testing.B) {
	underCollectors(b, func(b *testing.B) { benchSendLag(b, 2000) })
}

func benchSendLag(b *testing.B, rate float64) {
	tgt := benchSim(b)
	w := run.NewRecordWriter(io.Discard)
	defer w.Close()
	sink := &lagSink{inner: w}
	d, err := loadgen.NewDispatcher(tgt, shortCases(), sink)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b.ResetTimer()
	if err := d.Run(ctx, loadgen.Schedule{{Kind: loadgen.StageConstant, Rate: rate, Requests: b.N}}); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if n := sink.errs.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed, first: %s", n, b.N, sink.first)
	}
	sink.report(b)
}

// BenchmarkMemory100k runs 100,000 requests (open loop at 2,000 req/s,
// records encoded to io.Discard) while sampling the heap every 100 ms. It
// reports the peak heap in use (garbage included) and the live heap (after
// a forced GC) once 10% and once 100% of the requests are done: flat memory
// means the live heap at the end is about the one at 10%. The peak follows
// the number of requests in flight (each holds a connection and its
// buffers), also reported, not the number of requests sent.
func BenchmarkMemory100k(b *testing.B) {
	if os.Getenv("NEEDLESTORM_BENCH_100K") == "" {
		b.Skip("set NEEDLESTORM_BENCH_100K=1 to run 100,000 requests (about a minute)")
	}
	total := 100_000
	if n, err := strconv.Atoi(os.Getenv("NEEDLESTORM_BENCH_100K")); err == nil && n > 1 {
		total = n // a shorter run, to profile
	}
	tgt := benchSim(b)
	w := run.NewRecordWriter(io.Discard)
	defer w.Close()
	obs := &countObserver{}
	d, err := loadgen.NewDispatcher(tgt, shortCases(), w, loadgen.Observe(obs))
	if err != nil {
		b.Fatal(err)
	}
	liveHeap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	var peak, live10 uint64
	var maxInFlight int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			maxInFlight = max(maxInFlight, obs.sent.Load()-obs.done.Load())
			if live10 == 0 && obs.done.Load() >= int64(total/10) {
				live10 = liveHeap()
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b.ResetTimer()
	for range b.N {
		if err := d.Run(ctx, loadgen.Schedule{{Kind: loadgen.StageConstant, Rate: 2000, Requests: total}}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	<-sampled
	liveEnd := liveHeap()
	b.ReportMetric(float64(peak)/(1<<20), "peak_heap_inuse_MB")
	b.ReportMetric(float64(live10)/(1<<20), "live_heap_at_10pct_MB")
	b.ReportMetric(float64(liveEnd)/(1<<20), "live_heap_at_end_MB")
	b.ReportMetric(float64(maxInFlight), "max_in_flight")
	b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines_at_end")
	b.ReportMetric(float64(w.Count())/float64(b.N), "records")
	if n := obs.errs.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed: the figures above are not of a clean run", n, int64(total)*int64(b.N))
	}
}

type countObserver struct {
	sent, done, errs atomic.Int64
}

func (c *countObserver) StageStarted(int, loadgen.Stage) {}
func (c *countObserver) Sent(*run.Record)                { c.sent.Add(1) }
func (c *countObserver) Completed(r *run.Record) {
	c.done.Add(1)
	if r.ErrorClass != "" {
		c.errs.Add(1)
	}
}

// BenchmarkSendLag500Nop measures the dispatcher's own scheduling precision
// at 500 req/s (a target that does no I/O), with the precise wait (the
// default spin window) and without it (runtime timers only).
func BenchmarkSendLag500Nop(b *testing.B) {
	for _, spin := range []time.Duration{0, 4 * time.Millisecond} {
		b.Run(fmt.Sprintf("spin=%s", spin), func(b *testing.B) { benchSendLagNop(b, spin) })
	}
}

// BenchmarkSendLag2000Nop is the dispatcher's own precision at 2,000
// req/s with the default wait (-benchtime 10000x is 5 s).
func BenchmarkSendLag2000Nop(b *testing.B) { benchSendLagNopAt(b, 2000, 0) }

func benchSendLagNop(b *testing.B, spin time.Duration) { benchSendLagNopAt(b, 500, spin) }

// benchSendLagNopAt runs a no-op target at rate; a spin of 0 with rate
// above 500 means the default spin window.
func benchSendLagNopAt(b *testing.B, rate float64, spin time.Duration) {
	w := run.NewRecordWriter(io.Discard)
	defer w.Close()
	sink := &lagSink{inner: w}
	var opts []loadgen.Option
	if rate == 500 {
		opts = append(opts, loadgen.SpinWindow(spin))
	}
	d, err := loadgen.NewDispatcher(&testkit.FakeTarget{}, shortCases(), sink, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	if err := d.Run(context.Background(), loadgen.Schedule{{Kind: loadgen.StageConstant, Rate: rate, Requests: b.N}}); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if n := sink.errs.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed, first: %s", n, b.N, sink.first)
	}
	sink.report(b)
}
