package reports

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/run"
)

// TestCSVChunkGaps checks that records.csv sums up a record's chunk_gaps
// (a list in records.jsonl) as a count and a maximum in seconds, under
// names that say so.
func TestCSVChunkGaps(t *testing.T) {
	tests := []struct {
		name      string
		gaps      []time.Duration
		wantCount string
		wantMax   string
	}{
		{"no gaps", nil, "0", ""},
		{"one gap", []time.Duration{20 * time.Millisecond}, "1", "0.02"},
		{"three gaps", []time.Duration{10 * time.Millisecond, 250 * time.Millisecond, 30 * time.Millisecond}, "3", "0.25"},
	}
	var recs []run.Record
	for i, tt := range tests {
		recs = append(recs, fx{i: i, length: 1000, depth: 50, correct: true, gaps: tt.gaps}.record())
	}
	s, err := Build(nil, recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, s); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(rows[0], "chunk_gaps") {
		t.Errorf("records.csv has a chunk_gaps column, a name records.jsonl uses for the list of gaps: %v", rows[0])
	}
	count, maxCol := slices.Index(rows[0], "chunk_gap_count"), slices.Index(rows[0], "chunk_gap_max")
	if count < 0 || maxCol < 0 || len(rows) != len(tests)+1 {
		t.Fatalf("records.csv: header %v, %d rows", rows[0], len(rows))
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := rows[i+1]
			if row[count] != tt.wantCount || row[maxCol] != tt.wantMax {
				t.Errorf("chunk_gap_count %q chunk_gap_max %q, want %q and %q", row[count], row[maxCol], tt.wantCount, tt.wantMax)
			}
		})
	}
}

// TestCSVNeutralisesServerText checks that text a server sent (a model
// name, an error message, an answer) reaches records.csv with its terminal
// controls written out, not raw: ESC sequences, C1 controls (U+009B is a
// one-character CSI) and invalid UTF-8 bytes.
func TestCSVNeutralisesServerText(t *testing.T) {
	rec := fx{length: 1000, depth: 50, model: "m\x1b]52;c;ZXZpbA==\x07", answer: "x\x1b[2J\u009b31m\xff y", correct: false}.record()
	rec.Error = "bad \x1b[31mred\u202e"
	s, err := Build(nil, []run.Record{rec}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, s); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, bad := range []string{"\x1b", "\u009b", "\x9b", "\xff", "\u202e", "\x07"} {
		if strings.Contains(out, bad) {
			t.Errorf("records.csv holds the raw control %q:\n%q", bad, out)
		}
	}
	for _, want := range []string{`m\x1b]52;c;ZXZpbA==\x07`, `x\x1b[2J\u009b31m\xff y`, `bad \x1b[31mred\u202e`} {
		if !strings.Contains(out, want) {
			t.Errorf("records.csv does not show %q written out:\n%s", want, out)
		}
	}
}

// TestCSVTaskType checks that a dataset case's task type reaches records.csv
// in the column appended after answer (later columns follow it) and a
// needle record leaves it empty.
func TestCSVTaskType(t *testing.T) {
	needle := fx{i: 0, length: 1000, depth: 50, correct: true}.record()
	ds := fx{i: 1, length: 1000, depth: 50, correct: true}.record()
	ds.TaskType = "extraction"
	s, err := Build(nil, []run.Record{needle, ds}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, s); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(rows[0], "task_type")
	if col != slices.Index(rows[0], "answer")+1 || len(rows) != 3 {
		t.Fatalf("records.csv: header %v (task_type at %d), %d rows", rows[0], col, len(rows))
	}
	got := []string{rows[1][col], rows[2][col]}
	if !slices.Contains(got, "extraction") || !slices.Contains(got, "") {
		t.Errorf("task_type column %q, want one empty and one extraction", got)
	}
}
