package sim

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/probes"
)

const simDataset = `{"id": "e1", "task_type": "extraction", "prompt": "Invoice 17: total 1,250.50 EUR. What is the total?", "expected": [{"number": 1250.5, "tolerance": 0.01}, {"contains": ["EUR"]}]}
{"id": "c1", "task_type": "classification", "prompt": "Review: great phone. Sentiment?", "expected": {"one_of": ["positive", "negative", "neutral"], "label": "positive"}}
{"id": "j1", "task_type": "extraction", "prompt": "Ada Lovelace, born 1815 in London. As JSON?", "expected": {"json": {"name": "Ada Lovelace", "born": 1815, "person.city": {"regex": "^Lon"}}}}
{"id": "r1", "task_type": "code", "prompt": "Give a ticket id.", "expected": {"regex": "^[A-Z]{3}-\\d{4}$"}}
{"id": "q1", "task_type": "code", "prompt": "Say yes.", "expected": {"equals": "yes"}}
{"id": "a1", "task_type": "code", "prompt": "Pick.", "expected": {"contains": ["red", "blue"], "match": "any"}}
{"id": "o1", "task_type": "summarization", "prompt": "Summarise: the committee met on Tuesday and agreed the budget."}
`

// TestRightAndWrongDatasetAnswers: the simulator's right answer to every
// case passes its matchers and each wrong one fails them.
func TestRightAndWrongDatasetAnswers(t *testing.T) {
	d, err := corpus.ReadDataset(strings.NewReader(simDataset), "sim.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range d.Cases {
		dc, err := prepareCase(c)
		if err != nil {
			t.Fatalf("case %s: %v", c.ID, err)
		}
		if c.Open() {
			if dc.right == dc.wrong[0] || probes.Normalize(dc.right) == "" {
				t.Errorf("open case %s: right %q, wrong %q", c.ID, dc.right, dc.wrong)
			}
			continue
		}
		if m := probes.ScoreMatchers(c.Expected, dc.right); !m.Strict {
			t.Errorf("case %s: right answer %q fails its matchers (%+v)", c.ID, dc.right, m)
		}
		for _, w := range dc.wrongBy {
			if w == "" {
				continue
			}
			if m := probes.ScoreMatchers(c.Expected, w); m.Strict {
				t.Errorf("case %s: wrong answer %q passes its matchers", c.ID, w)
			}
		}
	}
}

func TestRegexSample(t *testing.T) {
	for _, p := range []string{`^[A-Z]{3}-\d{4}$`, `(?i)^yes|no$`, `\bfoo\b`, `^\d+(\.\d{2})?$`, `colou?r`, `^(cat|dog)s?$`, `[^a-z]x`, `^\w+@\w+\.com$`} {
		s, err := regexSample(p)
		if err != nil {
			t.Errorf("regexSample(%q): %v", p, err)
			continue
		}
		if m := probes.ScoreMatcher(corpus.Matcher{Regex: &p}, s); !m.Pass {
			t.Errorf("regexSample(%q) = %q, which the regex matcher fails", p, s)
		}
	}
	if _, err := regexSample(`a\bb`); err == nil {
		t.Error("an unsatisfiable pattern gave a sample")
	}
}

// TestDatasetAccuracy: over many draws, the share of right answers to a
// case is its task type's accuracy; a truncated prompt is never right.
func TestDatasetAccuracy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.jsonl")
	if err := os.WriteFile(path, []byte(simDataset), 0o600); err != nil {
		t.Fatal(err)
	}
	idx, err := loadDataset(path)
	if err != nil {
		t.Fatal(err)
	}
	dc := idx.lookup([]string{"Review: great phone. Sentiment?"})
	if dc == nil || dc.taskType != "classification" {
		t.Fatalf("lookup = %+v", dc)
	}
	if idx.lookup([]string{"Review: great phone. Sentiment"}) != nil {
		t.Fatal("a different prompt was taken for a dataset case")
	}
	cfg := Config{BaseAccuracy: 0.5, TaskAccuracy: "classification=0.8", MaxSeqs: 1}
	right := 0
	const n = 4000
	for i := range n {
		r := newRNG(1, 2, uint64(i), streamAnswer)
		if a := cfg.answerCase(dc, true, 0, &r); a.right == 1 {
			right++
		}
		r = newRNG(1, 2, uint64(i), streamAnswer)
		if a := cfg.answerCase(dc, false, 0, &r); a.right == 1 {
			t.Fatal("a truncated dataset prompt was answered right")
		}
	}
	// 4000 draws at 0.8: the standard error is 0.0063; 5 of them is 0.032.
	if got := float64(right) / n; got < 0.768 || got > 0.832 {
		t.Errorf("accuracy %v, want 0.8 within sampling error", got)
	}
	if got := cfg.TaskAccuracyOf("code"); got != 0.5 {
		t.Errorf("unlisted task type accuracy %v, want base 0.5", got)
	}
}

func TestTaskAccuracy(t *testing.T) {
	var c Config
	if err := json.Unmarshal([]byte(`{"task_accuracy": {"code": 0.6, "extraction": 0.9}}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.TaskAccuracy != "code=0.6,extraction=0.9" {
		t.Fatalf("TaskAccuracy = %q", c.TaskAccuracy)
	}
	m, err := c.TaskAccuracy.Parse()
	if err != nil || m["code"] != 0.6 || m["extraction"] != 0.9 {
		t.Fatalf("Parse = %v, %v", m, err)
	}
	for _, bad := range []TaskAccuracy{"code", "code=1.5", "=0.5", "a=0.1,a=0.2", "a=x"} {
		if _, err := bad.Parse(); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	cfg, _ := Profile("fast")
	cfg.TaskAccuracy = "code=2"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "task_accuracy") {
		t.Errorf("Validate = %v, want a task_accuracy error", err)
	}
}
