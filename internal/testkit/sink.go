package testkit

import (
	"slices"
	"sync"

	"github.com/needlestorm/needlestorm/run"
)

// MemSink is a run.Sink that keeps every record in memory. It is safe for
// concurrent use.
type MemSink struct {
	// Fail, when set, is returned by every Write, and nothing is kept.
	Fail error

	mu   sync.Mutex
	recs []run.Record
}

// Write keeps a copy of r, or returns Fail.
func (s *MemSink) Write(r *run.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		return s.Fail
	}
	s.recs = append(s.recs, *r)
	return nil
}

// Records returns the records written so far, ordered by Seq.
func (s *MemSink) Records() []run.Record {
	s.mu.Lock()
	out := slices.Clone(s.recs)
	s.mu.Unlock()
	slices.SortStableFunc(out, func(a, b run.Record) int { return int(a.Seq - b.Seq) })
	return out
}

// Len is the number of records written so far.
func (s *MemSink) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs)
}
