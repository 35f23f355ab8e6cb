package endpoint

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type testSSEEvent struct{ name, data string }

// testReadSSE reads every event of r, bounded, and returns them with the
// final error.
func testReadSSE(t testing.TB, r *sseReader, limit int) ([]testSSEEvent, error) {
	t.Helper()
	var evs []testSSEEvent
	for i := 0; i <= limit; i++ {
		ev, err := r.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, testSSEEvent{string(ev.Name), string(ev.Data)})
	}
	t.Fatalf("more than %d events from a bounded input", limit)
	return nil, nil
}

func TestSSEReader(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		events []testSSEEvent
		err    error
	}{
		{"one event", "data: a\n\n", []testSSEEvent{{"", "a"}}, io.EOF},
		{"two events", "data: a\n\ndata: b\n\n", []testSSEEvent{{"", "a"}, {"", "b"}}, io.EOF},
		{"no space", "data:a\n\n", []testSSEEvent{{"", "a"}}, io.EOF},
		{"only one space stripped", "data:  a\n\n", []testSSEEvent{{"", " a"}}, io.EOF},
		{"CRLF", "data: a\r\n\r\ndata: b\r\n\r\n", []testSSEEvent{{"", "a"}, {"", "b"}}, io.EOF},
		{"bare CR", "data: a\r\rdata: b\r\r", []testSSEEvent{{"", "a"}, {"", "b"}}, io.EOF},
		{"mixed endings", "data: a\r\n\ndata: b\r\r\n", []testSSEEvent{{"", "a"}, {"", "b"}}, io.EOF},
		{"comments", ": keep-alive\n\n: ping\ndata: a\n: mid\n\n", []testSSEEvent{{"", "a"}}, io.EOF},
		{"event name", "event: message_start\ndata: {}\n\n", []testSSEEvent{{"message_start", "{}"}}, io.EOF},
		{"event name resets", "event: x\ndata: 1\n\ndata: 2\n\n", []testSSEEvent{{"x", "1"}, {"", "2"}}, io.EOF},
		{"event without data is dropped", "event: x\n\ndata: 2\n\n", []testSSEEvent{{"", "2"}}, io.EOF},
		{"multi-line data", "data: a\ndata: b\n\n", []testSSEEvent{{"", "a\nb"}}, io.EOF},
		{"empty data", "data\n\n", []testSSEEvent{{"", ""}}, io.EOF},
		{"id and retry ignored", "id: 7\nretry: 100\ndata: a\n\n", []testSSEEvent{{"", "a"}}, io.EOF},
		{"llama.cpp error line", "error: {\"code\":400}\n\n", []testSSEEvent{{"error", `{"code":400}`}}, io.EOF},
		{"no final blank line", "data: a\n\ndata: [DONE]\n", []testSSEEvent{{"", "a"}, {"", "[DONE]"}}, io.EOF},
		{"cut mid line", "data: a\n\ndata: {\"x", []testSSEEvent{{"", "a"}}, errSSETruncated},
		{"CR at the very end ends the line", "data: a\r", []testSSEEvent{{"", "a"}}, io.EOF},
		{"byte order mark", "\xef\xbb\xbfdata: a\n\n", []testSSEEvent{{"", "a"}}, io.EOF},
		{"empty", "", nil, io.EOF},
		{"only blank lines", "\n\n\r\n\r\r", nil, io.EOF},
		{"unknown fields", "foo: bar\nhello\ndata: a\n\n", []testSSEEvent{{"", "a"}}, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			readers := map[string]io.Reader{
				"whole":    strings.NewReader(tt.in),
				"one byte": iotest.OneByteReader(strings.NewReader(tt.in)),
				"data err": iotest.DataErrReader(strings.NewReader(tt.in)),
			}
			for rname, src := range readers {
				evs, err := testReadSSE(t, newSSEReader(src), 1000)
				if !errors.Is(err, tt.err) {
					t.Errorf("%s: error %v, want %v", rname, err, tt.err)
				}
				if len(evs) != len(tt.events) {
					t.Fatalf("%s: events %q, want %q", rname, evs, tt.events)
				}
				for i := range evs {
					if evs[i] != tt.events[i] {
						t.Errorf("%s: event %d = %q, want %q", rname, i, evs[i], tt.events[i])
					}
				}
			}
		})
	}
}

func TestSSEReaderCounters(t *testing.T) {
	r := newSSEReader(strings.NewReader("<html>\nbody\n\ndata: a\n\n"))
	evs, err := testReadSSE(t, r, 10)
	if err != io.EOF || len(evs) != 1 || r.events != 1 || r.unknownLines != 2 {
		t.Errorf("events %v err %v counted %d events, %d unknown lines", evs, err, r.events, r.unknownLines)
	}
}

func TestSSEReaderLimits(t *testing.T) {
	long := "data: " + strings.Repeat("x", sseMaxLine) + "\n\n"
	if _, err := testReadSSE(t, newSSEReader(strings.NewReader(long)), 10); !errors.Is(err, errSSELineTooLong) {
		t.Errorf("a line beyond the limit: %v", err)
	}
	// Many lines under the line limit that add up beyond the event limit.
	line := "data: " + strings.Repeat("y", sseMaxLine/2) + "\n"
	big := strings.Repeat(line, 2*sseMaxEvent/len(line)+2) + "\n"
	if _, err := testReadSSE(t, newSSEReader(strings.NewReader(big)), 10); !errors.Is(err, errSSEEventTooLarge) {
		t.Errorf("an event beyond the limit: %v", err)
	}
	// A line just under the limit still works.
	ok := "data: " + strings.Repeat("z", sseMaxLine-10) + "\n\n"
	evs, err := testReadSSE(t, newSSEReader(strings.NewReader(ok)), 10)
	if err != io.EOF || len(evs) != 1 || len(evs[0].data) != sseMaxLine-10 {
		t.Errorf("a long line under the limit: %d events, %v", len(evs), err)
	}
}

// testZeroReader returns (0, nil) forever.
type testZeroReader struct{}

func (testZeroReader) Read([]byte) (int, error) { return 0, nil }

func TestSSEReaderSourceErrors(t *testing.T) {
	if _, err := testReadSSE(t, newSSEReader(testZeroReader{}), 10); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("a reader without progress: %v", err)
	}
	boom := errors.New("connection reset")
	src := io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(boom))
	evs, err := testReadSSE(t, newSSEReader(src), 10)
	if !errors.Is(err, boom) || len(evs) != 1 {
		t.Errorf("a source error: events %v err %v", evs, err)
	}
	// After an error, Next keeps returning it.
	r := newSSEReader(iotest.ErrReader(boom))
	for i := 0; i < 3; i++ {
		if _, err := r.Next(); !errors.Is(err, boom) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

func TestSSEReaderReset(t *testing.T) {
	r := newSSEReader(strings.NewReader("event: x\ndata: partial"))
	testReadSSE(t, r, 10)
	r.reset(strings.NewReader("data: fresh\n\n"))
	evs, err := testReadSSE(t, r, 10)
	if err != io.EOF || len(evs) != 1 || evs[0] != (testSSEEvent{"", "fresh"}) {
		t.Errorf("after reset: %v %v", evs, err)
	}
}

// FuzzSSEReader checks that the reader never panics, always stops, and reads
// the same events whatever the source's read sizes.
func FuzzSSEReader(f *testing.F) {
	for _, s := range []string{
		"data: a\n\n", "data:a\r\n\r\n", "event: e\ndata: 1\ndata: 2\n\n", ": c\n\n", "data: a\r\rdata: b",
		"error: {}\n\n", "\xef\xbb\xbfdata: x\n\n", "data: [DONE]\n", "\r\n\r", "data", "event",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		limit := len(in) + 2
		a, errA := testReadSSE(t, newSSEReader(bytes.NewReader(in)), limit)
		b, errB := testReadSSE(t, newSSEReader(iotest.OneByteReader(bytes.NewReader(in))), limit)
		if errA == nil || errB == nil {
			t.Fatal("the reader stopped without an error")
		}
		if !errors.Is(errA, errB) && !errors.Is(errB, errA) {
			t.Fatalf("errors differ by read size: %v vs %v", errA, errB)
		}
		if len(a) != len(b) {
			t.Fatalf("events differ by read size: %q vs %q", a, b)
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("event %d differs by read size: %q vs %q", i, a[i], b[i])
			}
			if len(a[i].data) > len(in) {
				t.Fatalf("event %d data longer than the input", i)
			}
		}
	})
}
