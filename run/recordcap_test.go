package run

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestRecordWriterCapsLines: a record longer than the writer's limit is
// written cut, marked, and read back; a short one is written as it is.
func TestRecordWriterCapsLines(t *testing.T) {
	answers := map[string]string{
		"plain":     strings.Repeat("word ", 4000),
		"escapes":   strings.Repeat("\x01\"\\<", 3000), // JSON makes these up to six times longer
		"multibyte": strings.Repeat("é€𝄞", 2000),
		"one rune":  strings.Repeat("x", 50<<10),
	}
	for name, answer := range answers {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewRecordWriter(&buf)
			w.limit = 4096
			big := testRecord(1, answer)
			big.ChunkGaps = nil
			for i := 0; i < 2000; i++ {
				big.ChunkGaps = append(big.ChunkGaps, Seconds(time.Duration(i)*time.Microsecond+1))
			}
			small := testRecord(2, "It is 1234567.")
			for _, r := range []*Record{big, small} {
				if err := w.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if len(big.Answer) != len(answer) || len(big.ChunkGaps) != 2000 {
				t.Errorf("Write changed the record it was given")
			}
			lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("%d lines, want 2", len(lines))
			}
			for i, l := range lines {
				if len(l) > 4096 {
					t.Errorf("line %d is %d bytes, over the limit of 4096", i+1, len(l))
				}
			}
			recs, err := ReadRecords(strings.NewReader(buf.String()))
			if err != nil || len(recs) != 2 {
				t.Fatalf("read back %d records: %v", len(recs), err)
			}
			got := recs[0]
			if got.Seq != 1 || !strings.HasPrefix(answer, got.Answer) || len(got.Answer) == 0 || !utf8.ValidString(got.Answer) {
				t.Errorf("cut answer: %d bytes, a valid head of the answer: %v", len(got.Answer), strings.HasPrefix(answer, got.Answer) && utf8.ValidString(got.Answer))
			}
			if len(got.ChunkGaps) == 0 || len(got.ChunkGaps) >= 2000 || got.ChunkGaps[0] != big.ChunkGaps[0] {
				t.Errorf("%d chunk gaps kept, want the first few of 2000", len(got.ChunkGaps))
			}
			var marks struct {
				AnswerTruncated    bool `json:"answer_truncated"`
				AnswerBytes        int  `json:"answer_bytes"`
				ChunkGapsTruncated bool `json:"chunk_gaps_truncated"`
			}
			if err := json.Unmarshal([]byte(lines[0]), &marks); err != nil {
				t.Fatal(err)
			}
			if !marks.AnswerTruncated || marks.AnswerBytes != len(answer) || !marks.ChunkGapsTruncated {
				t.Errorf("marks %+v, want the answer (%d bytes) and the gaps marked cut", marks, len(answer))
			}
			if strings.Contains(lines[1], "truncated") || recs[1].Answer != small.Answer {
				t.Errorf("the short record was changed: %s", lines[1])
			}
		})
	}
}

// TestCapMarkSetsZeroFields: a record type that writes the marks at their
// zero value gets them set, not doubled.
func TestCapMarkSetsZeroFields(t *testing.T) {
	r := testRecord(1, "abc")
	line := []byte(`{"answer_truncated":false,"answer_bytes":0,"x":1}` + "\n")
	got := string(capMark(line, r, true, true))
	want := `{"chunk_gaps_truncated":true,"answer_truncated":true,"answer_bytes":3,"x":1}` + "\n"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(got), &m); err != nil {
		t.Error(err)
	}
}

// TestRecordWriterHugeAnswer writes a record of a 40 MiB answer with the
// real limit: the reader (64 MiB lines) reads it back.
func TestRecordWriterHugeAnswer(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 40 MiB")
	}
	var buf bytes.Buffer
	w := NewRecordWriter(&buf)
	answer := strings.Repeat("lorem ipsum \x02", 40<<20/13)
	if err := w.Write(testRecord(1, answer)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > maxWrittenLine {
		t.Errorf("the line is %d MiB, over %d MiB", buf.Len()>>20, maxWrittenLine>>20)
	}
	recs, err := ReadRecords(bytes.NewReader(buf.Bytes()))
	if err != nil || len(recs) != 1 {
		t.Fatalf("read back %d records: %v", len(recs), err)
	}
	if a := recs[0].Answer; !strings.HasPrefix(answer, a) || len(a) < 1<<20 {
		t.Errorf("the answer read back is %d bytes, want a head of the answer of at least 1 MiB", len(a))
	}
}

// TestRecordWriterCutsOtherLongTexts: a record too long without its
// answer (here a canary, standing for any long text field) is written with
// every long string cut and marked, and reads back.
func TestRecordWriterCutsOtherLongTexts(t *testing.T) {
	var buf bytes.Buffer
	w := NewRecordWriter(&buf)
	w.limit = 16 << 10
	r := testRecord(1, strings.Repeat("a", 20<<10))
	r.CanaryHead = strings.Repeat("h\u00e9", 10<<10)
	if err := w.Write(r); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > 16<<10 {
		t.Errorf("the line is %d bytes, over the limit", buf.Len())
	}
	recs, err := ReadRecords(bytes.NewReader(buf.Bytes()))
	if err != nil || len(recs) != 1 {
		t.Fatalf("read back %d records: %v", len(recs), err)
	}
	if got := recs[0]; !strings.HasPrefix(r.CanaryHead, got.CanaryHead) || !utf8.ValidString(got.CanaryHead) || got.Seq != 1 || got.Length != r.Length {
		t.Errorf("read back seq %d length %d canary of %d bytes", got.Seq, got.Length, len(got.CanaryHead))
	}
	var marks map[string]any
	if err := json.Unmarshal(buf.Bytes(), &marks); err != nil {
		t.Fatal(err)
	}
	if marks["canary_head_truncated"] != true || marks["canary_head_bytes"] != float64(len(r.CanaryHead)) ||
		marks["answer_truncated"] != true || marks["answer_bytes"] != float64(len(r.Answer)) {
		t.Errorf("marks: canary_head %v %v, answer %v %v", marks["canary_head_truncated"], marks["canary_head_bytes"], marks["answer_truncated"], marks["answer_bytes"])
	}
}
