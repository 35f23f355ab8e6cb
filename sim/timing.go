package sim

import (
	"math"
	"time"
)

// Load is what a request sees when it gets its sequence slot: how many other
// requests are prefilling and decoding, and how many were queued ahead of it
// when it arrived.
type Load struct {
	Prefilling int
	Decoding   int
	Queued     int
}

// Timing is a request's planned timeline in simulated time.
type Timing struct {
	// QueueWait is the time spent waiting for a sequence slot.
	QueueWait time.Duration
	// Prefill is BaseLatency plus the prompt's share of prefill throughput;
	// tokens the prefix cache held cost nothing.
	Prefill time.Duration
	// Stall is an injected pause before the first token (0 without the fault).
	Stall time.Duration
	// TokenGap is the decode interval between output tokens (SlowGap under
	// the slow-drip fault).
	TokenGap time.Duration
	// TTFT is QueueWait + Prefill + Stall: the first token leaves with the
	// last prefill step.
	TTFT time.Duration
	// E2E is TTFT + (outputTokens-1)*TokenGap.
	E2E time.Duration
}

// seconds converts float seconds to a Duration, saturating.
func seconds(s float64) time.Duration {
	if s <= 0 || math.IsNaN(s) {
		return 0
	}
	if s >= math.MaxInt64/float64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(s * float64(time.Second))
}

// prefillTime is BaseLatency plus promptTokens at PrefillTPS shared with the
// l.Prefilling other requests prefilling now.
func (c Config) prefillTime(promptTokens int, l Load) time.Duration {
	return seconds(c.BaseLatency + float64(promptTokens)*float64(l.Prefilling+1)/c.PrefillTPS)
}

// tokenGap is the decode interval of one sequence decoding alongside
// l.Decoding others: 1 / (DecodeTPS / (1 + DecodeAlpha*n)).
func (c Config) tokenGap(l Load) time.Duration {
	return seconds((1 + c.DecodeAlpha*float64(l.Decoding)) / c.DecodeTPS)
}

// Plan returns the Timing of a request of promptTokens (as the server counts
// them) and outputTokens under load l, with queueWait already known (or
// estimated) and fault f applied, and nothing in the prefix cache.
func (c Config) Plan(promptTokens, outputTokens int, l Load, queueWait time.Duration, f Fault) Timing {
	return c.PlanCached(promptTokens, 0, outputTokens, l, queueWait, f)
}

// PlanCached is Plan for a prompt whose first cachedTokens tokens the prefix
// cache holds: its prefill computes only the other promptTokens-cachedTokens.
func (c Config) PlanCached(promptTokens, cachedTokens, outputTokens int, l Load, queueWait time.Duration, f Fault) Timing {
	t := Timing{
		QueueWait: queueWait,
		Prefill:   c.prefillTime(max(promptTokens-max(cachedTokens, 0), 0), l),
		TokenGap:  c.tokenGap(l),
	}
	if f == FaultStall {
		t.Stall = seconds(c.StallSeconds)
	}
	if f == FaultSlow {
		t.TokenGap = seconds(c.SlowGap)
	}
	t.TTFT = t.QueueWait + t.Prefill + t.Stall
	t.E2E = t.TTFT
	if outputTokens > 1 {
		t.E2E += time.Duration(outputTokens-1) * t.TokenGap
	}
	return t
}

// EstimateQueueWait is the queue wait of a request arriving behind queued
// others when the server never sleeps (time scale 0): each of MaxSeqs slots
// frees after one service time, so the wait is queued/MaxSeqs service times,
// rounded up to whole rounds.
func (c Config) EstimateQueueWait(queued int, service time.Duration) time.Duration {
	if queued <= 0 {
		return 0
	}
	rounds := (queued + c.MaxSeqs) / c.MaxSeqs
	return time.Duration(rounds) * service
}
