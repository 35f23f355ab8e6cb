package reports_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/internal/testkit"
	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
)

// slowObserver sleeps in Sent, which the dispatcher calls on the request's
// goroutine just before handing it to the target: every request is sent
// at least delay after its scheduled time, as from a client too slow for
// its schedule.
type slowObserver struct{ delay time.Duration }

func (slowObserver) StageStarted(int, loadgen.Stage) {}
func (o slowObserver) Sent(*run.Record)              { time.Sleep(o.delay) }
func (slowObserver) Completed(*run.Record)           {}

// runSlowClient runs 20 requests at 100/s against a fake target through a
// client that is 30 ms late on every send, and writes the report.
func runSlowClient(t *testing.T, opts ...loadgen.Option) (string, *reports.Summary) {
	t.Helper()
	target := testkit.NewFakeTarget(time.Millisecond)
	runner, err := loadgen.NewRunner(target, testkit.Cases(4), loadgen.ConstantStages([]float64{100}, 0, 20), opts...)
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
	return dir, s
}

// TestSlowClientIsTheBottleneck: a client that sends every request 30 ms
// late (over the 10 ms limit) is named the bottleneck in the terminal
// summary, summary.md, report.html and summary.json, and its stage does not
// give the envelope a max rate.
func TestSlowClientIsTheBottleneck(t *testing.T) {
	dir, s := runSlowClient(t, loadgen.Observe(slowObserver{30 * time.Millisecond}))
	st := s.Targets[0].Stages[0]
	if !st.ClientBottleneck || st.SendLag.P99 < 0.03 || st.SendLag.N != 20 {
		t.Fatalf("stage %+v: want the client flagged with a send lag p99 of at least 30ms over 20 requests", st)
	}
	if !strings.Contains(strings.Join(st.BottleneckReasons, ";"), "send lag p99") {
		t.Errorf("reasons %q, want the send lag named", st.BottleneckReasons)
	}
	if st.AskedRate != 100 || st.SentRate <= 0 || st.CompletedRate <= 0 {
		t.Errorf("asked %v sent %v completed %v, want 100 and two measured rates", st.AskedRate, st.SentRate, st.CompletedRate)
	}
	ts := s.Targets[0]
	if ts.Rate <= 0 || ts.Goodput <= 0 {
		t.Errorf("target rate %v goodput %v, want both measured", ts.Rate, ts.Goodput)
	}
	el := s.Envelope.Targets[0].Lengths[0]
	if el.MaxRate != nil || !strings.Contains(el.Unresolved, "client was the bottleneck") {
		t.Errorf("envelope length %+v: want no max rate and the bottleneck said", el)
	}

	if text := s.Text(); !strings.Contains(text, "WARNING") || !strings.Contains(text, "client was the bottleneck") {
		t.Errorf("terminal summary does not warn of the bottleneck:\n%s", text)
	}
	for _, name := range []string{reports.MarkdownFile, reports.HTMLFile, reports.EnvelopeFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "client was the bottleneck") {
			t.Errorf("%s does not say the client was the bottleneck", name)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, reports.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var js struct {
		Targets []struct {
			Rate    float64 `json:"rate"`
			Goodput float64 `json:"goodput"`
			Stages  []struct {
				ClientBottleneck bool                  `json:"client_bottleneck"`
				SentRate         float64               `json:"sent_rate"`
				SendLag          struct{ P99 float64 } `json:"send_lag"`
			} `json:"stages"`
		} `json:"targets"`
	}
	if err := json.Unmarshal(b, &js); err != nil {
		t.Fatal(err)
	}
	if len(js.Targets) != 1 || js.Targets[0].Rate <= 0 || js.Targets[0].Goodput <= 0 || !js.Targets[0].Stages[0].ClientBottleneck || js.Targets[0].Stages[0].SendLag.P99 < 0.03 {
		t.Errorf("summary.json targets %+v: want rate, goodput, the bottleneck flag and the send lag", js.Targets)
	}
}

// TestInFlightCapIsTheBottleneck: with one request allowed in flight and
// a target that takes 50 ms at 100/s, the cap holds requests back; records
// say so and the stage is flagged.
func TestInFlightCapIsTheBottleneck(t *testing.T) {
	target := testkit.NewFakeTarget(50 * time.Millisecond)
	runner, err := loadgen.NewRunner(target, testkit.Cases(2), loadgen.ConstantStages([]float64{100}, 0, 6), loadgen.MaxInFlight(1))
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
	st := s.Targets[0].Stages[0]
	if st.HeldBack == 0 || !st.ClientBottleneck || !strings.Contains(strings.Join(st.BottleneckReasons, ";"), "in-flight cap") {
		t.Errorf("stage %+v: want requests held back by the cap and the stage flagged", st)
	}
}

// TestKeptUpClientIsNotFlagged: records sent on schedule, at the schedule's
// rate, are not flagged, and the stage's rates are those of the records.
func TestKeptUpClientIsNotFlagged(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var recs []run.Record
	for i := range 20 {
		at := t0.Add(time.Duration(i) * 250 * time.Millisecond) // 4/s
		recs = append(recs, run.Record{Schema: run.RecordSchema, Target: "t", Stage: 0, StageLabel: "rate=4/s", CaseID: "c", Length: 1000,
			ScheduledAt: at, SentAt: at.Add(time.Millisecond), SendLag: run.Seconds(time.Millisecond), AskedRate: 4,
			TTFT: run.Seconds(100 * time.Millisecond), E2E: run.Seconds(time.Second), Status: 200, Expected: []string{"x"}, Answer: "x"})
	}
	s, err := reports.Build(nil, recs, reports.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := s.Targets[0].Stages[0]
	if st.ClientBottleneck || len(s.BottleneckWarnings()) != 0 {
		t.Errorf("stage %+v flagged, want a client that kept up not flagged", st)
	}
	// 20 sends over 4.75 s, each answered 1 s after it was sent.
	if !approx(st.SentRate, 4) || !approx(st.CompletedRate, 4) || !approx(st.Window, 5.75) || !approx(st.SendLag.P99, 0.001) {
		t.Errorf("sent %v completed %v window %v lag %+v, want 4/s, 4/s, 5.75s, 1ms", st.SentRate, st.CompletedRate, st.Window, st.SendLag)
	}

	// The same records sent 5% slower than scheduled: the shortfall flags it.
	for i := range recs {
		recs[i].SentAt = t0.Add(time.Duration(float64(i) * 250 * 1.05 * float64(time.Millisecond)))
	}
	s, err = reports.Build(nil, recs, reports.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st := s.Targets[0].Stages[0]; !st.ClientBottleneck || !strings.Contains(strings.Join(st.BottleneckReasons, ";"), "below the scheduled") {
		t.Errorf("stage %+v: want a 5%% send shortfall flagged", st)
	}
}

// TestShortStageShortfallWithinTheLateLimit: a one-second stage of 40
// requests at 40/s whose last sends are 60 ms late achieves 5% less than
// its rate, but with send_lag 200ms allowed that is lateness the
// objectives accept, not a client that cannot keep up; the same stage 300
// ms late at the end is flagged.
func TestShortStageShortfallWithinTheLateLimit(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	build := func(lastLate time.Duration) reports.StageInfo {
		var recs []run.Record
		for i := range 40 {
			at := t0.Add(time.Duration(i) * 25 * time.Millisecond)
			lag := time.Millisecond
			if i >= 38 {
				lag = lastLate
			}
			recs = append(recs, run.Record{Schema: run.RecordSchema, Target: "t", Stage: 0, StageLabel: "rate=40/s", CaseID: "c", Length: 1000,
				ScheduledAt: at, SentAt: at.Add(lag), SendLag: run.Seconds(lag), AskedRate: 40,
				TTFT: run.Seconds(10 * time.Millisecond), E2E: run.Seconds(20 * time.Millisecond), Status: 200, Expected: []string{"x"}, Answer: "x"})
		}
		s, err := reports.Build(nil, recs, reports.Options{Objectives: reports.Objectives{SendLag: 0.2}})
		if err != nil {
			t.Fatal(err)
		}
		return s.Targets[0].Stages[0]
	}
	if st := build(60 * time.Millisecond); st.SentRate > 40*0.98 || st.ClientBottleneck {
		t.Errorf("60 ms late at the end: sent %.2f/s, flagged %v (%v); want below 39.2/s and not flagged", st.SentRate, st.ClientBottleneck, st.BottleneckReasons)
	}
	if st := build(300 * time.Millisecond); !st.ClientBottleneck || !strings.Contains(strings.Join(st.BottleneckReasons, ";"), "below the scheduled") {
		t.Errorf("300 ms late at the end: flagged %v (%v); want the shortfall flagged", st.ClientBottleneck, st.BottleneckReasons)
	}
}

func approx(a, b float64) bool { return a > b*0.999 && a < b*1.001 }
