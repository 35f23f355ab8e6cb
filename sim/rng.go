package sim

import (
	"math"
	"sync"
)

// rng is a small deterministic generator (splitmix64). The zero value is
// usable; derive one per purpose with newRNG.
type rng struct{ s uint64 }

const golden = 0x9e3779b97f4a7c15

// mix is splitmix64's finalizer.
func mix(x uint64) uint64 {
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Streams of randomness drawn for one request, kept apart so that a change in
// one (say, the fault rates) leaves the others unchanged.
const (
	streamFault  = 0x6661756c74 // "fault"
	streamAnswer = 0x616e73776572
)

// newRNG returns the generator of one request's stream: a function of the
// seed, the prompt hash and the prompt's occurrence number only.
func newRNG(seed int64, promptHash uint64, occurrence uint64, stream uint64) rng {
	return rng{s: mix(mix(mix(uint64(seed)^stream+golden)^promptHash+golden) ^ occurrence + golden)}
}

func (r *rng) next() uint64 {
	r.s += golden
	return mix(r.s)
}

// float64 returns a number in [0, 1).
func (r *rng) float64() float64 { return float64(r.next()>>11) / (1 << 53) }

// intn returns a number in [0, n); n must be positive.
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// hashPrompt is FNV-1a over the contents with a separator, stable across
// processes.
func hashPrompt(contents []string) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range contents {
		for i := 0; i < len(c); i++ {
			h ^= uint64(c[i])
			h *= 1099511628211
		}
		h ^= 0xff
		h *= 1099511628211
	}
	return h
}

// occurrences counts how many times each prompt was seen, so that repeats of
// one prompt draw fresh randomness while different prompts stay independent
// of arrival order.
type occurrences struct {
	mu sync.Mutex
	// cur counts recent prompts; when it holds maxOccurrences of them it
	// becomes prev and counting starts afresh, so a long-running server's
	// memory stays bounded (two generations) while a prompt repeated within
	// the last maxOccurrences distinct prompts keeps its count.
	cur, prev map[uint64]uint64
}

// maxOccurrences is how many distinct prompts one generation counts.
const maxOccurrences = 1 << 18

// next returns how many times h was seen before, and counts this time.
func (o *occurrences) next(h uint64) uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cur == nil {
		o.cur = make(map[uint64]uint64)
	}
	n, ok := o.cur[h]
	if !ok {
		n = o.prev[h]
		if len(o.cur) >= maxOccurrences {
			o.prev, o.cur = o.cur, make(map[uint64]uint64)
		}
	}
	o.cur[h] = n + 1
	return n
}

// clamp01 limits p to [0, 1].
func clamp01(p float64) float64 {
	return math.Max(0, math.Min(1, p))
}
