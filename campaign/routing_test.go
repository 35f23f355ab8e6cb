package campaign

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/route"
)

// TestCampaignRouting: a campaign's routing file is read relative to the
// campaign, and a mistake in it is reported at the campaign's routing
// field with the routing file's own line and column.
func TestCampaignRouting(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := "targets:\n  - {name: s, kind: sim}\ncorpus: {lengths: [1k]}\nload: {stages: [{rate: 1, duration: 1s}]}\n"
	write("good.yaml", "jobs:\n  - {name: j, tier: small, context: 1k}\n")
	write("bad.yaml", "jobs:\n  - name: j\n    context: lots\n")

	c, err := Load(write("c.yaml", base+"routing: good.yaml\n"))
	if err != nil {
		t.Fatal(Detail(err))
	}
	if f := c.RoutingFile(); f == nil || len(f.Jobs) != 1 || f.Jobs[0].Name != "j" || f.Path != filepath.Join(dir, "good.yaml") {
		t.Errorf("routing file %+v", f)
	}
	if c, err := Load(write("none.yaml", base)); err != nil || c.RoutingFile() != nil {
		t.Errorf("no routing: %v, %+v", err, c.RoutingFile())
	}
	_, err = Load(write("b.yaml", base+"routing: bad.yaml\n"))
	if err == nil {
		t.Fatal("a bad routing file passed")
	}
	msg := Detail(err)
	if !strings.Contains(msg, "b.yaml:5:10") || !strings.Contains(msg, "bad.yaml:3:14") || !strings.Contains(msg, `"lots" is not a number of tokens`) {
		t.Errorf("error:\n%s", msg)
	}
	if _, err := Load(write("m.yaml", base+"routing: missing.yaml\n")); err == nil || !strings.Contains(Detail(err), "reading the routing file") {
		t.Errorf("a missing routing file: %v", err)
	}
}

// TestExecuteRecordsRouting: the manifest keeps the campaign's name and
// the routing file it names, so that a report can answer it again.
func TestExecuteRecordsRouting(t *testing.T) {
	routing := filepath.Join(t.TempDir(), "routing.yaml")
	if err := os.WriteFile(routing, []byte("targets: {s: {tier: small}}\njobs:\n  - {name: j, tier: small, context: 300, rate: 2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, m, recs, log := executeTest(t, `
name: routed
targets:
  - {name: s, kind: sim, sim_profile: fast, time_scale: 0}
corpus: {lengths: [300], depths: [50]}
load: {stages: [{rate: 50, requests: 4}]}
routing: `+routing+"\n", ExecOptions{NoPreflight: true})
	if len(recs) != 4 {
		t.Fatalf("%d records\n%s", len(recs), log)
	}
	if m.Campaign != "routed" {
		t.Errorf("manifest campaign %q, want routed", m.Campaign)
	}
	var f route.File
	if err := json.Unmarshal(m.Routing, &f); err != nil || len(f.Jobs) != 1 || f.Jobs[0].Name != "j" || f.Targets["s"].Tier != route.TierSmall || f.Path != routing {
		t.Errorf("manifest routing (%v): %s", err, m.Routing)
	}
}
