package sim

import (
	"testing"
	"time"
)

func TestPlanTTFTGrowsWithPromptLength(t *testing.T) {
	c, _ := Profile("vllm-8b")
	prev := time.Duration(-1)
	for _, n := range []int{100, 1_000, 8_000, 32_000} {
		tm := c.Plan(n, 20, Load{}, 0, FaultNone)
		if tm.TTFT <= prev {
			t.Fatalf("ttft at %d tokens = %v, not above %v", n, tm.TTFT, prev)
		}
		want := seconds(c.BaseLatency + float64(n)/c.PrefillTPS)
		if d := tm.TTFT - want; d > time.Microsecond || d < -time.Microsecond {
			t.Fatalf("ttft at %d tokens = %v, want %v", n, tm.TTFT, want)
		}
		prev = tm.TTFT
	}
}

func TestPlanTTFTGrowsWithQueueDepthAndSharing(t *testing.T) {
	c, _ := Profile("vllm-8b")
	service := c.Plan(4000, 20, Load{}, 0, FaultNone).E2E
	prev := time.Duration(-1)
	for _, q := range []int{0, 256, 512, 2048} {
		wait := c.EstimateQueueWait(q, service)
		tm := c.Plan(4000, 20, Load{Queued: q}, wait, FaultNone)
		if q > 0 && tm.TTFT <= prev {
			t.Fatalf("ttft with %d queued = %v, not above %v", q, tm.TTFT, prev)
		}
		prev = tm.TTFT
	}
	alone := c.Plan(4000, 20, Load{}, 0, FaultNone)
	shared := c.Plan(4000, 20, Load{Prefilling: 3}, 0, FaultNone)
	if got, want := shared.Prefill-seconds(c.BaseLatency), 4*(alone.Prefill-seconds(c.BaseLatency)); got-want > time.Microsecond || want-got > time.Microsecond {
		t.Fatalf("prefill shared by 4 = %v, want 4x alone = %v", got, want)
	}
}

func TestPlanDecodeSlowsWithConcurrency(t *testing.T) {
	c, _ := Profile("vllm-8b")
	tests := []struct {
		others int
		tps    float64
	}{
		{0, c.DecodeTPS},
		{1, c.DecodeTPS / (1 + c.DecodeAlpha)},
		{255, c.DecodeTPS / (1 + c.DecodeAlpha*255)},
	}
	for _, tt := range tests {
		tm := c.Plan(100, 101, Load{Decoding: tt.others}, 0, FaultNone)
		got := 1 / tm.TokenGap.Seconds()
		if d := got - tt.tps; d > 0.01 || d < -0.01 {
			t.Errorf("%d others decoding: %.3f tok/s, want %.3f", tt.others, got, tt.tps)
		}
		if want := tm.TTFT + 100*tm.TokenGap; tm.E2E != want {
			t.Errorf("e2e = %v, want ttft + 100 gaps = %v", tm.E2E, want)
		}
	}
}

func TestPlanFaults(t *testing.T) {
	c, _ := Profile("vllm-8b")
	base := c.Plan(1000, 10, Load{}, 0, FaultNone)
	stall := c.Plan(1000, 10, Load{}, 0, FaultStall)
	if got, want := stall.TTFT-base.TTFT, seconds(c.StallSeconds); got != want {
		t.Errorf("stall adds %v to ttft, want %v", got, want)
	}
	slow := c.Plan(1000, 10, Load{}, 0, FaultSlow)
	if slow.TokenGap != seconds(c.SlowGap) || slow.E2E <= base.E2E {
		t.Errorf("slow drip gap %v e2e %v, want gap %v and e2e above %v", slow.TokenGap, slow.E2E, seconds(c.SlowGap), base.E2E)
	}
}

// TestThroughputLevelsOffAtSeqLimit runs a closed loop of N clients against a
// model of MaxSeqs slots: in flight n = min(N, MaxSeqs), each request takes
// Plan(..., Decoding: n-1).E2E, so the throughput n/E2E rises to MaxSeqs and
// then stays flat.
func TestThroughputLevelsOffAtSeqLimit(t *testing.T) {
	c, _ := Profile("vllm-8b")
	c.MaxSeqs = 8
	rate := func(clients int) float64 {
		n := min(clients, c.MaxSeqs)
		return float64(n) / c.Plan(1000, 50, Load{Decoding: n - 1}, 0, FaultNone).E2E.Seconds()
	}
	var prev float64
	for _, n := range []int{1, 2, 4, 8} {
		r := rate(n)
		if r <= prev {
			t.Fatalf("throughput with %d clients %.2f/s not above %.2f/s", n, r, prev)
		}
		prev = r
	}
	for _, n := range []int{16, 64} {
		if r := rate(n); r != prev {
			t.Fatalf("throughput with %d clients %.2f/s, want flat at %.2f/s", n, r, prev)
		}
	}
}

func TestAccuracyCurve(t *testing.T) {
	c, _ := Profile("vllm-8b")
	eff := c.EffectiveLength
	if mid, end := c.Accuracy(eff, 0.5, 0), c.Accuracy(eff, 0, 0); !(mid < end) || end != c.BaseAccuracy {
		t.Errorf("at %d tokens: middle %.3f, end %.3f; want middle < end = base %.3f", eff, mid, end, c.BaseAccuracy)
	}
	if a, b := c.Accuracy(eff, 0.2, 0), c.Accuracy(eff, 0.8, 0); a-b > 1e-12 || b-a > 1e-12 {
		t.Errorf("U shape not symmetric: %.4f vs %.4f", a, b)
	}
	if short, long := c.Accuracy(1000, 0.5, 0), c.Accuracy(eff, 0.5, 0); !(short > long) {
		t.Errorf("middle dip should deepen with length: %.3f at 1k, %.3f at %d", short, long, eff)
	}
	if at, past := c.Accuracy(eff, 0, 0), c.Accuracy(2*eff, 0, 0); !(past < at*0.5) {
		t.Errorf("past the effective length accuracy should fall: %.3f at %d, %.3f at %d", at, eff, past, 2*eff)
	}
	if idle, busy := c.Accuracy(1000, 0, 0), c.Accuracy(1000, 0, 10*c.MaxSeqs); !(busy < idle) {
		t.Errorf("a deep queue should cost accuracy: idle %.3f, busy %.3f", idle, busy)
	}
	for _, l := range []int{0, 1, eff, 100 * eff} {
		for _, d := range []float64{-1, 0, 0.5, 1, 2} {
			if p := c.Accuracy(l, d, 1<<20); p < 0 || p > 1 {
				t.Fatalf("Accuracy(%d, %v) = %v out of [0,1]", l, d, p)
			}
		}
	}
}
