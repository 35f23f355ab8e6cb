package testkit

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/run"
)

// FakeTarget is an in-process target (it satisfies loadgen.Target) that
// answers every Case with its first expected value after a latency of its
// choosing, or once the test lets it through its Gate. It counts the
// requests in flight, keeps the highest count seen, and remembers which
// requests it completed (by Seq). Set its fields before the first Send.
type FakeTarget struct {
	// TargetName is the name it gives in records ("fake" when empty).
	TargetName string
	// Latency gives the time request seq takes to answer; nil answers at
	// once.
	Latency func(seq int64) time.Duration
	// Gate, when not nil, holds every request until it receives a value
	// from Gate (or Gate is closed), in place of Latency: a test lets
	// requests through one at a time and so controls exactly how many are
	// in flight.
	Gate chan struct{}
	// Answer, when set, gives the answer to c in place of its first
	// expected value.
	Answer func(c *corpus.Case) string

	inFlight  atomic.Int64
	maxFlight atomic.Int64
	arrived   atomic.Int64
	mu        sync.Mutex
	completed map[int64]bool
}

// NewFakeTarget returns a FakeTarget that answers every request after
// latency.
func NewFakeTarget(latency time.Duration) *FakeTarget {
	return &FakeTarget{Latency: func(int64) time.Duration { return latency }}
}

// Name is TargetName, or "fake".
func (f *FakeTarget) Name() string {
	if f.TargetName == "" {
		return "fake"
	}
	return f.TargetName
}

// Send answers c into rec as a streamed 200 response of three tokens, or
// records the request canceled when ctx ends first.
func (f *FakeTarget) Send(ctx context.Context, c *corpus.Case, rec *run.Record) {
	rec.SentAt = time.Now()
	f.arrived.Add(1)
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for m := f.maxFlight.Load(); n > m && !f.maxFlight.CompareAndSwap(m, n); m = f.maxFlight.Load() {
	}
	if !f.wait(ctx, rec.Seq) {
		rec.ErrorClass, rec.Error = run.ErrCanceled, ctx.Err().Error()
		rec.E2E = run.Seconds(time.Since(rec.SentAt))
		return
	}
	e := time.Since(rec.SentAt)
	rec.Status, rec.TTFB, rec.TTFT, rec.E2E = 200, run.Seconds(e/2), run.Seconds(e/2), run.Seconds(e)
	rec.OutputTokens, rec.FinishReason = 3, "stop"
	switch {
	case f.Answer != nil:
		rec.Answer = f.Answer(c)
	case len(c.Expected) > 0:
		rec.Answer = "The value is " + c.Expected[0] + "."
	}
	f.mu.Lock()
	if f.completed == nil {
		f.completed = map[int64]bool{}
	}
	f.completed[rec.Seq] = true
	f.mu.Unlock()
}

// wait holds request seq for its latency or until the gate lets it
// through; it returns false when ctx ends first.
func (f *FakeTarget) wait(ctx context.Context, seq int64) bool {
	if f.Gate != nil {
		select {
		case <-f.Gate:
			return true
		case <-ctx.Done():
			return false
		}
	}
	var d time.Duration
	if f.Latency != nil {
		d = f.Latency(seq)
	}
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// InFlight is the number of requests inside Send now.
func (f *FakeTarget) InFlight() int64 { return f.inFlight.Load() }

// MaxInFlight is the highest number of requests that were inside Send at
// once.
func (f *FakeTarget) MaxInFlight() int64 { return f.maxFlight.Load() }

// Arrived is the number of requests Send was called with.
func (f *FakeTarget) Arrived() int64 { return f.arrived.Load() }

// Completed returns the Seq of every request answered (not canceled).
func (f *FakeTarget) Completed() map[int64]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[int64]bool, len(f.completed))
	for k := range f.completed {
		out[k] = true
	}
	return out
}
