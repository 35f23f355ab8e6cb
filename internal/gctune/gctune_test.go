package gctune

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// restoreGC puts the test process's collector back as it was.
func restoreGC(t *testing.T) {
	t.Helper()
	percent := debug.SetGCPercent(100)
	limit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
}

// unsetenv removes k for the test (t.Setenv restores it afterwards).
func unsetenv(t *testing.T, k string) {
	t.Setenv(k, "")
	os.Unsetenv(k)
}

func TestApplyLeavesAUsersSettingAlone(t *testing.T) {
	restoreGC(t)
	for _, k := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(k, func(t *testing.T) {
			unsetenv(t, "GOGC")
			unsetenv(t, "GOMEMLIMIT")
			t.Setenv(k, "200")
			debug.SetGCPercent(100)
			s := Apply()
			if s.Tuned {
				t.Fatalf("Apply with %s set tuned the collector: %+v", k, s)
			}
			if !strings.Contains(s.String(), k+"=200") {
				t.Errorf("setting %q does not name %s=200", s, k)
			}
			if p := debug.SetGCPercent(100); p != 100 {
				t.Errorf("GOGC is %d after Apply, want the 100 it was", p)
			}
		})
	}
}

func TestApplyTurnsTheProportionalCollectorOff(t *testing.T) {
	restoreGC(t)
	unsetenv(t, "GOGC")
	unsetenv(t, "GOMEMLIMIT")
	s := Apply()
	if !s.Tuned {
		t.Skipf("this machine's memory is not known or too small: %s", s)
	}
	if s.Limit < minLimit || s.Limit > MaxLimit {
		t.Errorf("limit %d outside [%d, %d]", s.Limit, minLimit, MaxLimit)
	}
	if p := debug.SetGCPercent(100); p != -1 {
		t.Errorf("GOGC is %d after Apply, want off (-1)", p)
	}
	if l := debug.SetMemoryLimit(-1); l != s.Limit {
		t.Errorf("memory limit is %d, Apply said %d", l, s.Limit)
	}
	if !strings.Contains(s.String(), "GOGC=off") {
		t.Errorf("setting %q does not say GOGC=off", s)
	}
}

func TestGuardRestoresGOGCWhenTheLiveHeapPassesHalfTheLimit(t *testing.T) {
	restoreGC(t)
	const limit = 64 << 20
	s := set(limit)
	g := &Guard{setting: s}
	runtime.GC()
	if g.Check() {
		t.Fatal("Check restored GOGC with a small live heap")
	}
	if !g.RestoredAt().IsZero() || g.String() != s.String() {
		t.Fatalf("before acting, the guard says %q (restored at %v), want %q", g, g.RestoredAt(), s)
	}
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Fatalf("GOGC is %d before the heap grew, want -1", p)
	}
	live := make([]byte, limit/2+8<<20)
	for i := range live {
		live[i] = byte(i)
	}
	runtime.GC()
	if !g.Check() {
		t.Fatal("Check did not restore GOGC with a live heap over half the limit")
	}
	runtime.KeepAlive(live)
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("GOGC is %d after the guard acted, want 100", p)
	}
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		t.Errorf("the memory limit is %d after the guard acted, want none", l)
	}
	if at := g.RestoredAt(); at.IsZero() || time.Since(at) > time.Minute || !strings.Contains(g.String(), "GOGC=100, no limit) since") {
		t.Errorf("after acting, the guard says %q (restored at %v)", g, at)
	}
}

func TestGuardStops(t *testing.T) {
	restoreGC(t)
	g := NewGuard(set(math.MaxInt64/4), time.Millisecond)
	g.Stop()
	g.Stop() // twice is harmless
	u := NewGuard(Setting{Reason: "test"}, time.Millisecond)
	u.Stop()
	if u.Check() {
		t.Error("a guard of an untuned setting acted")
	}
}
