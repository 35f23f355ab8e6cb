package testkit

import (
	"context"
	"testing"

	"github.com/needlestorm/needlestorm/sim"
)

// SimConfig returns the simulator profile named profile at time scale 0
// (every timing computed, none slept), failing the test for an unknown
// profile. Tests change the fields they need before StartSim.
func SimConfig(t testing.TB, profile string) sim.Config {
	t.Helper()
	cfg, err := sim.Profile(profile)
	if err != nil {
		t.Fatal(err)
	}
	cfg.TimeScale = 0
	return cfg
}

// StartSim serves cfg on a free port of 127.0.0.1 and stops it, requests in
// flight included, when the test ends. Its URL ends in /v1.
func StartSim(t testing.TB, cfg sim.Config) *sim.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := sim.Start(ctx, cfg, sim.WithAddr("127.0.0.1:0"))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = srv.Close()
	})
	return srv
}
