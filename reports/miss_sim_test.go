package reports_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/endpoint"
	"github.com/needlestorm/needlestorm/internal/testkit"
	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/sim"
)

// missDataset is a dataset whose prompts hold the candidates: labels to
// choose from, and an amount among other amounts.
const missDataset = `{"id": "c1", "task_type": "classification", "prompt": "Label the message as spam, ham or phishing: 'Your account is locked, log in here.'", "expected": {"one_of": ["spam", "ham", "phishing"], "label": "phishing"}}
{"id": "c2", "task_type": "classification", "prompt": "Label the message as spam, ham or phishing: 'Lunch at noon?'", "expected": {"one_of": ["spam", "ham", "phishing"], "label": "ham"}}
{"id": "e1", "task_type": "extraction", "prompt": "Invoice 118: subtotal 1180 EUR, shipping 25 EUR, total due 1205 EUR. What is the total due?", "expected": {"number": 1205}}
{"id": "e2", "task_type": "extraction", "prompt": "Order 77 weighs 340 kg in 12 crates. How many kilograms does it weigh?", "expected": {"number": 340}}
`

// runMissSim runs cases against the fast simulator, answering right half
// the time with wrong answers of the mix given, and returns the report.
func runMissSim(t *testing.T, mix sim.WrongMix, dataset string, cases []corpus.Case, repeats int) *reports.Summary {
	t.Helper()
	cfg := testkit.SimConfig(t, "fast")
	cfg.BaseAccuracy, cfg.WrongMix, cfg.Seed, cfg.Dataset = 0.5, mix, 11, dataset
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	srv := testkit.StartSim(t, cfg)
	target, err := endpoint.NewTarget(endpoint.TargetConfig{Name: "sim", Kind: "openai", BaseURL: srv.URL(), Model: cfg.Model},
		endpoint.TargetEnv(testkit.NoEnv))
	if err != nil {
		t.Fatal(err)
	}
	runner, err := loadgen.NewRunner(target, cases, loadgen.ConstantStages([]float64{500}, 0, len(cases)*repeats))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	if _, err := runner.Run(t.Context(), dir); err != nil {
		t.Fatal(err)
	}
	s, err := reports.Write(dir, reports.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// onlyKind checks that the run's misses are many and all of kind.
func onlyKind(t *testing.T, s *reports.Summary, kind string, atLeast int) {
	t.Helper()
	if len(s.Misses) != 1 {
		t.Fatalf("%d miss splits, want 1", len(s.Misses))
	}
	ms := s.Misses[0]
	t.Logf("%s: %d misses of %d requests: %v", kind, ms.Misses, ms.Requests, ms.Counts)
	if ms.Misses < atLeast || ms.Counts[kind] != ms.Misses {
		t.Errorf("misses %d with counts %v, want at least %d, all %s", ms.Misses, ms.Counts, atLeast, kind)
	}
	for _, r := range append(append(ms.ByLength, ms.ByDepth...), ms.ByStage...) {
		if r.Counts[kind] != r.Misses {
			t.Errorf("row %+v has misses other than %s", r, kind)
		}
	}
}

// TestSimMissSplit: the simulator's wrong answers, configured to be only
// distractors (or only not-found, or only invented values), come out of
// a loopback run as a miss split of that kind alone, for needles and for
// dataset cases.
func TestSimMissSplit(t *testing.T) {
	needles := func(tasks []string, kind string) []corpus.Case {
		cs, err := corpus.Matrix{Tasks: tasks, Lengths: []int{1024, 2048}, Depths: []float64{0, 50, 100}, Samples: 3, Seed: 5, ValueKind: kind}.Cases(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	path := filepath.Join(t.TempDir(), "miss.jsonl")
	if err := os.WriteFile(path, []byte(missDataset), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := corpus.LoadDataset(path)
	if err != nil {
		t.Fatal(err)
	}
	dataset, err := d.Build("")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("distractor", func(t *testing.T) {
		// multikey and chain prompts state values for keys not asked.
		s := runMissSim(t, "distractor=1", "", needles([]string{corpus.TaskMultiKey, corpus.TaskChain}, ""), 1)
		onlyKind(t, s, "distractor", 10)
		var md strings.Builder
		if err := reports.WriteMarkdown(&md, s); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(md.String(), "## Why the model missed") || strings.Contains(md.String(), "Hallucinations rise") {
			t.Errorf("summary.md miss section:\n%s", md.String())
		}
	})
	t.Run("not_found", func(t *testing.T) {
		s := runMissSim(t, "not_found=1", "", needles([]string{corpus.TaskSingle, corpus.TaskMultiKey}, "uuid"), 1)
		onlyKind(t, s, "not_found", 10)
	})
	t.Run("hallucinated", func(t *testing.T) {
		for _, kind := range []string{"number", "uuid", "word"} {
			s := runMissSim(t, "hallucinated=1", "", needles([]string{corpus.TaskSingle, corpus.TaskMultiKey}, kind), 1)
			onlyKind(t, s, "hallucinated", 10)
		}
	})
	t.Run("dataset distractor", func(t *testing.T) {
		s := runMissSim(t, "distractor=1", path, dataset, 10)
		onlyKind(t, s, "distractor", 10)
	})
	t.Run("dataset hallucinated", func(t *testing.T) {
		// A label cannot be invented; the amounts can.
		s := runMissSim(t, "hallucinated=1", path, dataset[2:], 10)
		onlyKind(t, s, "hallucinated", 5)
	})
}
