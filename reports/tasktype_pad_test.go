package reports

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/run"
)

// padRecords: 20 requests as written (all right), then at 8k and 32k
// three depths of 10 requests each, with the given right answers per depth.
func padRecords() []run.Record {
	var recs []run.Record
	for i := range 20 {
		recs = append(recs, dsRecord("a", fmt.Sprintf("c%02d", i), "extraction", true, false))
	}
	right := map[int][]int{8000: {9, 8, 10}, 32000: {3, 2, 5}}
	for _, pad := range []int{8000, 32000} {
		for di, depth := range []float64{0, 50, 100} {
			for i := range 10 {
				r := dsRecord("a", fmt.Sprintf("c%02d@%dk-d%g", i, pad/1000, depth), "extraction", i < right[pad][di], false)
				r.PadTo, r.Length, r.Depth, r.ActualDepth = pad, pad, depth, depth
				recs = append(recs, r)
			}
		}
	}
	return recs
}

func TestTaskTypePads(t *testing.T) {
	s, err := Build(nil, padRecords(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.TaskTypes) != 1 {
		t.Fatalf("task types %+v", s.TaskTypes)
	}
	tt := s.TaskTypes[0]
	type row struct {
		pad      int
		depth    float64
		all      bool
		n, right int
	}
	want := []row{
		{0, 0, false, 20, 20},
		{8000, 0, false, 10, 9}, {8000, 50, false, 10, 8}, {8000, 100, false, 10, 10}, {8000, 0, true, 30, 27},
		{32000, 0, false, 10, 3}, {32000, 50, false, 10, 2}, {32000, 100, false, 10, 5}, {32000, 0, true, 30, 10},
	}
	if len(tt.Pads) != len(want) {
		t.Fatalf("%d pad rows, want %d: %+v", len(tt.Pads), len(want), tt.Pads)
	}
	for i, w := range want {
		p := tt.Pads[i]
		lo, hi := Wilson(w.right, w.n)
		if p.PadTo != w.pad || p.Depth != w.depth || p.AllDepths != w.all || p.Requests != w.n || p.Correct != w.right || p.AccuracyCI != [2]float64{lo, hi} {
			t.Errorf("row %d = %+v, want %+v with interval %v..%v", i, p, w, lo, hi)
		}
	}
	// 90% at 8k holds the 85% threshold, 33% at 32k does not.
	if tt.HoldsTo != 8000 {
		t.Errorf("holds to %d, want 8000", tt.HoldsTo)
	}
	// The padded records are no needle envelope either.
	if len(s.Points) != 0 || s.Envelope.Targets[0].LimitedBy != NoNeedleEnvelope {
		t.Errorf("padded dataset records made needle points: %+v", s.Points)
	}
	var md, html strings.Builder
	if err := WriteMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&html, s); err != nil {
		t.Fatal(err)
	}
	lo, hi := Wilson(27, 30)
	for _, w := range []string{
		"### Task types by padded length",
		"| a | extraction | as written | - | 20 | 100% (",
		fmt.Sprintf("| a | extraction | 8k | all | 30 | 90%% (%s–%s) | 0 |", formatShare(lo), formatShare(hi)),
		"| a | extraction | 32k | 50% | 10 | 20% (",
		"- a, extraction: holds up to 8k tokens",
	} {
		if !strings.Contains(md.String(), w) {
			t.Errorf("summary.md lacks %q:\n%s", w, md.String())
		}
	}
	for _, w := range []string{`id="task-type-pad-table"`, "holds up to 8k tokens", "<td>32k</td><td>all</td><td>30</td>"} {
		if !strings.Contains(html.String(), w) {
			t.Errorf("report.html lacks %q", w)
		}
	}
	var js strings.Builder
	if err := WriteJSON(&js, s); err != nil {
		t.Fatal(err)
	}
	var back struct {
		TaskTypes []struct {
			HoldsTo int           `json:"holds_to"`
			Pads    []TaskTypePad `json:"pads"`
		} `json:"task_types"`
	}
	if err := json.Unmarshal([]byte(js.String()), &back); err != nil || len(back.TaskTypes) != 1 || back.TaskTypes[0].HoldsTo != 8000 || len(back.TaskTypes[0].Pads) != len(want) {
		t.Errorf("summary.json task types %+v (%v)", back.TaskTypes, err)
	}
	// Without padded records there is no pad table.
	plain, err := Build(nil, padRecords()[:20], Options{})
	if err != nil {
		t.Fatal(err)
	}
	md.Reset()
	if err := WriteMarkdown(&md, plain); err != nil {
		t.Fatal(err)
	}
	if plain.TaskTypes[0].Pads != nil || strings.Contains(md.String(), "padded length") {
		t.Errorf("an unpadded run has pad rows %+v", plain.TaskTypes[0].Pads)
	}
}
