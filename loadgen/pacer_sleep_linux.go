//go:build linux

package loadgen

import (
	"syscall"
	"time"
)

// defaultSpinWindow is the part of a wait before a send that is not left to
// the runtime's timers (see sleepUntil). It is a nanosleep, which costs no
// CPU, so it can cover the timers' worst overshoot.
const defaultSpinWindow = 4 * time.Millisecond

// preciseSleepMin is the part of a wait left to spinUntil after
// preciseSleep.
const preciseSleepMin = 150 * time.Microsecond

// preciseSleep blocks the calling thread in nanosleep(2), which wakes within
// tens of microseconds where the runtime's timers can overshoot by a
// millisecond or more.
func preciseSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	_ = syscall.Nanosleep(&ts, nil)
}
