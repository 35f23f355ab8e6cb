//go:build !linux

package loadgen

import (
	"runtime"
	"time"
)

// defaultSpinWindow is the part of a wait before a send that is not left to
// the runtime's timers (see sleepUntil). Without a precise sleep it is a
// yield loop, which costs CPU, so it is kept short.
const defaultSpinWindow = time.Millisecond

// preciseSleepMin is the part of a wait left to a yield loop: without a
// precise sleep, the whole spin window is a yield loop.
const preciseSleepMin = time.Hour

// preciseSleep is never reached where preciseSleepMin is an hour; it yields.
func preciseSleep(time.Duration) { runtime.Gosched() }
