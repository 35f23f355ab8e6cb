package campaign

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/endpoint"
	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
	"github.com/needlestorm/needlestorm/sim"
)

const full = `name: full
description: every field
targets:
  - name: hosted
    kind: openai
    base_url: https://api.example.com/v1
    model: big-1
    api_key_env: EXAMPLE_KEY
    headers: {X-Team: platform, Authorization: "${EXAMPLE_TOKEN}"}
    extra_body: {options: {num_ctx: 8192}}
    max_tokens: 100
    temperature: 0.5
    timeout: 2m
    connect_timeout: 5s
    prices: {input: 2, output: 10, cached: 1}
    currency: USD
    context_window: 128000
  - name: local
    kind: sim
    sim_profile: ollama-default
    sim: {context_window: 4096, overflow: truncate_middle, output_tokens: 12}
    time_scale: 0.01
corpus:
  tasks: [single, chain]
  lengths: [1k, 2000, "1.5k"]
  depths: [10, 90]
  samples: 2
  haystack: noise
  encoding: o200k_base
  seed: 7
  canaries: true
  shared_prefix: true
  value_kind: word
  keys: 4
  length_basis: server
load:
  warmup: 5s
  stages:
    - {rate: 2, duration: 10s, label: easy}
    - {kind: ramp, rate: 1, to_rate: 5, duration: 20s}
    - {kind: sine, rate: 4, amplitude: 2, period: 10s, duration: 30s}
    - {concurrency: 3, requests: 12}
    - {kind: poisson, rate: 3}
slo:
  ttft_p95: 2s
  e2e_p99: 30s
  chunk_gap_p90: 500ms
  error_rate: 0.01
accuracy: {threshold: 0.9, relative: true}
budget: {max_cost_usd: 100, max_duration: 1h}
output: {dir: out/full}
`

// TestRoundTrip decodes a campaign with every field and checks what each
// converter makes of it.
func TestRoundTrip(t *testing.T) {
	c, err := Parse("/tmp/x/full.yaml", []byte(full))
	if err != nil {
		t.Fatalf("%s", Detail(err))
	}
	wantM := corpus.Matrix{
		Tasks: []string{"single", "chain"}, Lengths: []int{1000, 2000, 1500}, Depths: []float64{10, 90},
		Samples: 2, Haystack: "noise", Encoding: "o200k_base", Seed: 7, Canaries: true, SharedPrefix: true,
		ValueKind: "word", Keys: 4,
	}
	if m := c.Matrix(); !reflect.DeepEqual(m, wantM) {
		t.Errorf("Matrix\n%+v\nwant\n%+v", m, wantM)
	}
	if c.Repeats() != 1 || c.RepeatsGiven() || c.LengthBasis() != BasisServer || c.Seed() != 7 {
		t.Errorf("repeats %d, basis %s, seed %d", c.Repeats(), c.LengthBasis(), c.Seed())
	}

	ts := c.Targets()
	if len(ts) != 2 {
		t.Fatalf("%d targets", len(ts))
	}
	wantCfg := endpoint.TargetConfig{
		Name: "hosted", Kind: "openai", BaseURL: "https://api.example.com/v1", Model: "big-1", APIKeyEnv: "EXAMPLE_KEY",
		MaxTokens: 100, Temperature: 0.5,
		Headers:   map[string]string{"X-Team": "platform", "Authorization": "${EXAMPLE_TOKEN}"},
		ExtraBody: map[string]any{"options": map[string]any{"num_ctx": uint64(8192)}},
		Timeout:   2 * time.Minute, ConnectTimeout: 5 * time.Second,
	}
	if !reflect.DeepEqual(ts[0].Config, wantCfg) {
		t.Errorf("Config\n%#v\nwant\n%#v", ts[0].Config, wantCfg)
	}
	if ts[0].Price != (reports.Price{Input: 2, Output: 10, Cached: 1}) || ts[0].Currency != "USD" || ts[0].ContextWindow != 128000 || ts[0].IsSim() {
		t.Errorf("hosted spec %+v", ts[0])
	}
	want, _ := sim.Profile("ollama-default")
	want.ContextWindow, want.Overflow, want.OutputTokens, want.TimeScale = 4096, sim.OverflowTruncateMiddle, 12, 0.01
	if ts[1].Sim == nil || *ts[1].Sim != want {
		t.Errorf("sim config\n%+v\nwant\n%+v", ts[1].Sim, want)
	}
	if ts[1].Config.Kind != endpoint.KindOpenAI || ts[1].SimProfile != "ollama-default" || ts[1].TimeScale != 0.01 || ts[1].ContextWindow != 4096 {
		t.Errorf("sim spec %+v", ts[1])
	}

	cases := 2 * 3 * 2 * 2
	wantS := loadgen.Schedule{
		{Kind: "constant", Rate: 2, Duration: run.Seconds(5 * time.Second), Label: "warmup easy", Warmup: true},
		{Kind: "constant", Rate: 2, Duration: run.Seconds(10 * time.Second), Label: "easy"},
		{Kind: "ramp", Rate: 1, ToRate: 5, Duration: run.Seconds(20 * time.Second)},
		{Kind: "sine", Rate: 4, Amplitude: 2, Period: run.Seconds(10 * time.Second), Duration: run.Seconds(30 * time.Second)},
		{Kind: "concurrency", Concurrency: 3, Requests: 12},
		{Kind: "poisson", Rate: 3, Requests: cases},
	}
	if s := c.Schedule(); !reflect.DeepEqual(s, wantS) {
		t.Errorf("Schedule\n%+v\nwant\n%+v", s, wantS)
	}
	if c.Search() != nil {
		t.Error("Search is set for a campaign with stages")
	}

	er := 0.01
	wantO := reports.Objectives{
		Latency: []reports.LatencyObjective{
			{Metric: "ttft", Percentile: 95, Max: 2}, {Metric: "e2e", Percentile: 99, Max: 30}, {Metric: "chunk_gap", Percentile: 90, Max: 0.5},
		},
		ErrorRate: &er, Accuracy: 0.9, AccuracyRelative: true,
	}
	if o := c.Objectives(); !reflect.DeepEqual(o, wantO) {
		t.Errorf("Objectives\n%+v\nwant\n%+v", o, wantO)
	}
	wantP := reports.Prices{Currency: "USD", Targets: map[string]reports.Price{"hosted": {Input: 2, Output: 10, Cached: 1}}}
	if p := c.Prices(); !reflect.DeepEqual(p, wantP) {
		t.Errorf("Prices %+v, want %+v", p, wantP)
	}
	if c.OutputDir(time.Now()) != "out/full" || c.Name != "full" || c.Description != "every field" {
		t.Errorf("output %q name %q", c.OutputDir(time.Now()), c.Name)
	}
	if *c.Budget.MaxCostUSD != 100 || c.Budget.MaxDuration.D() != time.Hour {
		t.Errorf("budget %+v", c.Budget)
	}
}

// TestDefaults checks what a minimal campaign gets.
func TestDefaults(t *testing.T) {
	c, err := Parse("runs/mini.yaml", []byte("targets: [{name: a, kind: sim}]\ncorpus: {lengths: [1k]}\nload: {search: {max_rate: 8}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Matrix()
	if !reflect.DeepEqual(m.Tasks, []string{"single"}) || !reflect.DeepEqual(m.Depths, corpus.DefaultDepths) || m.Samples != 1 ||
		m.Haystack != "prose" || m.Encoding != "cl100k_base" || m.Seed != 1 {
		t.Errorf("matrix defaults %+v", m)
	}
	ts := c.Targets()
	if ts[0].SimProfile != "fast" || ts[0].Currency != "USD" || ts[0].Sim == nil {
		t.Errorf("target defaults %+v", ts[0])
	}
	o := c.Objectives()
	if o.Accuracy != reports.DefaultAccuracy || o.Latency != nil || o.ErrorRate != nil {
		t.Errorf("objective defaults %+v", o)
	}
	s := c.Search()
	if s == nil || s.StartRate != 1 || s.MaxRate != 8 || s.Resolution != 0.1 || s.StepDuration.Duration() != 20*time.Second {
		t.Errorf("search defaults %+v", s)
	}
	if c.Schedule() != nil {
		t.Error("Schedule is set in search mode")
	}
	if c.Name != "mini" || !strings.HasPrefix(c.OutputDir(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)), "runs/mini-20250102-030405") {
		t.Errorf("name %q, dir %q", c.Name, c.OutputDir(time.Now()))
	}
	if len(c.Prices().Targets) != 0 {
		t.Errorf("prices %+v for an unpriced campaign", c.Prices())
	}
}

// TestHaystackDir checks that a relative dir: haystack is read from the
// campaign file's folder, and a missing one is an error.
func TestHaystackDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("The river runs past the old mill, and the miller counts the sacks of grain. ", 200)
	if err := os.WriteFile(filepath.Join(dir, "docs", "a.txt"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	src := "targets: [{name: a, kind: sim}]\ncorpus: {lengths: [1k], haystack: dir:./docs}\nload: {stages: [{rate: 1, duration: 1s}]}\n"
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Matrix().Haystack, "dir:"+filepath.Join(dir, "docs"); got != want {
		t.Errorf("haystack %q, want %q", got, want)
	}
	_, err = Parse(filepath.Join(dir, "sub", "c.yaml"), []byte(src))
	if err == nil || !strings.Contains(err.Error(), "c.yaml:2:35: corpus.haystack: folder") {
		t.Errorf("missing folder: %v", err)
	}
}

// TestPlanFigures checks the plan against figures computed by hand.
func TestPlanFigures(t *testing.T) {
	src := `name: small
targets:
  - name: paid
    kind: openai
    model: m
    max_tokens: 100
    prices: {input: 2, output: 10}
corpus:
  lengths: [1k, 2k]
  depths: [0, 100]
load:
  warmup: 2s
  stages:
    - {rate: 2, duration: 5s}
    - {rate: 1, requests: 3}
`
	c, err := Parse("small.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Cases in the order sent (loadgen.Interleave): 1000, 2000, 1000, 2000.
	// warm-up: 2/s for 2s = 4 requests = one cycle = 6000 tokens;
	// stage 1: 2/s for 5s = 10 requests = 2 cycles + 1000 + 2000 = 15000;
	// stage 2: 3 requests = 1000 + 2000 + 1000 = 4000.
	tp := p.Targets[0]
	var stages [][2]int64
	for _, s := range tp.Stages {
		stages = append(stages, [2]int64{s.Requests, s.InputTokens})
	}
	if want := [][2]int64{{4, 6000}, {10, 15000}, {3, 4000}}; !reflect.DeepEqual(stages, want) {
		t.Errorf("stages (requests, input) %v, want %v", stages, want)
	}
	if tp.Requests != 17 || tp.InputTokens != 25000 || tp.OutputTokensMax != 1700 || tp.OutputTokensTypical != 340 {
		t.Errorf("requests %d input %d output %d/%d, want 17, 25000, 1700/340", tp.Requests, tp.InputTokens, tp.OutputTokensTypical, tp.OutputTokensMax)
	}
	// (25000*2 + 1700*10)/1e6 and (25000*2 + 340*10)/1e6.
	if math.Abs(tp.CostMax-0.067) > 1e-12 || math.Abs(tp.CostTypical-0.0534) > 1e-12 {
		t.Errorf("cost %g/%g, want 0.0534/0.067", tp.CostTypical, tp.CostMax)
	}
	if !tp.DurationKnown || tp.Duration != 10*time.Second || tp.Count != loadgen.CountExact {
		t.Errorf("duration %s (%v), count %s", tp.Duration, tp.DurationKnown, tp.Count)
	}
	// The estimate counts sending only, and says what the drain can add:
	// three stages (the warm-up one of them) at the 10m default timeout.
	if !slices.ContainsFunc(tp.Notes, func(n string) bool {
		return strings.Contains(n, "up to the request timeout, 10m0s") && strings.Contains(n, "at most 30m0s more over the 3 stages")
	}) {
		t.Errorf("notes %q: want the drain after each stage bounded by the timeout", tp.Notes)
	}
	if p.CostMax != tp.CostMax || p.Requests != 17 {
		t.Errorf("totals %g, %d", p.CostMax, p.Requests)
	}
}

// TestPlanSearch checks the plan of a search against its worst case worked
// out by hand: the warm-up before every length, then the longest way the
// verdicts can lead the search.
func TestPlanSearch(t *testing.T) {
	src := `targets: [{name: a, kind: openai, model: m, max_tokens: 10}]
corpus: {lengths: [1k, 4k], depths: [50]}
load:
  warmup: 3s
  search: {start_rate: 1, max_rate: 8, resolution: 0.25, step_duration: 2s}
`
	c, err := Parse("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The most requests: 1, 2, 4 pass and 8 fails (2 + 4 + 8 + 16 requests
	// in 2 s each), then the bisection of [4, 8] probes 5.66 (12), which
	// passes, then 6.73 (14): (8 - 6.73) / 6.73 is within 25%. Six steps,
	// 56 requests and 12 s, the most of any way (a way down from 1/s
	// takes six steps too, at far lower rates). Before each length, the
	// warm-up: 3 s at 1/s, 3 requests.
	tp := p.Targets[0]
	var labels []string
	for _, s := range tp.Stages {
		labels = append(labels, fmt.Sprintf("%s %d %s", s.Label, s.Requests, s.Duration))
	}
	want := []string{"warmup at 1k 3 3s", "search at 1k: up to 6 steps 56 12s", "warmup at 4k 3 3s", "search at 4k: up to 6 steps 56 12s"}
	if !reflect.DeepEqual(labels, want) {
		t.Errorf("stages %q, want %q", labels, want)
	}
	if tp.Requests != 2*(3+56) || tp.InputTokens != 59*1000+59*4000 || tp.Count != loadgen.CountUpperBound || tp.Duration != 30*time.Second {
		t.Errorf("search plan: %d requests, %d tokens, %s, %s", tp.Requests, tp.InputTokens, tp.Count, tp.Duration)
	}
	if s := c.Search(); s.MaxSteps != 6 {
		t.Errorf("the search's own cap is %d steps, want its worst case, 6", s.MaxSteps)
	}
}

// TestPlanClosedLoop checks closed-loop estimates: from the simulator's
// model for a sim target, unknown for a real server.
func TestPlanClosedLoop(t *testing.T) {
	src := `targets:
  - {name: s, kind: sim, sim_profile: vllm-8b, time_scale: 1}
  - {name: r, kind: openai, model: m, prices: {input: 1, output: 1}}
corpus: {lengths: [1k], depths: [50]}
load:
  stages: [{concurrency: 4, duration: 10s}]
`
	c, err := Parse("c.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	simT, real := p.Targets[0], p.Targets[1]
	// vllm-8b, 1k + 7 tokens: 0.02 + 1007/10000 s prefill, then 19 tokens
	// at 60/(1+0.02*3) tokens/s: about 0.456 s per request, 4 at a time.
	if simT.Count != loadgen.CountEstimate || simT.Requests < 80 || simT.Requests > 95 {
		t.Errorf("sim estimate %d (%s), want about 88", simT.Requests, simT.Count)
	}
	if real.RequestsKnown || real.Count != loadgen.CountUnknown {
		t.Errorf("real target count %d (%s) should be unknown", real.Requests, real.Count)
	}
	budget := 1.0
	p.MaxCostUSD = &budget
	if err := p.CheckBudget(); err == nil || !strings.Contains(err.Error(), "request count of r is unknown") {
		t.Errorf("budget with an unknown count: %v", err)
	}
}

// TestBudget checks the refusal of a plan over budget.
func TestBudget(t *testing.T) {
	src := `targets:
  - {name: cheap, kind: openai, model: m, max_tokens: 10, prices: {input: 1, output: 1}}
  - {name: dear, kind: openai, model: m, max_tokens: 10, prices: {input: 30, output: 60}}
corpus: {lengths: [10k], depths: [50]}
load:
  stages: [{rate: 1, requests: 100}]
budget: {max_cost_usd: 5, max_duration: 1m}
`
	c, err := Parse("b.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// cheap: 1e6 input + 1000 output at 1/M = 1.001; dear: 30 + 0.06 = 30.06.
	err = p.CheckBudget()
	if err == nil {
		t.Fatal("a plan over budget passed")
	}
	for _, want := range []string{"$31.06", "over budget.max_cost_usd $5.00", "costliest: dear $30.06, cheap $1.00", "estimated duration 3m20s is over budget.max_duration 1m0s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("budget error lacks %q:\n%v", want, err)
		}
	}
	more := 40.0
	p.MaxCostUSD, p.MaxDuration = &more, 0
	if err := p.CheckBudget(); err != nil {
		t.Errorf("a plan within budget was refused: %v", err)
	}
}

// TestOverride checks flags on top of a file.
func TestOverride(t *testing.T) {
	c, err := Parse("full.yaml", []byte(full))
	if err != nil {
		t.Fatal(err)
	}
	slo := "ttft_p50=1s"
	ts := 0.5
	seed := int64(9)
	if err := c.Override(Overrides{Only: []string{"local"}, Lengths: []int{500}, SLO: &slo, TimeScale: &ts, Seed: &seed}); err != nil {
		t.Fatalf("%s", Detail(err))
	}
	if len(c.Targets()) != 1 || c.Targets()[0].Config.Name != "local" || c.Targets()[0].Sim.TimeScale != 0.5 {
		t.Errorf("targets after override %+v", c.Targets())
	}
	if m := c.Matrix(); !reflect.DeepEqual(m.Lengths, []int{500}) || m.Seed != 9 {
		t.Errorf("matrix after override %+v", m)
	}
	if o := c.Objectives(); len(o.Latency) != 1 || o.Latency[0].Name() != "ttft_p50" || o.ErrorRate != nil {
		t.Errorf("objectives after override %+v", o)
	}
	err = c.Override(Overrides{Only: []string{"nope"}})
	if err == nil || err.Error() != `--targets: no target is named "nope"; the campaign has local` {
		t.Errorf("unknown target: %v", err)
	}
	bad := "ttft_p95=fast"
	if err := c.Override(Overrides{SLO: &bad}); err == nil || !strings.HasPrefix(err.Error(), "--slo: ") {
		t.Errorf("bad slo: %v", err)
	}
}

// TestRepeats checks that corpus.repeats sends each case that many times in
// every stage (the schedule's request counts), and that a stage it cannot
// apply to is refused with a message saying why.
func TestRepeats(t *testing.T) {
	const head = "targets: [{name: a, kind: sim}]\ncorpus: {lengths: [1k, 2k], depths: [0, 100]%s}\n"
	tests := []struct {
		name    string
		repeats string // the corpus.repeats entry, or ""
		load    string
		want    []int  // each stage's request count (0: bounded by duration only)
		wantErr string // a validation error containing this
	}{
		{"no repeats, unbounded stage: every case once", "", "load: {stages: [{rate: 2}]}", []int{4}, ""},
		{"no repeats, duration only: the duration bounds it", "", "load: {stages: [{rate: 2, duration: 10s}]}", []int{0}, ""},
		{"repeats, unbounded stage", ", repeats: 3", "load: {stages: [{rate: 2}]}", []int{12}, ""},
		{"repeats, duration only: cases x repeats, capped", ", repeats: 3", "load: {stages: [{rate: 2, duration: 10s}]}", []int{12}, ""},
		{"repeats, closed loop", ", repeats: 2", "load: {stages: [{concurrency: 2, duration: 10s}, {concurrency: 4}]}", []int{8, 8}, ""},
		{"repeats with a stage's own requests", ", repeats: 3", "load: {stages: [{rate: 2, requests: 5}]}", nil, "corpus.repeats 3 already sets every stage's count"},
		{"repeats cut short by a duration", ", repeats: 3", "load: {stages: [{rate: 1, duration: 5s}]}", nil, "fewer than the 4 cases × corpus.repeats 3 = 12"},
		{"repeats with a search", ", repeats: 2", "load: {search: {max_rate: 4}}", nil, "an envelope search sizes its own steps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("r.yaml", []byte(fmt.Sprintf(head, tt.repeats)+tt.load+"\n"))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(Detail(err), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s", Detail(err))
			}
			var got []int
			for _, st := range c.Schedule() {
				got = append(got, st.Requests)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("stage request counts %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPlanPlurals checks that the plan's wording agrees with its numbers:
// one request, one time, several requests.
func TestPlanPlurals(t *testing.T) {
	tests := []struct {
		name, stages, repeats string
		want, notWant         []string
	}{
		{"one request", "- {rate: 1, requests: 1}", "", []string{"sends 1 request, fewer than the 2 cases", "1 request "}, []string{"1 requests"}},
		{"three requests", "- {rate: 1, requests: 3}", "", []string{"3 requests "}, []string{"fewer than"}},
		{"repeats once", "- {rate: 1}", "  repeats: 1\n  lengths: [1k]\n", []string{"each of the 1 case 1 time (1 request)"}, []string{"1 times", "1 requests"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lengths := "  lengths: [1k, 2k]\n"
			if tt.repeats != "" {
				lengths = tt.repeats
			}
			src := "name: plurals\ntargets:\n  - {name: a, kind: openai, model: m}\ncorpus:\n" + lengths + "  depths: [50]\nload:\n  stages:\n    " + tt.stages + "\n"
			c, err := Parse("plurals.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.Plan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			if err := p.Write(&b); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("plan lacks %q:\n%s", w, b.String())
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(b.String(), w) {
					t.Errorf("plan says %q:\n%s", w, b.String())
				}
			}
		})
	}
}
