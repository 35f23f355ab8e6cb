package campaign

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/endpoint"
	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/run"
	"github.com/needlestorm/needlestorm/sim"
)

// countSink counts the records a search writes.
type countSink struct{ n atomic.Int64 }

func (s *countSink) Write(*run.Record) error { s.n.Add(1); return nil }

// TestPlanBoundsTheSearch runs a search to its worst case against the
// simulator (in-process on loopback, a hundred times faster than real
// time) and checks the dry run's upper bound against what was sent: at or
// above it, and within 10% of it, in requests and in steps per length.
//
// The worst case is a target that holds every rate below max_rate: the
// ramp climbs all the way (10, 20, 40/s pass, 80/s fails), then the
// bisection probes the highest rates it can (56.6, 67.3, 73.4/s), each
// step sending as many requests as its rate allows; before each length,
// the warm-up. The judge says so by rate, so the test depends on no
// latency: what is measured is what the dispatcher sent.
func TestPlanBoundsTheSearch(t *testing.T) {
	src := `targets: [{name: s, kind: sim, sim_profile: fast, time_scale: 0.01}]
corpus: {lengths: [300, 600], depths: [50]}
load:
  warmup: 200ms
  search: {start_rate: 10, max_rate: 80, resolution: 0.1, step_duration: 250ms, early_stop: {disabled: true}}
`
	c, err := Parse("worst.yaml", []byte(src))
	if err != nil {
		t.Fatalf("%s", Detail(err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	plan, err := c.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := *c.Search()
	bound := spec.WorstCase()

	ts := c.Targets()[0]
	srv, err := sim.Start(ctx, *ts.Sim, sim.WithAddr("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cfg := ts.Config
	cfg.BaseURL, cfg.Model = srv.URL(), srv.Config().Model
	target, err := endpoint.NewTarget(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	cases, err := c.Matrix().Cases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	holdsBelowMax := func(step loadgen.SearchStep, _ []run.Record) loadgen.StepVerdict {
		return loadgen.StepVerdict{Pass: step.Rate < spec.MaxRate, Reason: "at max_rate"}
	}
	sink := &countSink{}
	results, err := loadgen.Search(ctx, target, cases, spec, holdsBelowMax, sink)
	if err != nil {
		t.Fatal(err)
	}

	sent, planned := sink.n.Load(), plan.Targets[0].Requests
	if sent > planned || float64(planned) > 1.1*float64(sent) {
		t.Errorf("sent %d requests; the dry run's upper bound %d is not at or above it within 10%%", sent, planned)
	}
	if len(results) != 2 {
		t.Fatalf("%d lengths searched, want 2", len(results))
	}
	for _, r := range results {
		steps := 0
		for _, st := range r.Steps {
			if st.Phase != loadgen.SearchWarmup {
				steps++
			}
		}
		if steps > bound.Steps || float64(bound.Steps) > 1.1*float64(steps) {
			t.Errorf("length %d: %d steps; the dry run's upper bound %d is not at or above it within 10%% (%+v)", r.Length, steps, bound.Steps, r)
		}
		if len(r.Steps) == steps {
			t.Errorf("length %d: no warm-up before its steps", r.Length)
		}
	}
	t.Logf("sent %d requests in %d and %d steps; the plan's bound: %d requests, %d steps per length", sent, len(results[0].Steps), len(results[1].Steps), planned, bound.Steps)
}
