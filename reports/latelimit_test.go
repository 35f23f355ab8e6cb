package reports

import (
	"strings"
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
		if got := lateLimit(tt.rate, SendLagLimit); got != tt.want {
			t.Errorf("lateLimit(%g) = %s, want %s", tt.rate, got, tt.want)
		}
	}
	o, err := ParseSLO("ttft_p95=2s,send_lag=200ms")
	if err != nil || o.SendLagLimit() != 200*time.Millisecond || lateLimit(10, o.SendLagLimit()) != 200*time.Millisecond {
		t.Errorf("send_lag=200ms: %+v, %v", o, err)
	}
	if _, err := ParseSLO("send_lag=-1s"); err == nil || !strings.Contains(err.Error(), "above zero") {
		t.Errorf("send_lag=-1s: %v", err)
	}
}
