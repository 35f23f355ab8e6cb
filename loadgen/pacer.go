package loadgen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Pacer is vegeta's pacer interface: Pace returns how long to wait before the
// next hit given the elapsed time and the hits sent so far (and whether to
// stop), Rate the instantaneous rate in hits per second. needlestorm uses
// vegeta's ConstantPacer, LinearPacer and SinePacer, and PoissonPacer below.
type Pacer = vegeta.Pacer

// PoissonPacer paces hits as a Poisson process: the gaps between hits are
// independent and exponentially distributed with mean 1/Mean. The arrival
// times are a pure function of (Mean, Seed): the same seed gives the same
// schedule. It is safe for concurrent use.
type PoissonPacer struct {
	// Mean is the mean rate in hits per second; it must be positive.
	Mean float64
	// Seed seeds the arrival process.
	Seed int64

	mu sync.Mutex
	// n is the 1-based index of the last arrival drawn, at is its time.
	n   uint64
	at  float64 // seconds
	rng *rand.Rand
}

// NewPoissonPacer returns a PoissonPacer with the given mean rate (hits per
// second) and seed.
func NewPoissonPacer(rate float64, seed int64) *PoissonPacer {
	return &PoissonPacer{Mean: rate, Seed: seed}
}

var _ Pacer = (*PoissonPacer)(nil)

// String describes the pacer.
func (p *PoissonPacer) String() string {
	return fmt.Sprintf("Poisson{%g hits/s, seed %d}", p.Mean, p.Seed)
}

// Pace returns the wait until hit number hits+1 arrives.
func (p *PoissonPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if !(p.Mean > 0) || math.IsInf(p.Mean, 0) {
		return 0, true
	}
	at := p.arrival(hits + 1)
	wait := time.Duration(at*float64(time.Second)) - elapsed
	if wait < 0 {
		wait = 0
	}
	return wait, false
}

// Rate returns the mean rate, which does not change over time.
func (p *PoissonPacer) Rate(time.Duration) float64 { return p.Mean }

// arrival returns the time in seconds of the k-th hit (1-based).
func (p *PoissonPacer) arrival(k uint64) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rng == nil || k < p.n {
		seed := uint64(p.Seed)
		p.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		p.n, p.at = 0, 0
	}
	for p.n < k {
		p.at += p.rng.ExpFloat64() / p.Mean
		p.n++
	}
	return p.at
}

// spinUntil busy-waits until at, keeping the goroutine on its thread and
// processor: a goroutine that yields (runtime.Gosched) goes to the
// scheduler's global queue, and one that sleeps may find every processor
// taken when it wakes, each of which can cost a millisecond or more on a
// busy machine. It is for the last preciseSleepMin before a send, so it
// costs at most that much CPU per request.
func spinUntil(at time.Time) {
	for time.Until(at) > 0 {
	}
}
