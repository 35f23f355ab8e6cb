package reports

import (
	"testing"
	"time"
)

// TestLateLimit: a send is late past SendLagLimit, or past a quarter of
// the scheduled gap between requests when that is longer.
func TestLateLimit(t *testing.T) {
	for _, tt := range []struct {
		rate float64
		want time.Duration
	}{
		{0, SendLagLimit}, {100, SendLagLimit}, {25, SendLagLimit}, {10, 25 * time.Millisecond}, {2, 125 * time.Millisecond},
	} {
		if got := lateLimit(tt.rate); got != tt.want {
			t.Errorf("lateLimit(%g) = %s, want %s", tt.rate, got, tt.want)
		}
	}
}
