package reports

import (
	"fmt"
	"time"

	"github.com/needlestorm/needlestorm/run"
)

// t0 is the fixtures' start time.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// fx describes one fixture record; zero fields get defaults.
type fx struct {
	target, model string
	stage         int
	rate          float64 // the stage's scheduling rate, requests/s
	i             int     // index within the stage, for the scheduled time
	length        int
	depth         float64
	caseID        string
	repeat        int
	correct       bool
	answer        string
	ttft, e2e     time.Duration
	tpot          time.Duration
	gaps          []time.Duration
	client        int
	server        int
	output        int
	cached        int
	errorClass    string
	status        int
	finish        string
	warmup        bool
	canaries      bool
}

const expectedValue = "4815162"

func (f fx) record() run.Record {
	if f.target == "" {
		f.target = "sim"
	}
	if f.rate == 0 {
		f.rate = 1
	}
	if f.client == 0 {
		f.client = f.length
	}
	if f.server == 0 && f.errorClass == "" {
		f.server = f.client + 10 // a template overhead of 10
	}
	if f.answer == "" {
		if f.correct {
			f.answer = "The number is " + expectedValue + "."
		} else {
			f.answer = "The number is 1111111."
		}
	}
	if f.ttft == 0 && f.errorClass == "" {
		f.ttft = 100 * time.Millisecond
	}
	if f.e2e == 0 && f.errorClass == "" {
		f.e2e = f.ttft + 400*time.Millisecond
	}
	if f.caseID == "" {
		f.caseID = fmt.Sprintf("single-%d-%g", f.length, f.depth)
	}
	if f.output == 0 && f.errorClass == "" {
		f.output = 8
	}
	sched := t0.Add(time.Duration(f.stage)*time.Hour + time.Duration(float64(f.i)/f.rate*float64(time.Second)))
	r := run.Record{
		Schema: run.RecordSchema, Target: f.target, Model: f.model,
		Stage: f.stage, StageLabel: fmt.Sprintf("rate=%g/s", f.rate), Warmup: f.warmup,
		CaseID: f.caseID, Task: "single", Length: f.length, Depth: f.depth, ActualDepth: f.depth,
		NeedleTokenIndex: int(f.depth / 100 * float64(f.length)), Repeat: f.repeat,
		Expected:    []string{expectedValue},
		ScheduledAt: sched, SentAt: sched,
		TTFT: run.Seconds(f.ttft), E2E: run.Seconds(f.e2e), TPOT: run.Seconds(f.tpot),
		PromptTokensClient: f.client, PromptTokensServer: f.server, OutputTokens: f.output, CachedTokens: f.cached,
		FinishReason: f.finish, Status: f.status, ErrorClass: f.errorClass, Answer: f.answer,
	}
	for _, g := range f.gaps {
		r.ChunkGaps = append(r.ChunkGaps, run.Seconds(g))
	}
	if f.canaries {
		r.CanaryHead, r.CanaryTail = "alpha-31", "omega-77"
	}
	if f.status == 0 && f.errorClass == "" {
		r.Status = 200
	}
	return r
}

// stage builds n records of one (stage, length, depth) of which the first
// correct are right, each with the given ttft.
func stage(target string, st int, rate float64, length int, depth float64, n, correct int, ttft time.Duration) []run.Record {
	out := make([]run.Record, n)
	for i := range n {
		out[i] = fx{target: target, stage: st, rate: rate, i: i, length: length, depth: depth, correct: i < correct, ttft: ttft}.record()
	}
	return out
}

// interleave spreads groups of one stage across the stage's schedule, so
// that every group spans the stage's time.
func interleave(groups ...[]run.Record) []run.Record {
	var out []run.Record
	for _, g := range groups {
		out = append(out, g...)
	}
	// Reassign scheduled times per stage in order of appearance.
	next := map[int]int{}
	rates := map[int]float64{}
	for i := range out {
		r := &out[i]
		if _, ok := rates[r.Stage]; !ok {
			var rate float64
			fmt.Sscanf(r.StageLabel, "rate=%g/s", &rate)
			rates[r.Stage] = rate
		}
		k := next[r.Stage]
		next[r.Stage]++
		r.ScheduledAt = t0.Add(time.Duration(r.Stage)*time.Hour + time.Duration(float64(k)/rates[r.Stage]*float64(time.Second)))
		r.SentAt = r.ScheduledAt
	}
	return out
}
