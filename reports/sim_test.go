package reports_test

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/endpoint"
	"github.com/needlestorm/needlestorm/internal/testkit"
	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/probes"
	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
)

// judge is the scorer the dispatcher calls live, with no overhead known yet.
func judge(c *corpus.Case, r *run.Record) probes.Verdict {
	return probes.Judge(c, probes.ResponseFacts{
		Answer: r.Answer, FinishReason: r.FinishReason, ErrorClass: r.ErrorClass, Error: r.Error, Status: r.Status,
		PromptTokensClient: r.PromptTokensClient, PromptTokensServer: r.PromptTokensServer,
	})
}

// TestOllamaDefaultTruncation runs the ollama-default simulator profile
// (num_ctx 2048, keeps the tail of a longer prompt, answers 200) on a
// loopback port: a needle at depth 0 in a 4k prompt is dropped by the server
// and must come out server_truncated with the head cut, never model_missed,
// while 1k prompts are judged on the model alone.
func TestOllamaDefaultTruncation(t *testing.T) {
	ctx := t.Context()
	cfg := testkit.SimConfig(t, "ollama-default") // computes timings, never sleeps
	srv := testkit.StartSim(t, cfg)

	cases, err := corpus.Matrix{
		Tasks: []string{"single"}, Lengths: []int{1024, 4096}, Depths: []float64{0, 50, 100},
		Samples: 3, Canaries: true, Seed: 7,
	}.Cases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	target, err := endpoint.NewTarget(endpoint.TargetConfig{Name: "ollama", Kind: "openai", BaseURL: srv.URL(), Model: cfg.Model},
		endpoint.TargetEnv(testkit.NoEnv))
	if err != nil {
		t.Fatal(err)
	}
	runner, err := loadgen.NewRunner(target, cases, loadgen.ConstantStages([]float64{200}, 0, len(cases)), loadgen.Score(judge))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	if _, err := runner.Run(ctx, dir); err != nil {
		t.Fatal(err)
	}
	s, err := reports.Write(dir, reports.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := s.Targets[0]
	if !ts.OverheadKnown || ts.Overhead != cfg.TemplateOverhead {
		t.Errorf("template overhead %d (known %v), want the profile's %d measured", ts.Overhead, ts.OverheadKnown, cfg.TemplateOverhead)
	}

	f, err := os.Open(filepath.Join(dir, reports.CSVFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) int { return slices.Index(rows[0], name) }
	seen := 0
	for _, row := range rows[1:] {
		length, _ := strconv.Atoi(row[col("length")])
		depth, _ := strconv.ParseFloat(row[col("depth")], 64)
		attr, cut := row[col("attribution")], row[col("cut")]
		switch {
		case length == 4096 && depth == 0:
			seen++
			if attr != probes.AttrServerTruncated || cut != probes.CutHead || row[col("needle_lost")] != "true" {
				t.Errorf("4096 tokens, depth 0: %s, cut %q, needle lost %s (answer %q, error %s %s); want server_truncated, head, true",
					attr, cut, row[col("needle_lost")], row[col("answer")], row[col("error_class")], row[col("error")])
			}
		case length == 1024 && attr == probes.AttrServerTruncated:
			t.Errorf("a 1024-token prompt fits num_ctx but came out server_truncated (answer %q)", row[col("answer")])
		}
	}
	if seen != 3 {
		t.Errorf("%d records at 4096 tokens and depth 0, want 3", seen)
	}
	if ts.Truncation.Wrong < 3 || ts.Truncation.NeedleLost < 3 {
		t.Errorf("truncation summary %+v, want at least the 3 depth-0 needles lost", ts.Truncation)
	}
}
