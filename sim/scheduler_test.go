package sim

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestSchedulerFIFOAndQueueLimit(t *testing.T) {
	s := newScheduler(1, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if q, err := s.acquire(ctx); err != nil || q != 0 {
		t.Fatalf("first acquire: %d %v", q, err)
	}
	order := make(chan int, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q, err := s.acquire(ctx)
			if err != nil || q != i {
				t.Errorf("waiter %d: queued ahead %d, err %v", i, q, err)
			}
			order <- i
			s.decodeStarted()
			s.release(true)
		}()
		for deadline := time.Now().Add(5 * time.Second); s.stats().Waiting != i+1; time.Sleep(time.Millisecond) { // enqueue in a known order
			if time.Now().After(deadline) {
				t.Fatalf("waiter %d never queued", i)
			}
		}
	}
	if _, err := s.acquire(ctx); !errors.Is(err, errQueueFull) {
		t.Fatalf("acquire past the queue: %v, want errQueueFull", err)
	}
	// A canceled waiter leaves the queue.
	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	s.queueCap = 3
	if _, err := s.acquire(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled acquire: %v", err)
	}
	s.release(false)
	wg.Wait()
	if a, b := <-order, <-order; a != 0 || b != 1 {
		t.Errorf("served %d then %d, want FIFO", a, b)
	}
	if st := s.stats(); st.Active != 0 || st.Waiting != 0 || st.PeakActive != 1 || st.Completed != 3 {
		t.Errorf("stats %+v", st)
	}
}

// TestQueueDepthLive fills a live server of 2 slots and a queue of 3 with 8
// concurrent requests: 5 are served, 3 get 429, the queued ones wait about
// one or two service times, which shows in their simulated ttft.
func TestQueueDepthLive(t *testing.T) {
	cfg := testConfig(t, func(c *Config) {
		c.MaxSeqs, c.Queue, c.TimeScale, c.BaseLatency, c.RetryAfter = 2, 3, 0.05, 4, 7 // 4 s simulated = 200 ms wall
	})
	s, ts := startTest(t, cfg)
	type result struct {
		status int
		ttft   float64
		wait   float64
		retry  string
	}
	results := make(chan result, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body := post(t, ts.Client(), ts.URL+"/v1/chat/completions", chatBody("hi", true))
			if resp == nil {
				t.Errorf("%s", body)
				return
			}
			r := result{status: resp.StatusCode, retry: resp.Header.Get("Retry-After")}
			if r.status == 200 {
				r.ttft = headerSeconds(t, resp.Header, "X-Sim-Ttft")
				r.wait = headerSeconds(t, resp.Header, "X-Sim-Queue-Wait")
			}
			results <- r
		}()
	}
	wg.Wait()
	close(results)
	var ok []result
	limited := 0
	for r := range results {
		switch r.status {
		case 200:
			ok = append(ok, r)
		case http.StatusTooManyRequests:
			limited++
			if r.retry != strconv.Itoa(cfg.RetryAfter) {
				t.Errorf("429 Retry-After %q", r.retry)
			}
		default:
			t.Errorf("status %d", r.status)
		}
	}
	if len(ok) != 5 || limited != 3 {
		t.Fatalf("%d served, %d limited; want 5 and 3", len(ok), limited)
	}
	sort.Slice(ok, func(i, j int) bool { return ok[i].ttft < ok[j].ttft })
	service := cfg.BaseLatency
	for i, r := range ok {
		rounds := float64(i / 2) // two slots: 0, 0, 1, 1, 2 service times of waiting
		if r.wait < rounds*service*0.8 || r.ttft < service+rounds*service*0.8 {
			t.Errorf("request %d: wait %.2fs ttft %.2fs, want about %.0f rounds of %.0fs", i, r.wait, r.ttft, rounds, service)
		}
	}
	if st := s.Stats(); st.PeakActive != 2 {
		t.Errorf("peak active %d, want the sequence limit 2", st.PeakActive)
	}
}

// TestThroughputLevelsOffLive drives a real-time server of 4 slots with
// closed loops of 1, 4 and 12 clients: throughput grows to 4 clients and
// then stays flat (wall-clock bound, so the tolerances are wide).
func TestThroughputLevelsOffLive(t *testing.T) {
	if testing.Short() {
		t.Skip("wall-clock test")
	}
	cfg := testConfig(t, func(c *Config) {
		c.MaxSeqs, c.Queue, c.TimeScale, c.DecodeAlpha, c.DecodeTPS, c.OutputTokens = 4, 100, 1, 0, 1000, 26 // 25 ms per request
	})
	_, ts := startTest(t, cfg)
	rate := func(clients, each int) float64 {
		start := time.Now()
		var wg sync.WaitGroup
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					if resp, body := post(t, ts.Client(), ts.URL+"/v1/chat/completions", chatBody("hi", true)); resp == nil || resp.StatusCode != 200 {
						t.Errorf("%v %s", resp, body)
						return
					}
				}
			}()
		}
		wg.Wait()
		return float64(clients*each) / time.Since(start).Seconds()
	}
	r1, r4, r12 := rate(1, 8), rate(4, 8), rate(12, 4)
	t.Logf("requests/s: 1 client %.1f, 4 clients %.1f, 12 clients %.1f", r1, r4, r12)
	if r4 < 2.5*r1 {
		t.Errorf("4 clients %.1f/s, want at least 2.5x one client's %.1f/s", r4, r1)
	}
	if r12 > 1.4*r4 {
		t.Errorf("12 clients %.1f/s, want about 4 clients' %.1f/s (the sequence limit)", r12, r4)
	}
}
