package live

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-runewidth"
	"github.com/valyala/histogram"
	"golang.org/x/term"

	"github.com/needlestorm/needlestorm/internal/termsafe"
	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/run"
)

// Snapshot is the state of a run at one moment, as the progress display
// shows it.
type Snapshot struct {
	Target string
	// Stage is the current stage's index, Stages the number of stages.
	Stage      int
	Stages     int
	StageLabel string
	Warmup     bool
	// Sent and Completed count requests over the whole run; Errors counts
	// completed requests with an error class.
	Sent      int64
	Completed int64
	Errors    int64
	// Rate is the achieved send rate of the current stage, requests/s:
	// (sent in the stage - 1) / time since the stage started.
	Rate float64
	// TTFTP50 and TTFTP95 are over the requests completed so far (zero
	// until one has a ttft).
	TTFTP50 time.Duration
	TTFTP95 time.Duration
	// Correct and Scored count strict-match verdicts outside warm-up.
	Correct int64
	Scored  int64
	Elapsed time.Duration
	// Remaining is the expected time left; RemainingKnown is false when a
	// stage bounded only by a request count makes it unknowable.
	Remaining      time.Duration
	RemainingKnown bool
}

// InFlight is Sent - Completed.
func (s Snapshot) InFlight() int64 { return s.Sent - s.Completed }

// Accuracy is Correct/Scored; ok is false before anything was scored.
func (s Snapshot) Accuracy() (acc float64, ok bool) {
	if s.Scored == 0 {
		return 0, false
	}
	return float64(s.Correct) / float64(s.Scored), true
}

// Tracker is an Observer that keeps the counters the progress display
// shows. It is safe for concurrent use.
type Tracker struct {
	target string
	sched  loadgen.Schedule
	now    func() time.Time

	mu         sync.Mutex
	start      time.Time
	stage      int
	cur        loadgen.Stage // the stage running now, as StageStarted gave it
	stageStart time.Time
	stageSent  int64
	sent       int64
	completed  int64
	errors     int64
	correct    int64
	scored     int64
	ttft       *histogram.Fast
}

var _ loadgen.Observer = (*Tracker)(nil)

// NewTracker returns a Tracker for a run of sched against the named target;
// its clock starts now.
func NewTracker(target string, sched loadgen.Schedule) *Tracker {
	return newTracker(target, sched, time.Now)
}

func newTracker(target string, sched loadgen.Schedule, now func() time.Time) *Tracker {
	t := now()
	return &Tracker{target: target, sched: sched, now: now, start: t, stageStart: t, ttft: histogram.NewFast()}
}

// StageStarted implements Observer.
func (t *Tracker) StageStarted(index int, st loadgen.Stage) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stage, t.cur = index, st
	t.stageStart = t.now()
	t.stageSent = 0
}

// Sent implements Observer.
func (t *Tracker) Sent(*run.Record) {
	t.mu.Lock()
	t.sent++
	t.stageSent++
	t.mu.Unlock()
}

// Completed implements Observer.
func (t *Tracker) Completed(rec *run.Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.completed++
	if rec.ErrorClass != "" {
		t.errors++
	}
	if rec.TTFT > 0 {
		t.ttft.Update(rec.TTFT.Duration().Seconds())
	}
	if !rec.Warmup && !rec.Open() { // an open-ended case has no right answer
		t.scored++
		if rec.Correct {
			t.correct++
		}
	}
}

// Snapshot returns the state now.
func (t *Tracker) Snapshot() Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	s := Snapshot{
		Target:    t.target,
		Stage:     t.stage,
		Stages:    len(t.sched),
		Sent:      t.sent,
		Completed: t.completed,
		Errors:    t.errors,
		Correct:   t.correct,
		Scored:    t.scored,
		Elapsed:   now.Sub(t.start),
	}
	// Stages not in the schedule (envelope search steps) show their own
	// label; the time remaining is then unknown.
	inSched := t.stage < len(t.sched) && t.sched[t.stage].Name() == t.cur.Name()
	if t.cur.Kind == "" && t.stage < len(t.sched) {
		t.cur, inSched = t.sched[t.stage], true
	}
	s.StageLabel, s.Warmup = t.cur.Name(), t.cur.Warmup
	inStage := now.Sub(t.stageStart)
	if inStage > 0 && t.stageSent > 1 {
		// A stage sends its first request at its start: n requests span
		// n-1 intervals.
		s.Rate = float64(t.stageSent-1) / inStage.Seconds()
	}
	if t.completed > 0 {
		if p50 := t.ttft.Quantile(0.5); p50 > 0 && !math.IsNaN(p50) {
			s.TTFTP50 = time.Duration(p50 * float64(time.Second))
			s.TTFTP95 = time.Duration(t.ttft.Quantile(0.95) * float64(time.Second))
		}
	}
	s.RemainingKnown = inSched
	if inSched {
		d, ok := t.sched[t.stage].ExpectedDuration()
		rest, okRest := t.sched[t.stage+1:].ExpectedDuration()
		s.RemainingKnown = ok && okRest
		s.Remaining = max(d-inStage, 0) + rest
	}
	return s
}

// Progress draws a Tracker's snapshots: on a terminal one screen updated in
// place, its lines cut to the terminal's width, otherwise a plain line
// every interval.
type Progress struct {
	w        io.Writer
	tracker  *Tracker
	tty      bool
	fd       int
	width    int // fixed by the Width option; 0: the terminal's
	interval time.Duration
	lines    int
}

// ProgressOption changes how a Progress draws.
type ProgressOption func(*Progress)

// Width fixes the width in columns the live screen's lines are cut to,
// instead of the terminal's as term.GetSize reads it at every redraw
// (0 or less: do not cut).
func Width(columns int) ProgressOption {
	return func(p *Progress) { p.width = max(columns, -1) }
}

// DefaultProgressInterval is how often progress is written when the output is
// not a terminal.
const DefaultProgressInterval = 5 * time.Second

// ttyRefresh is how often the terminal screen is redrawn.
const ttyRefresh = 250 * time.Millisecond

// NewProgress returns a Progress drawing to w. It draws the live screen when
// w is a terminal (an *os.File on a tty), plain lines every interval (0 means
// DefaultProgressInterval) otherwise.
func NewProgress(w io.Writer, t *Tracker, interval time.Duration, opts ...ProgressOption) *Progress {
	if interval <= 0 {
		interval = DefaultProgressInterval
	}
	p := &Progress{w: w, tracker: t, interval: interval}
	if f, ok := w.(interface{ Fd() uintptr }); ok && term.IsTerminal(int(f.Fd())) {
		p.tty, p.fd = true, int(f.Fd())
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// columns is the width the live screen's lines are cut to: the Width
// option's, else the terminal's now (it may have been resized), else 0
// (not cut).
func (p *Progress) columns() int {
	if p.width != 0 {
		return max(p.width, 0)
	}
	if w, _, err := term.GetSize(p.fd); err == nil && w > 0 {
		return w
	}
	return 0
}

// Terminal reports whether p draws the live screen.
func (p *Progress) Terminal() bool { return p.tty }

// Run draws until ctx ends, then draws the final state once more.
func (p *Progress) Run(ctx context.Context) {
	every := p.interval
	if p.tty {
		every = ttyRefresh
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			p.Draw()
			return
		case <-tick.C:
			p.Draw()
		}
	}
}

// Draw draws the current snapshot once.
func (p *Progress) Draw() {
	s := p.tracker.Snapshot()
	if p.tty {
		p.lines = RenderScreen(p.w, s, p.lines, p.columns())
		return
	}
	RenderLine(p.w, s)
}

// RenderScreen draws s as a block of lines, first moving the cursor up over
// the prevLines lines of the previous block and clearing each line it
// rewrites, so the screen updates in place. It returns the number of lines
// drawn.
//
// Each line's text is cut to width columns (0 or less: not cut), counted
// in display width (a CJK character takes two, a combining mark none), and
// ends in "…" when cut: a line wider than the terminal would wrap onto the
// next, and the cursor moving up prevLines would then land inside the
// previous block, which would repeat down the screen. Only the text is cut,
// never the cursor movements around it; the text holds no escape sequences
// of its own (termsafe.Line writes a target name's controls out visibly).
func RenderScreen(w io.Writer, s Snapshot, prevLines, width int) int {
	var b strings.Builder
	if prevLines > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", prevLines)
	}
	lines := []string{
		fmt.Sprintf("needlestorm → %s   %s %s", s.Target, progressStage(s), s.StageLabel),
		fmt.Sprintf("  sent %d   completed %d   in flight %d   errors %d", s.Sent, s.Completed, s.InFlight(), s.Errors),
		fmt.Sprintf("  rate %.1f/s   ttft p50 %s   p95 %s   accuracy %s", s.Rate, progressLatency(s.TTFTP50), progressLatency(s.TTFTP95), progressAccuracy(s)),
		fmt.Sprintf("  elapsed %s   remaining %s", progressClock(s.Elapsed), progressRemaining(s)),
	}
	for _, l := range lines {
		b.WriteString("\r\x1b[2K")
		b.WriteString(fitWidth(termsafe.Line(l), width))
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
	return len(lines)
}

// fitWidth cuts s to width display columns, ending it in "…" when cut
// (width 0 or less: s unchanged).
func fitWidth(s string, width int) string {
	if width <= 0 || runewidth.StringWidth(s) <= width {
		return s
	}
	return runewidth.Truncate(s, width, "…")
}

// RenderLine writes s as one plain line.
func RenderLine(w io.Writer, s Snapshot) {
	fmt.Fprintf(w, "[%s] %s %s: sent %d, completed %d, errors %d, rate %.1f/s, ttft p50 %s p95 %s, accuracy %s, remaining %s\n",
		progressClock(s.Elapsed), progressStage(s), s.StageLabel, s.Sent, s.Completed, s.Errors, s.Rate,
		progressLatency(s.TTFTP50), progressLatency(s.TTFTP95), progressAccuracy(s), progressRemaining(s))
}

func progressLatency(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func progressAccuracy(s Snapshot) string {
	acc, ok := s.Accuracy()
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.1f%% (%d/%d)", 100*acc, s.Correct, s.Scored)
}

func progressClock(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, sec := int(d/time.Hour), int(d/time.Minute)%60, int(d/time.Second)%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%d:%02d", m, sec)
}

// progressStage is "stage 2/5", or "stage 11" for a stage outside the
// schedule (an envelope search's steps, whose number is not known ahead).
func progressStage(s Snapshot) string {
	if s.Stages == 0 || s.Stage >= s.Stages {
		return fmt.Sprintf("stage %d", s.Stage+1)
	}
	return fmt.Sprintf("stage %d/%d", s.Stage+1, s.Stages)
}

// progressRemaining is the time left, or what is still finishing once the
// schedule is over: requests in flight end when the server answers them
// (at most the request timeout), which no schedule can say.
func progressRemaining(s Snapshot) string {
	if !s.RemainingKnown {
		return "unknown"
	}
	if s.Remaining < time.Second && s.InFlight() > 0 {
		return fmt.Sprintf("finishing %d in flight", s.InFlight())
	}
	return "~" + progressClock(s.Remaining)
}
