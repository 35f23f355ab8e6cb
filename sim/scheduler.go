package sim

import (
	"context"
	"errors"
	"sync"
)

// errQueueFull is returned by acquire when the wait queue is full.
var errQueueFull = errors.New("sim: queue full")

// scheduler hands out MaxSeqs sequence slots in FIFO order to at most Queue
// waiting requests, and counts the requests in each phase.
type scheduler struct {
	maxSeqs, queueCap int

	mu         sync.Mutex
	active     int
	waiting    []chan struct{} // FIFO; a closed channel owns a slot
	prefilling int
	decoding   int
	peakActive int
	completed  uint64
}

func newScheduler(maxSeqs, queue int) *scheduler {
	return &scheduler{maxSeqs: maxSeqs, queueCap: queue}
}

// acquire waits for a slot. It returns the number of requests queued ahead on
// arrival, errQueueFull when the queue is full, or ctx's error.
func (s *scheduler) acquire(ctx context.Context) (int, error) {
	s.mu.Lock()
	if s.active < s.maxSeqs && len(s.waiting) == 0 {
		s.take()
		s.mu.Unlock()
		return 0, nil
	}
	ahead := len(s.waiting)
	if ahead >= s.queueCap {
		s.mu.Unlock()
		return ahead, errQueueFull
	}
	ch := make(chan struct{})
	s.waiting = append(s.waiting, ch)
	s.mu.Unlock()

	select {
	case <-ch:
		return ahead, nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, w := range s.waiting {
			if w == ch {
				s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
				return ahead, ctx.Err()
			}
		}
		// The slot was handed over while we gave up: pass it on.
		s.prefilling--
		s.handOff()
		return ahead, ctx.Err()
	}
}

// take marks one more slot in use; s.mu must be held.
func (s *scheduler) take() {
	s.active++
	s.prefilling++
	if s.active > s.peakActive {
		s.peakActive = s.active
	}
}

// handOff gives a freed slot to the first waiter, or frees it; s.mu held.
func (s *scheduler) handOff() {
	s.active--
	if len(s.waiting) > 0 {
		ch := s.waiting[0]
		s.waiting[0] = nil
		s.waiting = s.waiting[1:]
		s.take()
		close(ch)
	}
}

// load returns the load seen by a request that has just taken its slot (it
// counts itself as prefilling).
func (s *scheduler) load(queued int) Load {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Load{Prefilling: s.prefilling - 1, Decoding: s.decoding, Queued: queued}
}

// decodeStarted moves a request from prefilling to decoding and returns the
// number of other sequences decoding.
func (s *scheduler) decodeStarted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prefilling--
	s.decoding++
	return s.decoding - 1
}

// release frees a slot; decoding tells which phase the request ended in.
func (s *scheduler) release(decoding bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if decoding {
		s.decoding--
	} else {
		s.prefilling--
	}
	s.completed++
	s.handOff()
}

// Stats are counters of the scheduler since the server started.
type Stats struct {
	// Active is the number of sequences holding a slot now; Waiting the
	// number queued for one.
	Active, Waiting int
	// PeakActive is the most sequences ever held at once.
	PeakActive int
	// Completed counts requests that held a slot and released it.
	Completed uint64
	// CachedBlocks is the number of prompt-prefix blocks in the prefix
	// cache (0 without one).
	CachedBlocks int
}

func (s *scheduler) stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Active: s.active, Waiting: len(s.waiting), PeakActive: s.peakActive, Completed: s.completed}
}
