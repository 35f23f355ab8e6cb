package run

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func testRecord(seq int64, answer string) *Record {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600_000_007, time.UTC)
	return &Record{
		Seq: seq, Target: "t", Stage: 1, StageLabel: "rate=2/s", CaseID: "single-1000-d50-s0", Task: "single",
		Length: 1000, Depth: 50, ActualDepth: 48.5, Expected: []string{"1234567"},
		ScheduledAt: at, SentAt: at.Add(time.Millisecond), SendLag: Seconds(time.Millisecond),
		TTFT: Seconds(250 * time.Millisecond), E2E: Seconds(time.Second), ChunkGaps: []Seconds{Seconds(10 * time.Millisecond)},
		PromptTokensClient: 1000, OutputTokens: 12, Status: 200, FinishReason: "stop", Answer: answer,
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewRecordWriter(&buf)
	long := strings.Repeat("x", 200<<10) // longer than the reader's buffer
	for i, a := range []string{"It is 1234567.", long, "line\nbreak and \"quotes\" <script>"} {
		if err := w.Write(testRecord(int64(i+1), a)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Count() != 3 {
		t.Errorf("count %d, want 3", w.Count())
	}
	got, err := ReadRecords(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].Answer != long || got[2].Answer != "line\nbreak and \"quotes\" <script>" {
		t.Fatalf("read back %d records, answer lengths %v", len(got), func() []int {
			var n []int
			for _, r := range got {
				n = append(n, len(r.Answer))
			}
			return n
		}())
	}
	want := testRecord(1, "It is 1234567.")
	want.Schema = RecordSchema
	if g := got[0]; !g.ScheduledAt.Equal(want.ScheduledAt) || g.TTFT != want.TTFT || g.ChunkGaps[0] != want.ChunkGaps[0] || g.Schema != RecordSchema {
		t.Errorf("record 1 = %+v, want %+v", g, want)
	}
}

func TestRecordsReadErrors(t *testing.T) {
	good := `{"schema":"needlestorm.record/v1","seq":1,"answer":"a"}`
	tests := []struct {
		name    string
		in      string
		records int
		torn    bool
		msg     string
	}{
		{"blank lines and CRLF", good + "\r\n\n  \n" + good + "\n", 2, false, ""},
		{"no newline at the end", good + "\n" + good, 2, false, ""},
		{"torn last line", good + "\n" + good + "\n" + `{"schema":"needlestorm.record/v1","seq":3,"ans`, 2, true, "records line 3"},
		{"malformed middle line", good + "\n{oops}\n" + good + "\n", 1, false, "records line 2"},
		{"malformed last line with newline", good + "\n{oops}\n", 1, false, "records line 2"},
		{"wrong schema", `{"schema":"other/v9"}` + "\n", 0, false, `schema "other/v9"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := ReadRecords(strings.NewReader(tt.in))
			if len(recs) != tt.records {
				t.Errorf("%d records, want %d", len(recs), tt.records)
			}
			if errors.Is(err, ErrTornTail) != tt.torn {
				t.Errorf("error %v: torn = %v, want %v", err, errors.Is(err, ErrTornTail), tt.torn)
			}
			if tt.msg == "" && err != nil {
				t.Errorf("unexpected error %v", err)
			}
			if tt.msg != "" && (err == nil || !strings.Contains(err.Error(), tt.msg)) {
				t.Errorf("error %v, want one containing %q", err, tt.msg)
			}
		})
	}
}

// TestRecordWriterFlushes checks that records reach the underlying writer
// within the flush interval, without Flush or Close: an interrupted run keeps
// what completed.
func TestRecordWriterFlushes(t *testing.T) {
	pr, pw := io.Pipe()
	w := NewRecordWriter(pw)
	defer w.Close()
	lines := make(chan Record, 1)
	go func() {
		rr := NewRecordReader(pr)
		if r, err := rr.Read(); err == nil {
			lines <- r
		}
	}()
	if err := w.Write(testRecord(7, "x")); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-lines:
		if r.Seq != 7 {
			t.Errorf("seq %d, want 7", r.Seq)
		}
	case <-time.After(5 * FlushInterval):
		t.Fatalf("record not flushed within %s", 5*FlushInterval)
	}
	pr.Close()
}

func FuzzRecordReader(f *testing.F) {
	f.Add([]byte(`{"schema":"needlestorm.record/v1","seq":1}` + "\n"))
	f.Add([]byte("\n\n{\"schema\":\"needlestorm.record/v1\",\"ttft\":0.25,\"chunk_gaps\":[0.1]}"))
	f.Add([]byte(`{"schema":"needlestorm.record/v1","send_lag":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rr := NewRecordReader(bytes.NewReader(b))
		for i := 0; i <= bytes.Count(b, []byte("\n"))+1; i++ {
			if _, err := rr.Read(); err != nil {
				return
			}
		}
		t.Fatalf("reader did not stop on %q", b)
	})
}

// BenchmarkRecordWrite writes records as a run of streamed answers fills
// them (16 chunk gaps, a verdict), from 8 goroutines at once, as the
// dispatcher's requests do:
//
//	go test ./run -run '^$' -bench RecordWrite -benchmem
func BenchmarkRecordWrite(b *testing.B) {
	w := NewRecordWriter(io.Discard)
	defer w.Close()
	rec := testRecord(1, "The magic number is 1234567.")
	for i := range 15 {
		rec.ChunkGaps = append(rec.ChunkGaps, Seconds(time.Duration(i)*time.Millisecond+123_456))
	}
	rec.TTFB, rec.E2ESched, rec.TPOT = Seconds(3*time.Millisecond), Seconds(1001*time.Millisecond), Seconds(12*time.Millisecond)
	rec.ServerRequestID, rec.ResponseID = "req-sim0000000000000001", "chatcmpl-sim0000000000000001"
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		r := *rec
		for pb.Next() {
			if err := w.Write(&r); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestSecondsMarshalLikeFloat: Seconds are written exactly as
// encoding/json writes the float64 of their seconds, across magnitudes.
func TestSecondsMarshalLikeFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	values := []Seconds{0, 1, -1, 999, 1000, 1001, Seconds(time.Second), Seconds(math.MaxInt64), Seconds(math.MinInt64)}
	for range 100000 {
		values = append(values, Seconds(r.Int64N(1<<uint(r.IntN(63)))-r.Int64N(1<<uint(r.IntN(20)))))
	}
	for _, s := range values {
		got, err := s.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(time.Duration(s).Seconds())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("Seconds(%d): %s, encoding/json %s", int64(s), got, want)
		}
	}
}

// TestRecordWriterConcurrent: records written from many goroutines at once
// (each encoded by its writer, outside the lock) come out as whole lines,
// every one of them.
func TestRecordWriterConcurrent(t *testing.T) {
	var buf bytes.Buffer
	w := NewRecordWriter(&buf)
	const goroutines, each = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				answer := strings.Repeat("It is 1234567. ", i%50)
				if err := w.Write(testRecord(int64(g*each+i+1), answer)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRecords(&buf)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for _, r := range got {
		seen[r.Seq] = true
	}
	if len(got) != goroutines*each || len(seen) != goroutines*each {
		t.Fatalf("%d records read, %d distinct, want %d", len(got), len(seen), goroutines*each)
	}
}

// BenchmarkReadRecords reads records as a run writes them (16 chunk
// gaps each), as reports do after a run:
//
//	go test ./run -run '^$' -bench ReadRecords -benchmem
func BenchmarkReadRecords(b *testing.B) {
	var buf bytes.Buffer
	w := NewRecordWriter(&buf)
	rec := testRecord(1, "The magic number is 1234567.")
	for i := range 15 {
		rec.ChunkGaps = append(rec.ChunkGaps, Seconds(time.Duration(i)*time.Millisecond+123_456))
	}
	const n = 1000
	for i := range n {
		rec.Seq = int64(i + 1)
		if err := w.Write(rec); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		recs, err := ReadRecords(bytes.NewReader(data))
		if err != nil || len(recs) != n {
			b.Fatalf("%d records: %v", len(recs), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}

// TestSecondsUnmarshalLikeFloat: Seconds read numbers exactly as
// encoding/json reads a float64, and refuse what it refuses.
func TestSecondsUnmarshalLikeFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	inputs := []string{"0", "-0", "1", "1.5", "1e-7", "1E+3", "0.000001", "123456789.123456789", "1e400", "null",
		`"1"`, "01", "1.", ".5", "-", "1e", "+1", "0x10", "true", "[]", "1_0", "NaN"}
	for range 20000 {
		inputs = append(inputs, strconv.FormatFloat(r.NormFloat64()*math.Pow(10, float64(r.IntN(30)-15)), 'g', -1, 64))
	}
	for _, in := range inputs {
		var got Seconds
		gotErr := json.Unmarshal([]byte(in), &got)
		var f float64
		wantErr := json.Unmarshal([]byte(in), &f)
		if (gotErr != nil) != (wantErr != nil) {
			t.Fatalf("%s: error %v, encoding/json into a float64 %v", in, gotErr, wantErr)
		}
		if wantErr == nil && got != Seconds(math.Round(f*float64(time.Second))) {
			t.Fatalf("%s: %d, want %v s", in, int64(got), f)
		}
	}
}
