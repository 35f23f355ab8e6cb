package live

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/mattn/go-runewidth"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/run"
)

// fakeClock is a settable clock for Tracker tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestTrackerSnapshot(t *testing.T) {
	clk := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	sched := loadgen.Schedule{
		{Kind: loadgen.StageConstant, Rate: 10, Duration: run.Seconds(2 * time.Second), Warmup: true},
		{Kind: loadgen.StageConstant, Rate: 10, Duration: run.Seconds(10 * time.Second)},
		{Kind: loadgen.StageConstant, Rate: 20, Duration: run.Seconds(10 * time.Second)},
	}
	tr := newTracker("sim", sched, clk.now)
	tr.StageStarted(0, sched[0])
	for range 4 {
		tr.Sent(&run.Record{})
		tr.Completed(&run.Record{Warmup: true, TTFT: run.Seconds(time.Second)})
	}
	clk.add(2 * time.Second)
	tr.StageStarted(1, sched[1])
	for i := range 10 {
		tr.Sent(&run.Record{})
		r := &run.Record{TTFT: run.Seconds(time.Duration(i+1) * 10 * time.Millisecond)}
		r.Correct = i < 8
		if i == 9 {
			r.ErrorClass = run.ErrTimeout
		}
		if i < 9 {
			tr.Completed(r)
		}
	}
	clk.add(4 * time.Second)
	s := tr.Snapshot()
	want := Snapshot{Target: "sim", Stage: 1, Stages: 3, StageLabel: "rate=10/s", Sent: 14, Completed: 13, Errors: 0,
		Rate: 2.25, Correct: 8, Scored: 9, Elapsed: 6 * time.Second, Remaining: 16 * time.Second, RemainingKnown: true}
	// Quantiles come from a sampling histogram: check them separately.
	p50, p95 := s.TTFTP50, s.TTFTP95
	s.TTFTP50, s.TTFTP95 = 0, 0
	if s != want {
		t.Errorf("snapshot\n got %+v\nwant %+v", s, want)
	}
	if p50 < 50*time.Millisecond || p50 > 100*time.Millisecond || p95 < 90*time.Millisecond || p95 > time.Second {
		t.Errorf("ttft p50 %s p95 %s, want about 90ms and 1s", p50, p95)
	}
	if s.InFlight() != 1 {
		t.Errorf("in flight = %d", s.InFlight())
	}
	if acc, ok := s.Accuracy(); !ok || acc != 8.0/9 {
		t.Errorf("accuracy = %v, %v", acc, ok)
	}
}

func TestRenderScreen(t *testing.T) {
	s := Snapshot{Target: "sim", Stage: 1, Stages: 4, StageLabel: "rate=4/s", Sent: 120, Completed: 118, Errors: 2,
		Rate: 3.96, TTFTP50: 120 * time.Millisecond, TTFTP95: 1500 * time.Millisecond, Correct: 117, Scored: 118,
		Elapsed: 95 * time.Second, Remaining: 28 * time.Second, RemainingKnown: true}
	var b bytes.Buffer
	n := RenderScreen(&b, s, 0, 0)
	first := b.String()
	if n != 4 || strings.Count(first, "\n") != 4 {
		t.Fatalf("drew %d lines:\n%s", n, first)
	}
	if strings.Contains(first, "\x1b[4A") {
		t.Error("the first screen moved the cursor up")
	}
	for _, want := range []string{"sim", "stage 2/4 rate=4/s", "sent 120", "completed 118", "in flight 2", "errors 2",
		"rate 4.0/s", "ttft p50 120ms", "p95 1.50s", "accuracy 99.2% (117/118)", "elapsed 1:35", "remaining ~0:28"} {
		if !strings.Contains(first, want) {
			t.Errorf("screen lacks %q:\n%s", want, first)
		}
	}
	b.Reset()
	RenderScreen(&b, s, n, 0)
	again := b.String()
	if !strings.HasPrefix(again, "\x1b[4A") || strings.Count(again, "\r\x1b[2K") != 4 {
		t.Errorf("the redraw does not move up 4 lines and clear each: %q", again)
	}
}

func TestRenderLine(t *testing.T) {
	tests := []struct {
		name string
		s    Snapshot
		want []string
	}{
		{"running", Snapshot{Stage: 0, Stages: 2, StageLabel: "concurrency=8", Sent: 10, Completed: 9, Errors: 1, Rate: 12.34,
			TTFTP50: 800 * time.Microsecond, TTFTP95: 2 * time.Millisecond, Correct: 9, Scored: 9, Elapsed: time.Hour + 2*time.Second},
			[]string{"[1:00:02] stage 1/2 concurrency=8:", "sent 10", "completed 9", "errors 1", "rate 12.3/s", "ttft p50 800µs p95 2ms", "accuracy 100.0% (9/9)", "remaining unknown"}},
		{"nothing yet", Snapshot{Stages: 1, StageLabel: "rate=1/s", RemainingKnown: true, Remaining: 10 * time.Second},
			[]string{"ttft p50 - p95 -", "accuracy -", "remaining ~0:10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			RenderLine(&b, tt.s)
			out := b.String()
			if strings.Count(out, "\n") != 1 || strings.Contains(out, "\x1b") {
				t.Errorf("not one plain line: %q", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("line lacks %q: %s", w, out)
				}
			}
		})
	}
}

// TestProgressPlainLines: on a writer that is not a terminal, progress is
// one plain line per interval and a final one. What is checked is counted
// against the clock from both sides, so a loaded machine (which drops
// ticks) cannot fail it: the display is stopped once it has drawn 3 lines,
// and by then it drew no more than one line per interval elapsed, plus the
// final line.
func TestProgressPlainLines(t *testing.T) {
	var b syncBuffer
	tr := NewTracker("sim", loadgen.Schedule{{Kind: loadgen.StageConstant, Rate: 1, Duration: run.Seconds(time.Second)}})
	const interval = 20 * time.Millisecond
	p := NewProgress(&b, tr, interval)
	if p.Terminal() {
		t.Fatal("a buffer is not a terminal")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	start := time.Now()
	go func() { defer close(done); p.Run(ctx) }()
	for deadline := time.Now().Add(10 * time.Second); strings.Count(b.String(), "\n") < 3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d lines in 10 s at one per %s", strings.Count(b.String(), "\n"), interval)
		}
	}
	cancel()
	<-done
	elapsed := time.Since(start)
	out := b.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if most := int(elapsed/interval) + 1; len(lines) < 4 || len(lines) > most {
		t.Errorf("%d lines in %s at one per %s, want at least 3 and the final one, at most %d:\n%s", len(lines), elapsed, interval, most, out)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "[0:0") || !strings.Contains(l, "] stage 1/1 rate=1/s: sent 0, completed 0,") || strings.Contains(l, "\x1b") {
			t.Errorf("not a plain progress line: %q", l)
		}
	}
	// A regular file is not a terminal either.
	f, err := os.CreateTemp(t.TempDir(), "progress")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if NewProgress(f, tr, 0).Terminal() {
		t.Error("a file is a terminal")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestTrackerUnscheduledStage checks that a stage the tracker's schedule does
// not hold (an envelope search step) shows its own label, with the time
// remaining unknown rather than taken from an unrelated scheduled stage.
func TestTrackerUnscheduledStage(t *testing.T) {
	clk := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	sched := loadgen.Schedule{{Kind: loadgen.StageConstant, Rate: 1, Duration: run.Seconds(time.Minute)}}
	tr := newTracker("sim", sched, clk.now)
	step := loadgen.Stage{Kind: loadgen.StageConstant, Rate: 12.5, Requests: 40, Label: "search len=4k rate=12.5/s"}
	tr.StageStarted(0, step)
	s := tr.Snapshot()
	if s.StageLabel != step.Label {
		t.Errorf("label %q, want %q", s.StageLabel, step.Label)
	}
	if s.RemainingKnown {
		t.Errorf("remaining known (%s) for a stage outside the schedule", s.Remaining)
	}
	tr.StageStarted(0, sched[0])
	if s := tr.Snapshot(); s.StageLabel != sched[0].Name() || !s.RemainingKnown {
		t.Errorf("scheduled stage: label %q, remaining known %v", s.StageLabel, s.RemainingKnown)
	}
}

// TestProgressSearchStageAndFinishing: a stage outside the schedule (an
// envelope search's step) is numbered without a total, never "stage 10/0";
// once the schedule's time is up while requests are still in flight, the
// progress says they are finishing, not "remaining ~0:00".
func TestProgressSearchStageAndFinishing(t *testing.T) {
	var b strings.Builder
	RenderLine(&b, Snapshot{Target: "t", Stage: 9, Stages: 0, StageLabel: "search len=4k rate=8/s", RemainingKnown: false})
	if strings.Contains(b.String(), "10/0") || !strings.Contains(b.String(), "stage 10 search") {
		t.Errorf("search step line %q, want stage 10 without a total", b.String())
	}
	b.Reset()
	RenderLine(&b, Snapshot{Target: "t", Stage: 0, Stages: 1, Sent: 10, Completed: 7, RemainingKnown: true, Remaining: 0})
	if strings.Contains(b.String(), "~0:00") || !strings.Contains(b.String(), "finishing 3 in flight") {
		t.Errorf("finishing line %q, want the 3 in flight named", b.String())
	}
}

// TestProgressFitsWidth: in a 50-column terminal every line of the live
// screen is at most 50 columns wide, in display width (a wide target name
// counts two columns a character), so that none wraps; every frame has the
// same number of lines and moves the cursor up over exactly the previous
// frame's, with its escape sequences whole.
func TestProgressFitsWidth(t *testing.T) {
	const width = 50
	frames := []Snapshot{
		{Target: "sim", Stage: 0, Stages: 4, StageLabel: "rate=4/s", Elapsed: time.Second, RemainingKnown: true, Remaining: time.Minute},
		{Target: "a-rather-long-target-name-for-a-50-column-pane", Stage: 1, Stages: 4, StageLabel: "concurrency=128",
			Sent: 123456789, Completed: 123456000, Errors: 98765, Rate: 12345.6, TTFTP50: 1234 * time.Millisecond,
			TTFTP95: 98 * time.Second, Correct: 123455000, Scored: 123456000, Elapsed: 25 * time.Hour},
		{Target: "模型目标名称很长很长很长很长很长很长很长很长", Stage: 12, StageLabel: "search rate=37.5/s",
			Sent: 9, Completed: 3, RemainingKnown: true},
		{Target: "evil\x1b[2J\x1b]52;c;aGk=\x07name", Stage: 0, Stages: 1, StageLabel: "rate=1/s"},
	}
	var b bytes.Buffer
	prev := 0
	for i, s := range frames {
		b.Reset()
		n := RenderScreen(&b, s, prev, width)
		out := b.String()
		if n != 4 || strings.Count(out, "\n") != n {
			t.Fatalf("frame %d: drew %d lines, %d line feeds, want 4:\n%q", i, n, strings.Count(out, "\n"), out)
		}
		if prev > 0 {
			up := fmt.Sprintf("\x1b[%dA", prev)
			if !strings.HasPrefix(out, up) {
				t.Errorf("frame %d does not begin by moving up %d lines: %q", i, prev, out)
			}
			out = strings.TrimPrefix(out, up)
		}
		for j, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			text, ok := strings.CutPrefix(l, "\r\x1b[2K")
			if !ok {
				t.Errorf("frame %d line %d does not begin by clearing the line: %q", i, j, l)
			}
			if strings.ContainsAny(text, "\x1b\r\a") {
				t.Errorf("frame %d line %d holds a control character of its own: %q", i, j, text)
			}
			if w := runewidth.StringWidth(text); w > width {
				t.Errorf("frame %d line %d is %d columns wide, more than %d: %q", i, j, w, width, text)
			}
		}
		prev = n
	}
	// The long target name was cut, and says so.
	b.Reset()
	RenderScreen(&b, frames[1], 0, width)
	first, _, _ := strings.Cut(b.String(), "\n")
	if !strings.HasSuffix(first, "…") || !strings.HasPrefix(first, "\r\x1b[2Kneedlestorm → a-rather-long") {
		t.Errorf("the cut header does not end in …: %q", first)
	}
	// Without a width nothing is cut.
	b.Reset()
	RenderScreen(&b, frames[1], 0, 0)
	if first, _, _ := strings.Cut(b.String(), "\n"); !strings.Contains(first, frames[1].Target+"   stage 2/4 concurrency=128") {
		t.Errorf("the header was cut without a width: %q", first)
	}
}

// TestProgressWidthOption: the Width option fixes the width a Progress
// cuts its screen to, whatever the terminal says.
func TestProgressWidthOption(t *testing.T) {
	tr := NewTracker("sim", loadgen.Schedule{{Kind: loadgen.StageConstant, Rate: 1, Duration: run.Seconds(time.Second)}})
	for _, tt := range []struct{ opt, want int }{{50, 50}, {0, 0}, {-3, 0}} {
		p := NewProgress(io.Discard, tr, 0, Width(tt.opt))
		if got := p.columns(); got != tt.want {
			t.Errorf("Width(%d): columns %d, want %d", tt.opt, got, tt.want)
		}
	}
	// Not a terminal and no option: not cut.
	if got := NewProgress(io.Discard, tr, 0).columns(); got != 0 {
		t.Errorf("a writer that is no terminal has %d columns", got)
	}
}

// TestProgressTerminalWidth draws on a real terminal (a pseudo-terminal of
// 50 columns): the display knows it is one, reads its width, and no line it
// draws is wider.
func TestProgressTerminalWidth(t *testing.T) {
	ptm, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal to draw on: %v", err)
	}
	defer ptm.Close()
	defer tty.Close()
	if err := pty.Setsize(tty, &pty.Winsize{Cols: 50, Rows: 24}); err != nil {
		t.Fatal(err)
	}
	var got syncBuffer
	go io.Copy(&got, ptm) // ends when ptm is closed

	tr := NewTracker("a-target-name-long-enough-to-wrap-a-50-column-pane", loadgen.Schedule{{Kind: loadgen.StageConstant, Rate: 1, Duration: run.Seconds(time.Second)}})
	p := NewProgress(tty, tr, 0)
	if !p.Terminal() || p.columns() != 50 {
		t.Fatalf("on a 50-column terminal: terminal %v, %d columns", p.Terminal(), p.columns())
	}
	const frames = 3
	for range frames {
		p.Draw()
	}
	for deadline := time.Now().Add(10 * time.Second); strings.Count(got.String(), "\x1b[2K") < 4*frames; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal received %q in 10 s, want %d frames", got.String(), frames)
		}
	}
	out := got.String()
	if n := strings.Count(out, "\x1b[4A"); n != frames-1 {
		t.Errorf("the cursor moved up 4 lines %d times, want %d: %q", n, frames-1, out)
	}
	for _, l := range strings.Split(out, "\n") {
		l = strings.NewReplacer("\r", "", "\x1b[2K", "", "\x1b[4A", "").Replace(l)
		if w := runewidth.StringWidth(l); w > 50 {
			t.Errorf("a line %d columns wide on a 50-column terminal: %q", w, l)
		}
	}
}

// TestTrackerLeavesOpenCasesUnscored: an open-ended dataset case (no
// expected answer) is neither right nor wrong, so the live accuracy is
// over the scored cases only.
func TestTrackerLeavesOpenCasesUnscored(t *testing.T) {
	clk := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	sched := loadgen.Schedule{{Kind: loadgen.StageConstant, Rate: 10, Duration: run.Seconds(10 * time.Second)}}
	tr := newTracker("sim", sched, clk.now)
	tr.StageStarted(0, sched[0])
	scored := &run.Record{Task: corpus.TaskDataset, TaskType: "code", Matchers: []corpus.Matcher{{Regex: new(string)}}}
	scored.Correct = true
	open := &run.Record{Task: corpus.TaskDataset, TaskType: "summarization"}
	for _, r := range []*run.Record{scored, open, open} {
		tr.Sent(r)
		tr.Completed(r)
	}
	s := tr.Snapshot()
	if s.Completed != 3 || s.Scored != 1 || s.Correct != 1 {
		t.Fatalf("completed %d, scored %d, correct %d: want 3, 1, 1 (open cases unscored)", s.Completed, s.Scored, s.Correct)
	}
}
