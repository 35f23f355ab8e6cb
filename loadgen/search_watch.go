package loadgen

import (
	"github.com/needlestorm/needlestorm/run"

	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// searchSink is a Searcher's record sink: it writes every record to the
// caller's sink, then hands it to the running step's watch.
type searchSink struct {
	inner run.Sink
	// watch is set before a step runs and cleared after it has drained, so
	// the step's request goroutines only ever see one value.
	watch *searchWatch
}

func (s *searchSink) Write(rec *run.Record) error {
	if err := s.inner.Write(rec); err != nil {
		return err
	}
	if w := s.watch; w != nil {
		w.add(rec)
	}
	return nil
}

// searchWatch collects one step's records and applies the EarlyStop rules
// as they complete.
type searchWatch struct {
	rules EarlyStop
	stop  context.CancelCauseFunc

	mu        sync.Mutex
	recs      []run.Record
	errs      int            // records with any error class
	canceled  int            // of which canceled
	classes   map[string]int // error classes but canceled
	ttfts     []float64      // successful requests' ttft, in completion order
	nextCheck int
	early     string
}

func (w *searchWatch) add(rec *run.Record) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.recs = append(w.recs, *rec)
	switch {
	case rec.ErrorClass == run.ErrCanceled:
		w.errs++
		w.canceled++
	case rec.ErrorClass != "":
		w.errs++
		if w.classes == nil {
			w.classes = map[string]int{}
		}
		w.classes[rec.ErrorClass]++
	case rec.TTFT > 0:
		w.ttfts = append(w.ttfts, rec.TTFT.Duration().Seconds())
	}
	n := len(w.recs) - w.canceled
	if w.rules.Disabled || w.early != "" || n < w.nextCheck {
		return
	}
	// Check at every completion at first, then every n/16 so a long step
	// costs O(n log n) in all.
	w.nextCheck = n + max(1, n/16)
	if reason := w.check(n); reason != "" {
		w.early = reason
		w.stop(errSearchEarlyStop)
	}
}

// check applies the rules to the n completed requests (canceled ones left
// out); w.mu is held.
func (w *searchWatch) check(n int) string {
	r := w.rules
	failed := w.errs - w.canceled
	if share := float64(failed) / float64(n); share > r.MaxErrorShare {
		return fmt.Sprintf("ended early: %d of %d completed requests failed (%s), above the %s bound",
			failed, n, searchClasses(w.classes), searchPercent(r.MaxErrorShare))
	}
	k := len(w.ttfts) / 3
	if r.TTFTGrowth <= 0 || k < 3 {
		return ""
	}
	first := searchMedian(w.ttfts[:k])
	last := searchMedian(w.ttfts[len(w.ttfts)-k:])
	limit := r.TTFTLimit.Duration().Seconds()
	if last <= r.TTFTGrowth*first || (limit > 0 && last <= limit) {
		return ""
	}
	msg := fmt.Sprintf("ended early: ttft rising: median %s over the last %d completions, %.1f× the first %d's %s",
		searchSecs(last), k, last/first, k, searchSecs(first))
	if limit > 0 {
		msg += " and above the " + searchSecs(limit) + " objective"
	}
	return msg
}

// result returns the step's records, its error count and the early-stop
// reason ("" when it ran to its bounds).
func (w *searchWatch) result() ([]run.Record, int, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.recs, w.errs, w.early
}

// searchMedian is the median of xs (the mean of the middle two for an even
// count); xs is not modified.
func searchMedian(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// searchClasses lists error classes with counts, such as "server_error 9".
func searchClasses(m map[string]int) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+" "+strconv.Itoa(m[k]))
	}
	return strings.Join(parts, ", ")
}

func searchSecs(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}
