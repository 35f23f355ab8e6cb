package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/endpoint"
	"github.com/needlestorm/needlestorm/internal/testkit"
	"github.com/needlestorm/needlestorm/probes"
	"github.com/needlestorm/needlestorm/sim"

	"github.com/needlestorm/needlestorm/run"
)

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(math.Min(float64(len(s)-1), q*float64(len(s))))]
}

func runDispatcher(t *testing.T, ctx context.Context, tgt Target, sched Schedule, opts ...Option) (*Dispatcher, []run.Record, error) {
	t.Helper()
	sink := &testkit.MemSink{}
	d, err := NewDispatcher(tgt, testkit.Cases(3), sink, opts...)
	if err != nil {
		t.Fatal(err)
	}
	err = d.Run(ctx, sched)
	return d, sink.Records(), err
}

// checkOnSchedule checks what an open-loop stage controls, whatever the
// machine's load: one record per hit of the stage's ideal clock, each
// scheduled at exactly its offset from the first, none sent before its
// time, and send_lag the difference. How late the sends were depends on the
// scheduler and is only logged here; BenchmarkSendLag500Nop and
// BenchmarkSendLag500 report it (send_lag percentiles, achieved req/s).
func checkOnSchedule(t *testing.T, recs []run.Record, st Stage) {
	t.Helper()
	offs := clockOffsets(t, st)
	if len(recs) != len(offs) {
		t.Fatalf("%s: %d records, want the %d hits of its clock", st.Name(), len(recs), len(offs))
	}
	first := recs[0].ScheduledAt
	lags := make([]time.Duration, len(recs))
	for i, r := range recs {
		if got := r.ScheduledAt.Sub(first); got != offs[i] {
			t.Fatalf("%s: record %d (seq %d) scheduled at +%s, want +%s", st.Name(), i, r.Seq, got, offs[i])
		}
		if r.SentAt.Before(r.ScheduledAt) {
			t.Errorf("%s: seq %d sent %s before its scheduled time", st.Name(), r.Seq, r.ScheduledAt.Sub(r.SentAt))
		}
		if r.SendLag.Duration() != r.SentAt.Sub(r.ScheduledAt) {
			t.Errorf("%s: seq %d send_lag %s, want sent_at - scheduled_at = %s", st.Name(), r.Seq, r.SendLag.Duration(), r.SentAt.Sub(r.ScheduledAt))
		}
		lags[i] = r.SendLag.Duration()
	}
	t.Logf("%s: %d requests over %s scheduled; send_lag p50 %s p99 %s max %s", st.Name(), len(recs), offs[len(offs)-1],
		quantile(lags, 0.5), quantile(lags, 0.99), quantile(lags, 1))
}

// TestConstantRateAchieved: 200 req/s over 5 s sends its 1000 requests
// exactly 5 ms apart on the schedule, none early, so the run lasts at least
// the stage. The achieved rate of the sends themselves is a figure of the
// machine's load, reported by BenchmarkSendLag500Nop.
func TestConstantRateAchieved(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st := Stage{Kind: StageConstant, Rate: 200, Duration: run.Seconds(5 * time.Second)}
	if offs := clockOffsets(t, st); len(offs) != 1000 || offs[1] != 5*time.Millisecond || offs[999] != 4995*time.Millisecond {
		t.Fatalf("the clock of %s has %d hits, the second at %s: want 1000, 5 ms apart", st.Name(), len(offs), offs[1])
	}
	start := time.Now()
	_, recs, err := runDispatcher(t, ctx, testkit.NewFakeTarget(20*time.Millisecond), Schedule{st})
	if err != nil {
		t.Fatal(err)
	}
	checkOnSchedule(t, recs, st)
	if took := time.Since(start); took < 4995*time.Millisecond {
		t.Errorf("a 5 s stage ran in %s: requests went out ahead of their schedule", took)
	}
}

// TestPoissonRate: a seeded Poisson stage sends on its own clock (the seed
// fixes every gap), whose mean rate is the stage's.
func TestPoissonRate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st := Stage{Kind: StagePoisson, Rate: 300, Duration: run.Seconds(1500 * time.Millisecond), Seed: 7}
	_, recs, err := runDispatcher(t, ctx, testkit.NewFakeTarget(5*time.Millisecond), Schedule{st})
	if err != nil {
		t.Fatal(err)
	}
	checkOnSchedule(t, recs, st)
	// 450 expected; a Poisson count has sd ~21, and the seed fixes it.
	if n := len(recs); n < 400 || n > 500 {
		t.Errorf("a 300 req/s Poisson stage over 1.5 s sent %d requests, want about 450", n)
	}
	span := recs[len(recs)-1].ScheduledAt.Sub(recs[0].ScheduledAt).Seconds()
	if got := float64(len(recs)-1) / span; math.Abs(got-300)/300 > 0.12 {
		t.Errorf("Poisson scheduled rate %.1f req/s, want 300 ± 12%%", got)
	}
}

// waitFor polls cond every millisecond for up to 10 s (a bound far above
// any scheduling delay) and fails the test, saying what, when it stays
// false.
func waitFor(t *testing.T, cond func() bool, what func() string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s", what())
		}
	}
}

// TestConcurrencyStageHoldsN: a closed-loop stage of N keeps exactly N
// requests in flight. The target holds every request until the test lets
// one through, so what is checked is counted, not timed: N arrive and no
// more; each one let through is replaced by the next at once, never by
// two; and the stage ends with every request recorded.
func TestConcurrencyStageHoldsN(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n, total = 8, 40
	tgt := &testkit.FakeTarget{Gate: make(chan struct{})}
	type result struct {
		d    *Dispatcher
		recs []run.Record
		err  error
	}
	done := make(chan result, 1)
	go func() {
		sink := &testkit.MemSink{}
		d, err := NewDispatcher(tgt, testkit.Cases(3), sink)
		if err == nil {
			err = d.Run(ctx, Schedule{{Kind: StageConcurrency, Concurrency: n, Requests: total}})
		}
		done <- result{d, sink.Records(), err}
	}()
	for released := 0; released < total-n; released++ {
		waitFor(t, func() bool { return tgt.Arrived() == int64(n+released) && tgt.InFlight() == n }, func() string {
			return fmt.Sprintf("%d arrived, %d in flight after %d let through; want %d and %d", tgt.Arrived(), tgt.InFlight(), released, n+released, n)
		})
		tgt.Gate <- struct{}{}
	}
	waitFor(t, func() bool { return tgt.Arrived() == total }, func() string { return fmt.Sprintf("%d of %d requests arrived", tgt.Arrived(), total) })
	close(tgt.Gate)
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	if m := tgt.MaxInFlight(); m != n {
		t.Errorf("max requests in flight = %d, want exactly %d", m, n)
	}
	if len(res.recs) != total || res.d.Sent() != total {
		t.Errorf("records %d, sent %d: want all %d", len(res.recs), res.d.Sent(), total)
	}
}

func TestConcurrencyStageByRequests(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tgt := testkit.NewFakeTarget(time.Millisecond)
	_, recs, err := runDispatcher(t, ctx, tgt, Schedule{{Kind: StageConcurrency, Concurrency: 4, Requests: 30}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 30 {
		t.Fatalf("a 30-request stage wrote %d records", len(recs))
	}
	// Cases are cycled in order: case i%3, repeat i/3.
	seen := map[string]int{}
	for _, r := range recs {
		seen[fmt.Sprintf("%s/%d", r.CaseID, r.Repeat)]++
	}
	for i := range 30 {
		k := fmt.Sprintf("case-%d/%d", i%3, i/3)
		if seen[k] != 1 {
			t.Errorf("case/repeat %s sent %d times, want once", k, seen[k])
		}
	}
}

func TestInFlightCapRecordsSendLag(t *testing.T) {
	// 100 req/s for 40 requests against a 50 ms server with at most 2 in
	// flight: the cap holds requests back, and their records say so.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tgt := testkit.NewFakeTarget(50 * time.Millisecond)
	d, recs, err := runDispatcher(t, ctx, tgt, Schedule{{Kind: StageConstant, Rate: 100, Requests: 40}}, MaxInFlight(2))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 40 {
		t.Fatalf("wrote %d records, want 40", len(recs))
	}
	if m := tgt.MaxInFlight(); m > 2 {
		t.Errorf("the target saw %d in flight, above the cap of 2", m)
	}
	if d.HeldBack() == 0 {
		t.Error("HeldBack = 0, want requests held back by the cap")
	}
	// The schedule itself is untouched: 10 ms apart from the first.
	first := recs[0].ScheduledAt
	for i, r := range recs {
		want := time.Duration(i) * 10 * time.Millisecond
		if got := r.ScheduledAt.Sub(first); got != want {
			t.Fatalf("record %d scheduled at +%s, want +%s: the cap must not move the schedule", i, got, want)
		}
	}
	// The last requests waited for slots: ~40*25 ms = 1 s against 0.4 s.
	last := recs[len(recs)-1]
	if lag := last.SendLag.Duration(); lag < 300*time.Millisecond {
		t.Errorf("last record's send_lag = %s, want the held-back time (> 300 ms)", lag)
	}
	if got, want := last.E2ESched.Duration(), last.SendLag.Duration()+last.E2E.Duration(); got != want {
		t.Errorf("e2e_sched = %s, want send_lag + e2e = %s", got, want)
	}
}

func TestWarmupFlagged(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tgt := testkit.NewFakeTarget(time.Millisecond)
	sched := Schedule{{Kind: StageConstant, Rate: 500, Requests: 10}}.WithWarmup(20 * time.Millisecond)
	if len(sched) != 2 || !sched[0].Warmup || sched[1].Warmup {
		t.Fatalf("WithWarmup gave %+v", sched)
	}
	_, recs, err := runDispatcher(t, ctx, tgt, sched)
	if err != nil {
		t.Fatal(err)
	}
	var warm, measured int
	for _, r := range recs {
		switch {
		case r.Stage == 0 && r.Warmup && r.StageLabel == "warmup rate=500/s":
			warm++
		case r.Stage == 1 && !r.Warmup && r.StageLabel == "rate=500/s":
			measured++
		default:
			t.Errorf("record seq %d: stage %d %q warmup=%v", r.Seq, r.Stage, r.StageLabel, r.Warmup)
		}
	}
	if warm == 0 || measured != 10 {
		t.Errorf("warm-up records %d (want > 0), measured %d (want 10)", warm, measured)
	}
}

func TestRecordFields(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tgt := testkit.NewFakeTarget(2 * time.Millisecond)
	tgt.Answer = func(c *corpus.Case) string {
		if c.ID == "case-1" {
			return "no idea"
		}
		return "It is " + c.Expected[0]
	}
	_, recs, err := runDispatcher(t, ctx, tgt, Schedule{{Kind: StageConstant, Rate: 200, Requests: 3}}, Model("m-1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("got %d records", len(recs))
	}
	cs := testkit.Cases(3)
	for i, r := range recs {
		c := cs[i]
		if r.Seq != int64(i+1) || r.CaseID != c.ID || r.Task != c.Task || r.Length != c.Length || r.Depth != c.Depth ||
			r.ActualDepth != c.ActualDepth || r.NeedleTokenIndex != c.NeedleTokenIndex || r.Expected[0] != c.Expected[0] ||
			r.CanaryHead != "h" || r.CanaryTail != "t" || r.Target != "fake" || r.Model != "m-1" || r.Schema != run.RecordSchema {
			t.Errorf("record %d identity: %+v", i, r)
		}
		if r.SendLag.Duration() != r.SentAt.Sub(r.ScheduledAt) {
			t.Errorf("record %d: send_lag %s != sent_at - scheduled_at", i, r.SendLag.Duration())
		}
		wantCorrect := c.ID != "case-1"
		if r.Correct != wantCorrect {
			t.Errorf("record %d (%s): correct = %v, want %v", i, c.ID, r.Correct, wantCorrect)
		}
	}
}

// TestDefaultScorer checks that the dispatcher's default scorer hands every
// response fact the probes need to probes.Judge: each row differs from a
// plain miss only in one fact, and must come out with that fact's label.
func TestDefaultScorer(t *testing.T) {
	canaries := &corpus.Canaries{Head: "HEADMARK-77", Tail: "TAILMARK-88"}
	tests := []struct {
		name     string
		expected []string
		rec      run.Record
		canaries *corpus.Canaries
		cal      probes.Calibration
		correct  bool
		attr     string
	}{
		{"all present", []string{"4217", "Blue"}, run.Record{Answer: "blue and 4217"}, nil, probes.Calibration{}, true, probes.AttrCorrect},
		{"one of two", []string{"4217", "blue"}, run.Record{Answer: "4217"}, nil, probes.Calibration{}, false, probes.AttrModelMissed},
		{"error class", []string{"4217"}, run.Record{ErrorClass: run.ErrTimeout}, nil, probes.Calibration{}, false, probes.AttrError},
		{"context overflow", []string{"4217"}, run.Record{ErrorClass: run.ErrContextOverflow, Status: 400}, nil, probes.Calibration{}, false, probes.AttrRejected},
		{"finish length", []string{"4217"}, run.Record{Answer: "Let me think", FinishReason: "length"}, nil, probes.Calibration{}, false, probes.AttrCutOff},
		{"server kept less", []string{"4217"}, run.Record{Answer: "no idea", PromptTokensClient: 4096, PromptTokensServer: 2048}, nil, probes.Calibration{}, false, probes.AttrServerTruncated},
		// The head canary is missing from an answer that holds the tail's:
		// without a calibration that is a cut; with the overhead known, the
		// server's count shows that the whole prompt arrived.
		{"canary lost, overhead unknown", []string{"4217"}, run.Record{Answer: "TAILMARK-88 and 9999", PromptTokensClient: 1000, PromptTokensServer: 1010}, canaries, probes.Calibration{}, false, probes.AttrServerTruncated},
		{"canary lost, counts intact", []string{"4217"}, run.Record{Answer: "TAILMARK-88 and 9999", PromptTokensClient: 1000, PromptTokensServer: 1010}, canaries, probes.Calibration{Overhead: 10, OverheadKnown: true}, false, probes.AttrModelMissed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := judgeRecord(&corpus.Case{Expected: tt.expected, Canaries: tt.canaries}, &tt.rec, tt.cal)
			if got.Correct != tt.correct || got.Attribution != tt.attr {
				t.Errorf("got correct=%v attribution=%q, want %v %q (%+v)", got.Correct, got.Attribution, tt.correct, tt.attr, got)
			}
		})
	}
}

// cancelAfter is an Observer that calls cancel once n requests have
// completed, so a test interrupts a run at a count rather than at a time.
type cancelAfter struct {
	n      int64
	cancel func()
	done   atomic.Int64
}

func (c *cancelAfter) StageStarted(int, Stage) {}
func (c *cancelAfter) Sent(*run.Record)        {}
func (c *cancelAfter) Completed(*run.Record) {
	if c.done.Add(1) == c.n {
		c.cancel()
	}
}

// TestInterruptKeepsCompletedRecords interrupts a 60 s stage once 20
// requests have completed: the run stops (bounded at the grace period plus
// 5 s, far above any scheduling delay and far below the stage), every
// request sent has its record, and the requests in flight finish within a
// grace period or are canceled without one.
func TestInterruptKeepsCompletedRecords(t *testing.T) {
	tests := []struct {
		name         string
		grace        time.Duration
		wantCanceled bool
	}{
		{"grace lets in-flight finish", 2 * time.Second, false},
		{"no grace cancels in-flight", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var canceledAt atomic.Int64
			obs := &cancelAfter{n: 20, cancel: func() { canceledAt.Store(time.Now().UnixNano()); cancel() }}
			tgt := testkit.NewFakeTarget(150 * time.Millisecond)
			sink := &testkit.MemSink{}
			d, err := NewDispatcher(tgt, testkit.Cases(3), sink, Grace(tt.grace), Observe(obs))
			if err != nil {
				t.Fatal(err)
			}
			err = d.Run(ctx, Schedule{{Kind: StageConstant, Rate: 100, Duration: run.Seconds(60 * time.Second)}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Run after cancel returned %v, want an error wrapping context.Canceled", err)
			}
			if took := time.Since(time.Unix(0, canceledAt.Load())); took > tt.grace+5*time.Second {
				t.Errorf("Run took %s to stop after the cancel, with grace %s", took, tt.grace)
			}
			recs := sink.Records()
			if int64(len(recs)) != d.Sent() || len(recs) < 20 {
				t.Fatalf("%d records for %d sent requests (want equal, at least 20)", len(recs), d.Sent())
			}
			bySeq := map[int64]run.Record{}
			canceled := 0
			for _, r := range recs {
				bySeq[r.Seq] = r
				if r.ErrorClass == run.ErrCanceled {
					canceled++
				} else if r.ErrorClass != "" || !r.Correct {
					t.Errorf("record %d: error %q correct %v", r.Seq, r.ErrorClass, r.Correct)
				}
			}
			for seq := range tgt.Completed() {
				if r, ok := bySeq[seq]; !ok || r.ErrorClass != "" {
					t.Errorf("request %d completed at the target but its record is missing or wrong: %+v", seq, r)
				}
			}
			if tt.wantCanceled && canceled == 0 {
				t.Error("no record canceled with no grace period, want the requests in flight canceled")
			}
			if !tt.wantCanceled && canceled != 0 {
				t.Errorf("%d records canceled despite a grace period longer than the requests", canceled)
			}
		})
	}
}

func TestSinkFailureStopsRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sink := &testkit.MemSink{Fail: errors.New("disk full")}
	d, err := NewDispatcher(testkit.NewFakeTarget(time.Millisecond), testkit.Cases(1), sink)
	if err != nil {
		t.Fatal(err)
	}
	// The stage lasts a minute; stopping on the first failed write takes
	// milliseconds, and 10 s is far above any scheduling delay.
	start := time.Now()
	err = d.Run(ctx, Schedule{{Kind: StageConstant, Rate: 100, Duration: run.Seconds(time.Minute)}})
	if err == nil || !errors.Is(err, sink.Fail) {
		t.Fatalf("Run with a failing sink returned %v, want the sink's error", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Run took %s to stop after a write failure", took)
	}
}

func TestNewDispatcherErrors(t *testing.T) {
	tests := []struct {
		name  string
		tgt   Target
		cases []corpus.Case
		sink  run.Sink
		opts  []Option
	}{
		{"no target", nil, testkit.Cases(1), &testkit.MemSink{}, nil},
		{"no cases", testkit.NewFakeTarget(0), nil, &testkit.MemSink{}, nil},
		{"no sink", testkit.NewFakeTarget(0), testkit.Cases(1), nil, nil},
		{"zero cap", testkit.NewFakeTarget(0), testkit.Cases(1), &testkit.MemSink{}, []Option{MaxInFlight(0)}},
		{"negative grace", testkit.NewFakeTarget(0), testkit.Cases(1), &testkit.MemSink{}, []Option{Grace(-time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewDispatcher(tt.tgt, tt.cases, tt.sink, tt.opts...); err == nil {
				t.Error("want an error")
			}
		})
	}
	d, err := NewDispatcher(testkit.NewFakeTarget(0), testkit.Cases(1), &testkit.MemSink{}, MaxInFlight(4))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(context.Background(), Schedule{{Kind: StageConcurrency, Concurrency: 5, Requests: 1}}); err == nil {
		t.Error("a concurrency above the in-flight cap ran, want an error")
	}
}

func TestInterruptCause(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(50*time.Millisecond, func() { cancel(errors.New("received interrupt")) })
	d, err := NewDispatcher(testkit.NewFakeTarget(time.Millisecond), testkit.Cases(1), &testkit.MemSink{})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Run(ctx, Schedule{{Kind: StageConstant, Rate: 100, Duration: run.Seconds(5 * time.Second)}})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "received interrupt") {
		t.Errorf("Run returned %v, want an error wrapping context.Canceled that names the cause", err)
	}
}

// captureTarget answers right at once and keeps the user content of every
// request it was sent, by Seq.
type captureTarget struct {
	mu    sync.Mutex
	users map[int64]string
}

func (c *captureTarget) Name() string { return "capture" }

func (c *captureTarget) Send(_ context.Context, cs *corpus.Case, rec *run.Record) {
	rec.SentAt = time.Now()
	c.mu.Lock()
	c.users[rec.Seq] = ""
	if len(cs.Messages) > 0 {
		c.users[rec.Seq] = cs.Messages[len(cs.Messages)-1].Content
	}
	c.mu.Unlock()
	rec.Status, rec.FinishReason, rec.OutputTokens = 200, "stop", 3
	rec.Answer = strings.Join(cs.Expected, ", ")
	if cs.Canaries != nil {
		rec.Answer += ", " + cs.Canaries.Head + ", " + cs.Canaries.Tail
	}
}

// renonceTarget is a captureTarget that takes new preambles apart from
// their Cases (a RenonceSender), as endpoint's targets do.
type renonceTarget struct {
	*captureTarget
	renonced atomic.Int64
}

func (r *renonceTarget) SendRenonced(ctx context.Context, c *corpus.Case, re corpus.Renonce, rec *run.Record) {
	r.renonced.Add(1)
	sent := re.Apply(c)
	r.captureTarget.Send(ctx, &sent, rec)
}

// nonceCases builds real Cases: two with the cache-busting preamble and one
// with a shared prefix.
func nonceCases(t *testing.T) []corpus.Case {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m := corpus.Matrix{Tasks: []string{corpus.TaskSingle}, Lengths: []int{600}, Depths: []float64{20, 80}, Haystack: corpus.HaystackNoise, Seed: 3}
	cs, err := m.Cases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.SharedPrefix, m.Depths = true, []float64{50}
	shared, err := m.Cases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return append(cs, shared...)
}

// TestDispatchNonce: every request of a Case with a preamble is sent with
// its own preamble, nonce = Seq XOR the dispatcher's salt (so the prompt is
// reproducible from the record and the salt), the same token count and the same rest of the prompt; a
// shared-prefix Case and a hand-made Case are sent as they are; the
// dispatcher's Cases are left alone.
func TestDispatchNonce(t *testing.T) {
	cs := append(nonceCases(t), testkit.Cases(1)...)
	t.Run("copy", func(t *testing.T) {
		testDispatchNonce(t, cs, &captureTarget{users: map[int64]string{}})
	})
	t.Run("renonce sender", func(t *testing.T) {
		tgt := &renonceTarget{captureTarget: &captureTarget{users: map[int64]string{}}}
		testDispatchNonce(t, cs, tgt)
		if n := tgt.renonced.Load(); n != 12 {
			t.Errorf("%d requests sent with SendRenonced, want the 12 of the two preamble Cases", n)
		}
	})
}

// testDispatchNonce is TestDispatchNonce through tgt, which keeps what it
// was sent in its captureTarget.
func testDispatchNonce(t *testing.T, cs []corpus.Case, tgt Target) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	capture, ok := tgt.(*captureTarget)
	if !ok {
		capture = tgt.(*renonceTarget).captureTarget
	}
	orig := make([]string, len(cs))
	for i, c := range cs {
		if len(c.Messages) > 0 {
			orig[i] = c.Messages[len(c.Messages)-1].Content
		}
	}
	tok, err := corpus.GetTokenizer(corpus.DefaultEncoding)
	if err != nil {
		t.Fatal(err)
	}
	sink := &testkit.MemSink{}
	d, err := NewDispatcher(tgt, cs, sink)
	if err != nil {
		t.Fatal(err)
	}
	salt := d.NonceSalt()
	const n = 24
	if err := d.Run(ctx, Schedule{{Kind: StageConcurrency, Concurrency: 3, Requests: n}}); err != nil {
		t.Fatal(err)
	}
	recs := sink.Records()
	if len(recs) != n {
		t.Fatalf("%d records, want %d", len(recs), n)
	}
	byCase := map[string]*corpus.Case{}
	for i := range cs {
		byCase[cs[i].ID] = &cs[i]
	}
	distinct := map[string]int64{}
	for _, r := range recs {
		c := byCase[r.CaseID]
		sent := capture.users[r.Seq]
		i := 0
		for cs[i].ID != c.ID {
			i++
		}
		if !r.Correct {
			t.Errorf("seq %d (%s): scored wrong: %+v", r.Seq, c.ID, r.Verdict)
		}
		switch {
		case len(c.Messages) == 0 || c.SharedPrefix:
			if sent != orig[i] {
				t.Errorf("seq %d: case %s was changed before sending", r.Seq, c.ID)
			}
		default:
			want, err := c.WithNonce(uint64(r.Seq) ^ salt)
			if err != nil {
				t.Fatal(err)
			}
			if sent != want.Messages[1].Content {
				t.Errorf("seq %d: case %s was not sent with nonce seq ^ salt %#x", r.Seq, c.ID, salt)
			}
			if sent == orig[i] || !strings.HasPrefix(sent, "Archive reference ") {
				t.Errorf("seq %d: case %s sent with its built preamble or none: %.60q", r.Seq, c.ID, sent)
			}
			if k := strings.Index(orig[i], ".\n\n") + 3; !strings.HasSuffix(sent, orig[i][k:]) {
				t.Errorf("seq %d: case %s: more than the preamble changed", r.Seq, c.ID)
			}
			if got := tok.Count(c.Messages[0].Content) + tok.Count(sent); got != c.PromptTokens {
				t.Errorf("seq %d: case %s sent %d tokens, want %d", r.Seq, c.ID, got, c.PromptTokens)
			}
			if prev, dup := distinct[sent]; dup {
				t.Errorf("seqs %d and %d sent the same prompt", prev, r.Seq)
			}
			distinct[sent] = r.Seq
		}
	}
	if len(distinct) != n/len(cs)*2 {
		t.Errorf("%d distinct prompts of preamble Cases, want %d", len(distinct), n/len(cs)*2)
	}
	for i, c := range cs {
		if len(c.Messages) > 0 && c.Messages[len(c.Messages)-1].Content != orig[i] {
			t.Errorf("the dispatcher's case %s was modified", c.ID)
		}
	}
}

// TestDispatchNonceFailureStopsRun: a Case whose preamble cannot be replaced
// exactly stops the run before anything is sent, with an error naming it.
func TestDispatchNonceFailureStopsRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := testkit.Cases(1)
	c[0].Messages = []corpus.Message{{Role: "user", Content: "Archive reference anchor-beacon.\n\n\nThe text."}}
	tgt := &captureTarget{users: map[int64]string{}}
	d, err := NewDispatcher(tgt, c, &testkit.MemSink{})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Run(ctx, Schedule{{Kind: StageConcurrency, Concurrency: 1, Requests: 5}})
	if err == nil || !strings.Contains(err.Error(), "case-0") || !strings.Contains(err.Error(), "preparing request") {
		t.Fatalf("Run returned %v, want the preamble failure", err)
	}
	if d.Sent() != 0 || len(tgt.users) != 0 {
		t.Errorf("%d requests sent after a preamble failure", d.Sent())
	}
}

// TestDispatchCacheSim drives the simulator with a prefix cache through the
// real OpenAI target: repeats of a Case read nothing from the cache beyond
// the system prompt's blocks, while repeats of a shared-prefix Case read
// nearly the whole prompt.
func TestDispatchCacheSim(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := testkit.SimConfig(t, "fast")
	cfg.PrefixCacheBlocks = 10_000
	srv := testkit.StartSim(t, cfg)
	tgt, err := endpoint.NewTarget(endpoint.TargetConfig{Name: "sim", Kind: "openai", BaseURL: srv.URL(), Model: cfg.Model},
		endpoint.TargetEnv(testkit.NoEnv))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := corpus.GetTokenizer(cfg.Encoding)
	if err != nil {
		t.Fatal(err)
	}
	sys := tok.Count(corpus.SystemPrompt) / sim.PrefixBlockTokens * sim.PrefixBlockTokens
	all := nonceCases(t)
	for _, tt := range []struct {
		name     string
		c        corpus.Case
		min, max int // cached tokens of every repeat after the first
	}{
		{"per-request preamble", all[0], sys, sys},
		{"shared prefix", all[len(all)-1], all[len(all)-1].PromptTokens - sim.PrefixBlockTokens, all[len(all)-1].PromptTokens},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sink := &testkit.MemSink{}
			d, err := NewDispatcher(tgt, []corpus.Case{tt.c}, sink)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Run(ctx, Schedule{{Kind: StageConcurrency, Concurrency: 1, Requests: 8}}); err != nil {
				t.Fatal(err)
			}
			recs := sink.Records()
			if len(recs) != 8 {
				t.Fatalf("%d records", len(recs))
			}
			for _, r := range recs[1:] {
				if r.ErrorClass != "" || !r.Correct {
					t.Errorf("repeat %d: %s %s, correct=%v", r.Repeat, r.ErrorClass, r.Error, r.Correct)
				}
				if r.CachedTokens < tt.min || r.CachedTokens > tt.max {
					t.Errorf("repeat %d: %d cached tokens, want %d to %d", r.Repeat, r.CachedTokens, tt.min, tt.max)
				}
			}
		})
	}
}

// TestDispatchNonceSalt: a dispatcher draws a random salt unless NonceSalt
// gives one, and the salt picks the preamble each Seq is sent with: salt 0
// sends nonce Seq, as before salts existed, and another salt other prompts.
func TestDispatchNonceSalt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := nonceCases(t)[0]
	tests := []struct {
		name   string
		opts   []Option
		salt   uint64 // the salt NonceSalt gave, when given
		random bool
	}{
		{"random", nil, 0, true},
		{"zero", []Option{NonceSalt(0)}, 0, false},
		{"given", []Option{NonceSalt(0xdeadbeefcafef00d)}, 0xdeadbeefcafef00d, false},
	}
	others := map[uint64]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tgt := &captureTarget{users: map[int64]string{}}
			d, err := NewDispatcher(tgt, []corpus.Case{c}, &testkit.MemSink{}, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.random && d.NonceSalt() != tt.salt {
				t.Errorf("salt %#x, want %#x", d.NonceSalt(), tt.salt)
			}
			if err := d.Run(ctx, Schedule{{Kind: StageConcurrency, Concurrency: 1, Requests: 3}}); err != nil {
				t.Fatal(err)
			}
			for seq := int64(1); seq <= 3; seq++ {
				want, err := c.WithNonce(uint64(seq) ^ d.NonceSalt())
				if err != nil {
					t.Fatal(err)
				}
				if tgt.users[seq] != want.Messages[1].Content {
					t.Errorf("seq %d was not sent with nonce seq ^ %#x", seq, d.NonceSalt())
				}
			}
			if prev, dup := others[d.NonceSalt()]; dup {
				t.Errorf("salt %#x again, as in %q", d.NonceSalt(), prev)
			}
			others[d.NonceSalt()] = tt.name
			if tt.random {
				d2, err := NewDispatcher(tgt, []corpus.Case{c}, &testkit.MemSink{})
				if err != nil {
					t.Fatal(err)
				}
				if d2.NonceSalt() == d.NonceSalt() {
					t.Errorf("two dispatchers drew the same salt %#x", d.NonceSalt())
				}
			}
		})
	}
}

// factsTarget answers every request with fixed facts: the answer, and the
// server's prompt count as the client's plus overhead.
type factsTarget struct {
	answer   string
	overhead int
}

func (f factsTarget) Name() string { return "facts" }

func (f factsTarget) Send(_ context.Context, c *corpus.Case, rec *run.Record) {
	rec.SentAt = time.Now()
	rec.Status, rec.FinishReason, rec.OutputTokens = 200, "stop", 4
	rec.Answer = f.answer
	rec.PromptTokensServer = c.PromptTokens + f.overhead
	rec.E2E = run.Seconds(time.Millisecond)
}

// TestDispatchScoreCalibration: with the target's template overhead known
// (ScoreCalibration, as a campaign passes preflight's), a wrong answer that
// lacks the head canary but whose prompt the server counted in full is the
// model's miss live, as the report judges it; without it the lost canary
// reads as a truncation. A scorer given with Score is left alone.
func TestDispatchScoreCalibration(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	known := probes.Calibration{Overhead: 10, OverheadKnown: true}
	custom := func(*corpus.Case, *run.Record) probes.Verdict { return probes.Verdict{Attribution: "custom"} }
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"overhead unknown", nil, probes.AttrServerTruncated},
		{"overhead known", []Option{ScoreCalibration(known)}, probes.AttrModelMissed},
		{"overhead known, counts short", []Option{ScoreCalibration(probes.Calibration{Overhead: 80, OverheadKnown: true})}, probes.AttrServerTruncated},
		{"own scorer", []Option{ScoreCalibration(known), Score(custom)}, "custom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := testkit.Cases(1) // 1000 tokens, canaries "h" and "t", expects 4000
			sink := &testkit.MemSink{}
			d, err := NewDispatcher(factsTarget{answer: "t, and the value is 9999", overhead: 10}, cs, sink, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Run(ctx, Schedule{{Kind: StageConcurrency, Concurrency: 1, Requests: 2}}); err != nil {
				t.Fatal(err)
			}
			recs := sink.Records()
			if len(recs) != 2 {
				t.Fatalf("%d records, want 2", len(recs))
			}
			for _, r := range recs {
				if r.PromptTokensServer != 1010 || r.Attribution != tt.want || r.Correct {
					t.Errorf("seq %d: %d server tokens, attribution %q (correct %v), want 1010, %q", r.Seq, r.PromptTokensServer, r.Attribution, r.Correct, tt.want)
				}
			}
		})
	}
}

// blockingTarget holds every request until its context ends (at most 20 s),
// then records it canceled with the context's cause.
type blockingTarget struct{ sent atomic.Int64 }

func (b *blockingTarget) Name() string { return "blocking" }

func (b *blockingTarget) Send(ctx context.Context, _ *corpus.Case, rec *run.Record) {
	b.sent.Add(1)
	rec.SentAt = time.Now()
	select {
	case <-ctx.Done():
		rec.ErrorClass, rec.Error = run.ErrCanceled, context.Cause(ctx).Error()
	case <-time.After(20 * time.Second):
		rec.ErrorClass, rec.Error = run.ErrTimeout, "the test's target held the request 20 s"
	}
}

// abortAfterSent calls abort once n requests were handed to the target.
type abortAfterSent struct {
	n     int64
	abort func()
	sent  atomic.Int64
}

func (a *abortAfterSent) StageStarted(int, Stage) {}
func (a *abortAfterSent) Completed(*run.Record)   {}
func (a *abortAfterSent) Sent(*run.Record) {
	if a.sent.Add(1) == a.n {
		a.abort()
	}
}

// TestAbortCancelsInFlight: an abort ends the run at once, without the
// grace period: sending stops, the requests in flight are canceled with
// the abort's cause and every one of them has its record; Run returns the
// cause.
func TestAbortCancelsInFlight(t *testing.T) {
	abortCtx, abort := context.WithCancelCause(context.Background())
	defer abort(nil)
	reason := errors.New("second interrupt")
	tgt := &blockingTarget{}
	obs := &abortAfterSent{n: 4, abort: func() { abort(reason) }}
	sink := &testkit.MemSink{}
	d, err := NewDispatcher(tgt, testkit.Cases(2), sink, Grace(time.Minute), Abort(abortCtx), Observe(obs))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = d.Run(context.Background(), Schedule{{Kind: StageConcurrency, Concurrency: 4, Duration: run.Seconds(time.Minute)}})
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Run took %s after the abort, want it at once (the grace period is a minute)", took)
	}
	if !errors.Is(err, reason) {
		t.Errorf("Run returned %v, want the abort's cause", err)
	}
	recs := sink.Records()
	if int64(len(recs)) != d.Sent() || len(recs) < 4 || tgt.sent.Load() > int64(len(recs)) {
		t.Fatalf("%d records, %d sent by the dispatcher, %d reached the target", len(recs), d.Sent(), tgt.sent.Load())
	}
	for _, r := range recs {
		if r.ErrorClass != run.ErrCanceled || !strings.Contains(r.Error, reason.Error()) {
			t.Errorf("record %d: %s %q, want canceled by the abort", r.Seq, r.ErrorClass, r.Error)
		}
	}
}
