package loadgen_test

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/internal/gctune"
)

// underCollectors runs f twice: with the process's garbage collector set as
// the command line sets it (internal/gctune: GOGC off under a soft memory
// limit) and with Go's default (GOGC=100). The setting is the whole
// process's, so in these benchmarks it is also the in-process simulator's
// (and, in BenchmarkVsVegeta, vegeta's). GOGC or GOMEMLIMIT set in the
// environment makes both runs use it, as it would the command line.
func underCollectors(b *testing.B, f func(b *testing.B)) {
	b.Run("gc=needlestorm", func(b *testing.B) {
		percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
		defer func() {
			debug.SetGCPercent(percent)
			debug.SetMemoryLimit(limit)
		}()
		s := gctune.Apply()
		b.Logf("collector: %s", s)
		g := gctune.NewGuard(s, 100*time.Millisecond)
		defer g.Stop()
		runtime.GC()
		f(b)
	})
	b.Run("gc=go-default", func(b *testing.B) {
		runtime.GC()
		f(b)
	})
}
