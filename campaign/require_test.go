package campaign

import (
	"strings"
	"testing"
)

// TestRequire checks the campaign's require: line: a valid one reaches the
// report's objectives, a bad one is an error at its line and column.
func TestRequire(t *testing.T) {
	const base = "targets:\n  - {name: a, kind: sim}\ncorpus: {lengths: [1k]}\nload: {stages: [{rate: 1, requests: 2}]}\n"
	c, err := Parse("ok.yaml", []byte(base+"require: length=32k,rate=4/s,ttft_p95=2s\n"))
	if err != nil {
		t.Fatal(err)
	}
	req := c.Objectives().Requirement
	if req == nil || req.Length != 32000 || req.Rate != 4 || len(req.Latency) != 1 || req.Latency[0].Name() != "ttft_p95" {
		t.Fatalf("requirement %+v, want length 32000, rate 4, ttft_p95", req)
	}
	if c, err := Parse("none.yaml", []byte(base)); err != nil || c.Objectives().Requirement != nil {
		t.Fatalf("no require: got %v, %v", c.Objectives().Requirement, err)
	}
	_, err = Parse("bad.yaml", []byte(base+"require: length=32k,rat=4\n"))
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:5:10: require:") || !strings.Contains(err.Error(), `"rat"`) {
		t.Fatalf("error %v, want one at bad.yaml:5:10 naming \"rat\"", err)
	}
}
