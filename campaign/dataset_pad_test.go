package campaign

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
)

const examplePadded = "../examples/datasets/padded.yaml"

// TestExamplePaddedPlan: the padded example sends every case as written
// and at both lengths and three depths, each padded prompt exactly its
// length.
func TestExamplePaddedPlan(t *testing.T) {
	c, err := Load(examplePadded)
	if err != nil {
		t.Fatalf("%s", Detail(err))
	}
	n := len(c.Dataset().Cases)
	cases := c.DatasetCases()
	if len(cases) != n*(1+2*3) {
		t.Fatalf("%d dataset cases, want %d", len(cases), n*7)
	}
	lengths := map[int]int{}
	for _, k := range cases[n:] {
		if k.PadTo != k.PromptTokens || k.Length != k.PadTo {
			t.Fatalf("%s: pad_to %d, prompt tokens %d, length %d", k.ID, k.PadTo, k.PromptTokens, k.Length)
		}
		lengths[k.PadTo]++
	}
	if lengths[2000] != 3*n || lengths[16000] != 3*n {
		t.Errorf("padded lengths %v", lengths)
	}
	// inv-001 marks its invoice: sent as written without the markers,
	// padded with its question after the haystack.
	const q = " What is the amount due, with its currency?"
	if u := cases[0].Messages[1].Content; cases[0].ID != "inv-001" || strings.Contains(u, "<<<") || !strings.HasPrefix(u, "Invoice from Harbour Tiles") || !strings.HasSuffix(u, "30 days."+q) {
		t.Errorf("inv-001 as written: %q", u)
	}
	p := cases[n]
	if u := p.Messages[1].Content; p.ID != "inv-001@2k-d0" || !strings.HasPrefix(u, "Invoice from Harbour Tiles") || !strings.HasSuffix(u, "\n\n"+strings.TrimSpace(q)) || strings.Contains(u, "30 days."+q) {
		t.Errorf("inv-001 padded at depth 0 is %q ... %q", u[:80], u[len(u)-80:])
	}
}

// TestExamplePaddedCampaign runs the padded example against its two
// simulated targets: the one with an 8k window answers the 2k versions of
// the cases about as often as its task accuracy says and none of the 16k
// ones, which it truncates; the long one holds at 16k.
func TestExamplePaddedCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a campaign")
	}
	c, err := Load(examplePadded)
	if err != nil {
		t.Fatalf("%s", Detail(err))
	}
	c.Load.Stages[0].Rate = 400
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var log bytes.Buffer
	dir := filepath.Join(t.TempDir(), "run")
	if _, err := c.Execute(ctx, dir, ExecOptions{Log: &log}); err != nil {
		t.Fatalf("execute: %v\n%s", err, log.String())
	}
	f, err := os.Open(filepath.Join(dir, run.RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := run.ReadRecords(f)
	if err != nil {
		t.Fatal(err)
	}
	padded := 0
	for _, r := range recs {
		if r.PadTo > 0 {
			padded++
			if !strings.Contains(r.CaseID, "@") || r.Length != r.PadTo {
				t.Fatalf("record %d: case %s, pad_to %d, length %d", r.Seq, r.CaseID, r.PadTo, r.Length)
			}
		}
	}
	if padded != 2*6*len(c.Dataset().Cases) {
		t.Fatalf("%d padded records", padded)
	}
	m, err := run.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := reports.Build(m, recs, reports.Options{})
	if err != nil {
		t.Fatal(err)
	}
	acc := map[string]map[string]float64{}
	for _, ts := range c.Targets() {
		a, err := ts.Sim.TaskAccuracy.Parse()
		if err != nil {
			t.Fatal(err)
		}
		acc[ts.Config.Name] = a
	}
	for _, tt := range s.TaskTypes {
		p := acc[tt.Target][tt.TaskType]
		for _, row := range tt.Pads {
			if tt.Target == "short" && row.PadTo == 16000 && !row.AllDepths && row.Depth == 50 && row.Correct != 0 {
				t.Errorf("short %s at 16k, depth 50%%: %d right where truncate_middle cut the content", tt.TaskType, row.Correct)
			}
			if !row.AllDepths && row.PadTo != 0 {
				continue
			}
			want := p
			if tt.Target == "short" && row.PadTo == 16000 {
				// the 8k window keeps the head and the tail: the content at
				// depth 0 and 1 survives, at 0.5 it is cut and never right
				want = 2 * p / 3
			}
			tol := 4*math.Sqrt(want*(1-want)/float64(row.Requests)) + 1e-9
			if math.Abs(row.Accuracy-want) > tol {
				t.Errorf("%s %s at %d: accuracy %.3f over %d, want %.2f within %.3f", tt.Target, tt.TaskType, row.PadTo, row.Accuracy, row.Requests, want, tol)
			}
		}
		if tt.Target == "short" && tt.HoldsTo == 16000 {
			t.Errorf("short %s holds up to 16k through a truncating 8k window", tt.TaskType)
		}
	}
	var md bytes.Buffer
	if err := reports.WriteMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "### Task types by padded length") || !strings.Contains(md.String(), "No needle envelope") {
		t.Errorf("summary.md lacks the padded lengths or says it has a needle envelope:\n%s", md.String())
	}
}

// TestPaddingErrors: a bad pad length or depth is refused at its field
// (or flag), a pad shorter than a case names the case and its line.
func TestPaddingErrors(t *testing.T) {
	ds, _ := filepath.Abs("../examples/datasets/cases.jsonl")
	base := "targets:\n  - {name: s, kind: sim}\nload:\n  stages: [{rate: 5}]\ncorpus:\n  dataset: " + ds + "\n"
	for _, tc := range []struct{ yaml, want string }{
		{"  pad_to: [40]\n", "corpus.pad_to"},
		{"  pad_to: [40]\n", "cases.jsonl:1: "},
		{"  pad_to: [40]\n", "case inv-001"},
		{"  pad_to: [8k]\n  pad_depths: [50]\n", "corpus.pad_depths"},
		{"  pad_depths: [0.5]\n", "without pad_to"},
		{"  pad_to: [8k, 8k]\n", "twice"},
	} {
		_, err := Parse("c.yaml", []byte(base+tc.yaml))
		if err == nil || !strings.Contains(Detail(err), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
	_, err := Parse("c.yaml", []byte("targets:\n  - {name: s, kind: sim}\nload:\n  stages: [{rate: 5}]\ncorpus:\n  lengths: [1k]\n  pad_to: [8k]\n"))
	if err == nil || !strings.Contains(err.Error(), "corpus.dataset") {
		t.Errorf("pad_to without a dataset: %v", err)
	}
	c, err := Parse("c.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Override(Overrides{PadTo: []int{4000}, PadDepths: []float64{2}}); err == nil || !strings.Contains(Detail(err), "--pad-depths") {
		t.Errorf("--pad-depths 2: error %v, want one naming the flag", err)
	}
	if err := c.Override(Overrides{PadTo: []int{1000}, PadDepths: []float64{0, 1}}); err != nil {
		t.Fatalf("%s", Detail(err))
	}
	if n := len(c.Dataset().Cases); len(c.DatasetCases()) != 3*n {
		t.Errorf("%d cases after --pad-to 1k --pad-depths 0,1, want %d", len(c.DatasetCases()), 3*n)
	}
}
