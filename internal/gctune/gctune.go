package gctune

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// MaxLimit is the largest soft memory limit Apply sets (see the package
// documentation for why not more).
const MaxLimit = 256 << 20

// ratio is the share of the process's memory the limit may take.
const ratio = 0.25

// minLimit is the smallest limit worth collecting rarely at: below it (a
// process allowed less than 256 MiB) Apply leaves the collector alone.
const minLimit = 64 << 20

// Setting says how the collector of this process is set.
type Setting struct {
	// Tuned is true when Apply set the collector (GOGC off, Limit set).
	Tuned bool
	// Limit is the soft memory limit in bytes Apply set; 0 when not Tuned.
	Limit int64
	// Reason says why the collector was left alone when not Tuned.
	Reason string
}

// String describes the setting for a log line or a manifest.
func (s Setting) String() string {
	if !s.Tuned {
		return "Go defaults (" + s.Reason + ")"
	}
	return fmt.Sprintf("GOGC=off GOMEMLIMIT=%dMiB (needlestorm's pacing setting; Go's defaults again if the live heap passes half of it)", s.Limit>>20)
}

// Apply sets the collector for pacing unless the environment already sets
// GOGC or GOMEMLIMIT, and returns what it did. It does not start the Guard.
func Apply() Setting {
	for _, k := range []string{"GOGC", "GOMEMLIMIT"} {
		if v, ok := os.LookupEnv(k); ok {
			return Setting{Reason: k + "=" + v + " is set in the environment"}
		}
	}
	avail, err := memlimit.ApplyFallback(memlimit.FromCgroup, memlimit.FromSystem)()
	if err != nil || avail == 0 {
		return Setting{Reason: "the memory available to the process is not known"}
	}
	limit := min(int64(float64(avail)*ratio), MaxLimit)
	if limit < minLimit {
		return Setting{Reason: fmt.Sprintf("the process may use only %d MiB", avail>>20)}
	}
	return set(limit)
}

// set turns the proportional collector off and sets limit.
func set(limit int64) Setting {
	debug.SetMemoryLimit(limit)
	debug.SetGCPercent(-1)
	return Setting{Tuned: true, Limit: limit}
}

// Guard watches the live heap of a tuned process and puts Go's defaults
// back (GOGC=100, no memory limit) once it passes half of the limit.
type Guard struct {
	setting  Setting
	stop     chan struct{}
	done     chan struct{}
	restored atomic.Int64 // when it put the defaults back, in Unix ns; 0: not
}

// NewGuard starts a guard for s that looks at the live heap every interval.
// For a setting that is not Tuned it watches nothing. Stop stops it.
func NewGuard(s Setting, interval time.Duration) *Guard {
	g := &Guard{setting: s, stop: make(chan struct{}), done: make(chan struct{})}
	if !s.Tuned {
		close(g.done)
		return g
	}
	go g.watch(interval)
	return g
}

func (g *Guard) watch(interval time.Duration) {
	defer close(g.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if g.Check() {
			return
		}
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
	}
}

// Check reads the live heap (as of the last collection) and, once it is
// over half the limit, puts Go's defaults back (GOGC=100, no memory limit)
// and reports true.
func (g *Guard) Check() bool {
	limit := g.setting.Limit
	if limit == 0 {
		return false
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 || int64(sample[0].Value.Uint64()) <= limit/2 {
		return false
	}
	// Go's defaults: with the limit kept, a live heap over half of it
	// would be collected every time the little room left filled up.
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
	g.restored.CompareAndSwap(0, time.Now().UnixNano())
	return true
}

// RestoredAt is when the guard put the defaults back; zero if it has not.
func (g *Guard) RestoredAt() time.Time {
	if ns := g.restored.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// String describes the collector as it is now: the guard's setting, and
// since when GOGC=100 is back if the guard restored it (for a manifest
// written when a run ends).
func (g *Guard) String() string {
	at := g.RestoredAt()
	if at.IsZero() {
		return g.setting.String()
	}
	return fmt.Sprintf("%s; Go's defaults (GOGC=100, no limit) since %s (the live heap passed half the limit)", g.setting, at.UTC().Format(time.RFC3339))
}

// Stop stops the guard's watching (the collector keeps its setting).
func (g *Guard) Stop() {
	select {
	case <-g.stop:
	default:
		close(g.stop)
	}
	<-g.done
}
