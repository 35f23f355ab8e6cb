package sim

import (
	"context"
	"time"
)

// pacer sleeps a request along its simulated timeline. It keeps a running
// total of simulated time and sleeps until the matching wall time, so short
// steps add up without drift; it never sleeps at time scale 0.
type pacer struct {
	scale float64
	start time.Time
	virt  time.Duration
	done  <-chan struct{}
}

// minSleep is the shortest wall sleep worth a timer; shorter debts carry over.
const minSleep = 200 * time.Microsecond

// wait advances the timeline by d and sleeps until the wall clock catches up.
// It returns ctx's error when the request is canceled, or errClosed when the
// server closes.
func (p *pacer) wait(ctx context.Context, d time.Duration) error {
	if p.scale == 0 || d <= 0 {
		return nil
	}
	p.virt += d
	dt := time.Until(p.start.Add(time.Duration(float64(p.virt) * p.scale)))
	if dt < minSleep {
		return nil
	}
	t := time.NewTimer(dt)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-p.done:
		return errClosed
	}
}
