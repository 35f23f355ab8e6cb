package reports

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/run"
)

// compareFixture: four targets at rates 1, 2, 4 and 8 per second, ten
// requests per (stage, length), every prompt 10 tokens over the client's
// count (server = length + 10), 8 output tokens.
//
//   - fast: lengths 1k, 4k, 16k; accuracy 1, 1, 0.9; ttft 300ms at every
//     rate. Effective context 16k, max rate 8/s everywhere.
//   - mid: lengths 1k, 4k, 16k; accuracy 1; ttft 100ms, 500ms, 3s, 3s.
//     Effective context 16k, max rate 2/s (ttft_p95 3s > 2s at 4/s).
//   - cheap: lengths 1k, 4k, 16k; accuracy 1, 0.9, 0.5; ttft 100ms.
//     Effective context 4k; nothing passes at 16k.
//   - short: lengths 1k and 4k only; accuracy 1; ttft 100ms.
//
// fast has one warm-up request at 1k besides.
func compareFixture() []run.Record {
	type target struct {
		name    string
		lengths []int
		correct []int
		ttft    []time.Duration
	}
	ms := time.Millisecond
	targets := []target{
		{"fast", []int{1000, 4000, 16000}, []int{10, 10, 9}, []time.Duration{300 * ms, 300 * ms, 300 * ms, 300 * ms}},
		{"mid", []int{1000, 4000, 16000}, []int{10, 10, 10}, []time.Duration{100 * ms, 500 * ms, 3000 * ms, 3000 * ms}},
		{"cheap", []int{1000, 4000, 16000}, []int{10, 9, 5}, []time.Duration{100 * ms, 100 * ms, 100 * ms, 100 * ms}},
		{"short", []int{1000, 4000}, []int{10, 10}, []time.Duration{100 * ms, 100 * ms, 100 * ms, 100 * ms}},
	}
	var recs []run.Record
	for _, tg := range targets {
		for st, rate := range []float64{1, 2, 4, 8} {
			var groups [][]run.Record
			for li, l := range tg.lengths {
				groups = append(groups, stage(tg.name, st, rate, l, 50, 20, 2*tg.correct[li], tg.ttft[st]))
			}
			recs = append(recs, interleave(groups...)...)
		}
	}
	recs = append(recs, fx{target: "fast", rate: 1, i: 0, length: 1000, warmup: true}.record())
	for i := range recs {
		recs[i].Model = "model-" + recs[i].Target
	}
	return recs
}

// comparePrices: per million tokens.
func comparePrices() Prices {
	return Prices{Currency: "USD", Targets: map[string]Price{
		"fast":  {Input: 1, Output: 2},
		"mid":   {Input: 0.5, Output: 1.5},
		"cheap": {Input: 0.1, Output: 0.4},
		"short": {Input: 0.05, Output: 0.1},
	}}
}

// perRequest is the hand-computed cost of one fixture request.
func perRequest(length int, p Price) float64 {
	return (float64(length+10)*p.Input + 8*p.Output) / 1e6
}

func mustRequire(t *testing.T, s string) *Requirement {
	t.Helper()
	r, err := ParseRequirement(s)
	if err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestChooseTarget(t *testing.T) {
	obj, _ := ParseSLO("ttft_p95=2s")
	prices := comparePrices()
	tests := []struct {
		name     string
		req      string
		prices   Prices
		choice   string // "" for none
		rankedBy string
		order    []string
		reasons  map[string]string
		answer   string
	}{
		{
			name: "cheapest of two covering", req: "length=16k,rate=2", prices: prices,
			choice: "mid", rankedBy: RankedByCost, order: []string{"mid", "fast", "cheap", "short"},
			reasons: map[string]string{
				"cheap": "effective context 4k < 16k (accuracy 0.50 < 0.85 at length 16000); no tested rate held every objective at 16k (lightest, 1/s: accuracy 0.50 < 0.85)",
				"short": "no tested length >= 16k (longest tested 4k): the run cannot say",
			},
			answer: "cheapest target for length 16k at 2/s: mid ($0.00802/request)",
		},
		{
			name: "only one sustains the rate", req: "length=16k,rate=4", prices: prices,
			choice: "fast", rankedBy: RankedByCost, order: []string{"fast", "cheap", "mid", "short"},
			reasons: map[string]string{"mid": "max rate 2/s < 4/s at 16k"},
			answer:  "cheapest target for length 16k at 4/s: fast ($0.016/request)",
		},
		{
			name: "a short length lets the cheapest in", req: "length=1k,rate=8", prices: prices,
			choice: "short", rankedBy: RankedByCost, order: []string{"short", "cheap", "fast", "mid"},
			reasons: map[string]string{"mid": "max rate 2/s < 8/s at 1k"},
		},
		{
			name: "an untested length is read at the next tested one", req: "length=8k,rate=2", prices: prices,
			choice: "mid", order: []string{"mid", "fast", "cheap", "short"},
			reasons: map[string]string{"short": "no tested length >= 8k (longest tested 4k)"},
		},
		{
			name: "the requirement's latency is stricter", req: "length=16k,rate=1,ttft_p95=200ms", prices: prices,
			choice: "mid", order: []string{"mid", "cheap", "fast", "short"},
			reasons: map[string]string{"fast": "ttft_p95 300ms > 200ms at 16k, 1/s"},
		},
		{
			name: "no target meets it", req: "length=16k,rate=4,ttft_p95=200ms", prices: prices,
			order: []string{"cheap", "fast", "mid", "short"},
			reasons: map[string]string{
				"fast": "ttft_p95 300ms > 200ms at 16k, 4/s",
				"mid":  "max rate 2/s < 4/s at 16k",
			},
			answer: "no target covers length 16k at 4/s, ttft_p95 <= 200ms (cheap: effective context 4k < 16k",
		},
		{
			name: "length beyond every tested one", req: "length=32k,rate=1", prices: prices,
			order:   []string{"cheap", "fast", "mid", "short"},
			reasons: map[string]string{"fast": "no tested length >= 32k (longest tested 16k)", "mid": "no tested length >= 32k"},
		},
		{
			name: "no prices: ranked by max rate", req: "length=16k,rate=1",
			choice: "fast", rankedBy: RankedByRate, order: []string{"fast", "mid", "cheap", "short"},
			answer: "best target for length 16k at 1/s: fast (cost unknown",
		},
		{
			name: "a stricter accuracy shortens the effective context", req: "length=16k,rate=1,accuracy=0.95", prices: prices,
			choice: "mid", order: []string{"mid", "cheap", "fast", "short"},
			reasons: map[string]string{"fast": "effective context 4k < 16k (accuracy 0.90 < 0.95 at length 16000)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Build(nil, compareFixture(), Options{Objectives: obj, Prices: tt.prices, Requirement: mustRequire(t, tt.req)})
			if err != nil {
				t.Fatal(err)
			}
			var order []string
			for _, c := range s.Candidates {
				order = append(order, c.Target)
			}
			if !slices.Equal(order, tt.order) {
				t.Errorf("candidates %v, want %v", order, tt.order)
			}
			switch {
			case tt.choice == "" && s.Choice != nil:
				t.Errorf("choice %s, want none", s.Choice.Target)
			case tt.choice != "" && (s.Choice == nil || s.Choice.Target != tt.choice):
				t.Errorf("choice %+v, want %s", s.Choice, tt.choice)
			}
			if tt.rankedBy != "" && s.RankedBy != tt.rankedBy {
				t.Errorf("ranked by %q, want %q", s.RankedBy, tt.rankedBy)
			}
			for _, c := range s.Candidates {
				want, ok := tt.reasons[c.Target]
				if !ok {
					continue
				}
				if got := strings.Join(c.Reasons, "; "); !strings.Contains(got, want) || c.Covers {
					t.Errorf("%s: covers %v, reasons %q, want %q", c.Target, c.Covers, got, want)
				}
			}
			for i, c := range s.Candidates {
				if c.Covers != (c.Rank > 0) || (c.Covers && c.Rank != i+1) {
					t.Errorf("%s: covers %v rank %d at place %d", c.Target, c.Covers, c.Rank, i+1)
				}
				if c.Covers && (c.At == nil || len(c.Reasons) > 0) {
					t.Errorf("%s covers without a point, or with reasons %q", c.Target, c.Reasons)
				}
			}
			if !strings.HasPrefix(s.Answer, tt.answer) {
				t.Errorf("answer %q, want it to start with %q", s.Answer, tt.answer)
			}
			if !strings.Contains(s.Text(), s.Answer) {
				t.Errorf("Text() lacks the answer %q", s.Answer)
			}
		})
	}
}

func TestChoicePointAndCost(t *testing.T) {
	obj, _ := ParseSLO("ttft_p95=2s")
	prices := comparePrices()
	s, err := Build(nil, compareFixture(), Options{Objectives: obj, Prices: prices, Requirement: mustRequire(t, "length=16k,rate=2")})
	if err != nil {
		t.Fatal(err)
	}
	// mid at 16k: the lightest passing point at or above 2/s is 2/s; its max
	// rate there is 2/s; every request cost (16010 x 0.5 + 8 x 1.5) / 1e6.
	c := s.Choice
	want := perRequest(16000, prices.Targets["mid"])
	if c == nil || c.Length != 16000 || c.At == nil || !near(c.At.Rate, 2) || c.MaxRate == nil || !near(*c.MaxRate, 2) {
		t.Fatalf("choice %+v, want mid at 16000, 2/s", c)
	}
	if c.At.Cost == nil || !near(c.At.Cost.PerRequest, want) || !near(c.At.Cost.Total, 20*want) || c.At.Cost.PerCorrect == nil || !near(*c.At.Cost.PerCorrect, want) {
		t.Errorf("cost at the choice %+v, want %v per request and per correct answer", c.At.Cost, want)
	}
	// fast, second: per correct answer is 10 requests over 9 right.
	f := s.Candidates[1]
	wantF := perRequest(16000, prices.Targets["fast"])
	if f.Target != "fast" || f.At == nil || !near(f.At.Rate, 2) || !near(*f.MaxRate, 8) || !near(f.At.Cost.PerRequest, wantF) || !near(*f.At.Cost.PerCorrect, 10*wantF/9) {
		t.Errorf("fast %+v, want the 2/s point at %v per request, max rate 8", f, wantF)
	}

	// summary.json carries requirement, choice and candidates.
	var buf bytes.Buffer
	if err := WriteJSON(&buf, s); err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	var req Requirement
	var choice Candidate
	var cands []Candidate
	if err := errorsJoin(json.Unmarshal(raw["requirement"], &req), json.Unmarshal(raw["choice"], &choice), json.Unmarshal(raw["candidates"], &cands)); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	if req.Length != 16000 || req.Rate != 2 || choice.Target != "mid" || len(cands) != 4 || cands[2].Covers || len(cands[2].Reasons) == 0 {
		t.Errorf("summary.json requirement %+v choice %s candidates %d", req, choice.Target, len(cands))
	}
}

func errorsJoin(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func TestCostFigures(t *testing.T) {
	prices := comparePrices()
	s, err := Build(nil, compareFixture(), Options{Prices: prices})
	if err != nil {
		t.Fatal(err)
	}
	per := func(target string, length int) float64 { return perRequest(length, prices.Targets[target]) }
	var total float64
	for _, ts := range s.Targets {
		var lengths []int
		var correct int
		switch ts.Target {
		case "fast":
			lengths, correct = []int{1000, 4000, 16000}, 4*(20+20+18)
		case "mid":
			lengths, correct = []int{1000, 4000, 16000}, 4*60
		case "cheap":
			lengths, correct = []int{1000, 4000, 16000}, 4*(20+18+10)
		case "short":
			lengths, correct = []int{1000, 4000}, 4*40
		}
		var measured float64
		for _, l := range lengths {
			measured += 4 * 20 * per(ts.Target, l) // four stages of twenty requests
		}
		spend := measured
		if ts.Target == "fast" {
			spend += per("fast", 1000) // the warm-up request
		}
		total += spend
		n := float64(4 * 20 * len(lengths))
		if ts.Cost == nil || !near(ts.Cost.Total, measured) || !near(ts.Cost.PerRequest, measured/n) || !near(*ts.Cost.PerCorrect, measured/float64(correct)) {
			t.Errorf("%s: cost %+v, want %v in all over %v requests and %d correct", ts.Target, ts.Cost, measured, n, correct)
		}
		if ts.Spend == nil || !near(*ts.Spend, spend) {
			t.Errorf("%s: spend %v, want %v (warm-up included)", ts.Target, ts.Spend, spend)
		}
	}
	if s.Spend == nil || !near(*s.Spend, total) || s.Currency != "USD" {
		t.Errorf("run spend %v %s, want %v USD", s.Spend, s.Currency, total)
	}
	for _, c := range s.Cells {
		want := per(c.Target, c.Length)
		if c.Cost == nil || !near(c.Cost.PerRequest, want) || !near(c.Cost.Total, 20*want) {
			t.Errorf("cell %s %s %d: cost %+v, want %v per request", c.Target, c.StageLabel, c.Length, c.Cost, want)
		}
	}
	for _, et := range s.Envelope.Targets {
		for _, el := range et.Lengths {
			for _, p := range el.Points {
				want := per(et.Target, el.Length)
				if p.Cost == nil || !near(p.Cost.PerRequest, want) {
					t.Errorf("point %s %d %v/s: cost %+v, want %v", et.Target, el.Length, p.Rate, p.Cost, want)
				}
			}
		}
	}

	// records.csv: a cost per record, exact.
	var buf bytes.Buffer
	if err := WriteCSV(&buf, s); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col, tcol, lcol := slices.Index(rows[0], "cost"), slices.Index(rows[0], "target"), slices.Index(rows[0], "length")
	if col < 0 {
		t.Fatal("records.csv has no cost column")
	}
	for _, row := range rows[1:] {
		l, _ := strconv.Atoi(row[lcol])
		got, err := strconv.ParseFloat(row[col], 64)
		if want := per(row[tcol], l); err != nil || !near(got, want) {
			t.Errorf("csv cost %q for %s at %d, want %v", row[col], row[tcol], l, want)
		}
	}

	// Without prices there is no cost anywhere, and the csv column is empty.
	s, _ = Build(nil, compareFixture(), Options{})
	if s.Spend != nil || s.Targets[0].Cost != nil || s.Cells[0].Cost != nil {
		t.Error("cost figures without prices")
	}
	buf.Reset()
	WriteCSV(&buf, s)
	rows, _ = csv.NewReader(&buf).ReadAll()
	if rows[1][col] != "" {
		t.Errorf("csv cost %q without prices, want empty", rows[1][col])
	}
}

func TestRecordCost(t *testing.T) {
	pr := Price{Input: 2, Output: 10, Cached: 1}
	tests := []struct {
		name string
		r    run.Record
		want float64
	}{
		{"server count", run.Record{PromptTokensClient: 1000, PromptTokensServer: 1100, OutputTokens: 10}, (1100*2 + 10*10) / 1e6},
		{"client count when the server sent none", run.Record{PromptTokensClient: 1000, OutputTokens: 10}, (1000*2 + 10*10) / 1e6},
		{"cached tokens", run.Record{PromptTokensClient: 1000, PromptTokensServer: 1100, CachedTokens: 600, OutputTokens: 10}, (500*2 + 600*1 + 10*10) / 1e6},
		{"rejected: nothing counted, nothing sent", run.Record{PromptTokensClient: 1000, ErrorClass: run.ErrRateLimited, Status: 429}, 0},
		{"failed mid-stream: billed", run.Record{PromptTokensClient: 1000, OutputTokens: 4, ErrorClass: run.ErrServerError}, (1000*2 + 4*10) / 1e6},
		{"cached price 0 is the input price", run.Record{PromptTokensServer: 100, CachedTokens: 50}, 0},
	}
	for _, tt := range tests {
		p := pr
		if strings.HasPrefix(tt.name, "cached price 0") {
			p, tt.want = Price{Input: 3}, 100*3/1e6
		}
		if got := p.RecordCost(&tt.r); math.Abs(got-tt.want) > 1e-15 {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSearchSteps(t *testing.T) {
	// One stage per (length, rate), as a rate search runs them: at 4k
	// 1, 2, 4 then 3 per second; at 16k 1 then 2.
	type step struct {
		length int
		rate   float64
		ttft   time.Duration
	}
	steps := []step{{4000, 1, 100 * time.Millisecond}, {4000, 2, 100 * time.Millisecond}, {4000, 4, 3 * time.Second}, {4000, 3, time.Second},
		{16000, 1, 500 * time.Millisecond}, {16000, 2, 3 * time.Second}}
	var recs []run.Record
	for i, st := range steps {
		group := interleave(stage("srch", i, st.rate, st.length, 50, 20, 20, st.ttft))
		for j := range group {
			group[j].StageLabel = fmt.Sprintf("search len=%dk rate=%g/s", st.length/1000, st.rate)
		}
		recs = append(recs, group...)
	}
	obj, _ := ParseSLO("ttft_p95=2s")
	s, err := Build(nil, recs, Options{Objectives: obj})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Targets[0].Steps
	var order []string
	for _, st := range got {
		order = append(order, fmt.Sprintf("%d@%.3g:%v", st.Length, st.Rate, st.Pass))
	}
	want := []string{"4000@1:true", "4000@2:true", "4000@4:false", "4000@3:true", "16000@1:true", "16000@2:false"}
	if !slices.Equal(order, want) {
		t.Errorf("steps %v, want %v (per length, in the order run)", order, want)
	}
	if r := strings.Join(got[2].Reasons, ";"); !strings.Contains(r, "ttft_p95 3s > 2s") || got[2].StageLabel != "search len=4k rate=4/s" || got[2].Requests != 20 {
		t.Errorf("step 3: %+v", got[2])
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "Search steps") || !strings.Contains(md.String(), `| 4k | search len=4k rate=4/s | - | 4/s | 20 | fail: ttft\_p95 3s \> 2s |`) {
		t.Errorf("summary.md lacks the search steps:\n%s", md.String())
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), "<h3>Search steps</h3>") {
		t.Error("report.html lacks the search steps")
	}

	// A run whose stages mix lengths has no steps table.
	s, _ = Build(nil, compareFixture(), Options{})
	for _, ts := range s.Targets {
		if ts.Steps != nil {
			t.Errorf("%s: steps %v for stages holding several lengths", ts.Target, ts.Steps)
		}
	}
}

func TestComparisonOutputs(t *testing.T) {
	obj, _ := ParseSLO("ttft_p95=2s")
	recs := compareFixture()
	for i := range recs {
		if recs[i].Target == "cheap" {
			recs[i].Target = "cheap " + planted
		}
	}
	prices := comparePrices()
	prices.Targets["cheap "+planted] = prices.Targets["cheap"]
	s, err := Build(nil, recs, Options{Objectives: obj, Prices: prices, Requirement: mustRequire(t, "length=16k,rate=2")})
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, s); err != nil {
		t.Fatal(err)
	}
	html := page.String()
	if strings.Contains(html, planted) {
		t.Error("a planted <script> in a target name came out unescaped")
	}
	for _, kind := range []string{ChartCompareAccuracy, ChartCompareTTFT, ChartCompareEnvelope, ChartCompareCost} {
		svg := figureSVG(html, kind)
		if svg == "" {
			t.Errorf("no inline SVG for %s", kind)
			continue
		}
		// One legend entry per target, escaped.
		for _, name := range []string{"fast", "mid", "short", "cheap &lt;script&gt;"} {
			if !strings.Contains(svg, ">"+name) {
				t.Errorf("%s: no legend entry %q", kind, name)
			}
		}
	}
	if figureSVG(html, ChartCompareTTFT) != "" && !strings.Contains(html, "at 4k, the longest length every target was tested at") {
		t.Error("the latency comparison does not say which length it is drawn at")
	}
	for _, want := range []string{`id="comparison"`, `id="candidates"`, "Requirement: length 16k at 2/s", "cheapest target for length 16k at 2/s: mid ($0.00802/request)", "not tested", "effective context 4k &lt; 16k"} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	// The requirement sits right below the envelope, before any target.
	if a, b, c := strings.Index(html, `id="comparison"`), strings.Index(html, `id="requirement"`), strings.Index(html, `id="target-`); !(a < b && b < c) {
		t.Errorf("order: comparison at %d, requirement at %d, first target at %d", a, b, c)
	}

	var md bytes.Buffer
	if err := WriteMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Requirement: length 16k at 2/s", "**cheapest target for length 16k at 2/s: mid ($0.00802/request)**", "| fast | 16k |", "## Cost"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("summary.md lacks %q", want)
		}
	}
	if strings.Contains(md.String(), "<script>") {
		t.Error("summary.md carries a raw <script>")
	}
}

// figureSVG returns the inline SVG of the figure of a chart kind, or "".
func figureSVG(page, kind string) string {
	i := strings.Index(page, `data-chart="`+kind+`"`)
	if i < 0 {
		return ""
	}
	rest := page[i:]
	end := strings.Index(rest, "</figure>")
	if end < 0 {
		return ""
	}
	rest = rest[:end]
	j := strings.Index(rest, "<svg")
	if j < 0 {
		return ""
	}
	return rest[j:]
}

func TestSingleTargetHasNoComparison(t *testing.T) {
	s, err := Build(nil, envelopeFixture(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, s); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{ChartCompareAccuracy, ChartCompareTTFT, ChartCompareEnvelope, ChartCompareCost} {
		if strings.Contains(page.String(), kind) {
			t.Errorf("a single-target report has the comparison chart %s", kind)
		}
	}
	if strings.Contains(page.String(), `id="comparison"`) || strings.Contains(page.String(), `id="requirement"`) {
		t.Error("a single-target report without a requirement has a comparison or requirement section")
	}
}

// TestWriteComparisonRun writes a whole run directory of the comparison
// fixture (kept under $NEEDLESTORM_ARTIFACTS when set, for looking at).
func TestWriteComparisonRun(t *testing.T) {
	dir := t.TempDir()
	if d := os.Getenv("NEEDLESTORM_ARTIFACTS"); d != "" {
		dir = filepath.Join(d, "comparison-run")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	recs := compareFixture()
	var buf bytes.Buffer
	for i := range recs {
		recs[i].Seq = int64(i)
		b, _ := json.Marshal(&recs[i])
		buf.Write(append(b, '\n'))
	}
	if err := os.WriteFile(filepath.Join(dir, run.RecordsFile), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	obj, _ := ParseSLO("ttft_p95=2s,e2e_p95=5s")
	raw, _ := json.Marshal(obj)
	if err := run.WriteManifest(dir, &run.Manifest{Tool: "needlestorm", Version: "test", StartedAt: t0, EndedAt: t0.Add(5 * time.Hour), Status: run.StatusComplete, Records: int64(len(recs)), Objectives: raw}); err != nil {
		t.Fatal(err)
	}
	s, err := Write(dir, Options{Objectives: obj, Prices: comparePrices(), Requirement: mustRequire(t, "length=16k,rate=2")})
	if err != nil {
		t.Fatal(err)
	}
	if s.Choice == nil || s.Choice.Target != "mid" {
		t.Errorf("choice %+v, want mid", s.Choice)
	}
	b, err := os.ReadFile(filepath.Join(dir, JSONFile))
	if err != nil || !bytes.Contains(b, []byte(`"choice"`)) || !bytes.Contains(b, []byte(`"candidates"`)) || !bytes.Contains(b, []byte(`"requirement"`)) {
		t.Errorf("summary.json lacks the requirement's answer: %v", err)
	}
	t.Logf("report: %s", filepath.Join(dir, HTMLFile))
}
