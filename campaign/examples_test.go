package campaign

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestExamples parses every example campaign (none needs an API key to
// parse) and computes its plan.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../examples/campaigns/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"anthropic.yaml", "ollama.yaml", "openai.yaml", "own-docs.yaml", "sim.yaml", "tiers.yaml", "vllm.yaml"}
	var got []string
	for _, f := range files {
		got = append(got, filepath.Base(f))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("examples %v, want %v", got, want)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := Load(f)
			if err != nil {
				t.Fatalf("%s", Detail(err))
			}
			p, err := c.Plan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if p.Requests <= 0 || p.InputTokens <= 0 {
				t.Errorf("plan sends %d requests, %d input tokens", p.Requests, p.InputTokens)
			}
			if err := p.CheckBudget(); err != nil {
				t.Errorf("example over its own budget: %v", err)
			}
			var b strings.Builder
			if err := p.Write(&b); err != nil {
				t.Fatal(err)
			}
			for _, tp := range p.Targets {
				if !strings.Contains(b.String(), tp.Target) {
					t.Errorf("plan table lacks target %s:\n%s", tp.Target, b.String())
				}
			}
			t.Logf("\n%s", b.String())
		})
	}
}

// TestDatasetExamples parses every example campaign of examples/datasets
// and computes its plan.
func TestDatasetExamples(t *testing.T) {
	files, err := filepath.Glob("../examples/datasets/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ab.yaml", "padded.yaml"}
	var got []string
	for _, f := range files {
		got = append(got, filepath.Base(f))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("examples %v, want %v", got, want)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := Load(f)
			if err != nil {
				t.Fatalf("%s", Detail(err))
			}
			p, err := c.Plan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if p.Requests <= 0 || p.InputTokens <= 0 || p.DatasetCases == 0 {
				t.Errorf("plan sends %d requests, %d input tokens, %d dataset cases", p.Requests, p.InputTokens, p.DatasetCases)
			}
			if err := p.CheckBudget(); err != nil {
				t.Errorf("example over its own budget: %v", err)
			}
			var b strings.Builder
			if err := p.Write(&b); err != nil {
				t.Fatal(err)
			}
		})
	}
}
