package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/probes"
	"github.com/needlestorm/needlestorm/run"
)

func TestErrorClassesMatchProbes(t *testing.T) {
	// probes cannot import loadgen; it spells context_overflow itself.
	a := probes.Assess(probes.Observation{Expected: []string{"1"}, ResponseFacts: probes.ResponseFacts{ErrorClass: run.ErrContextOverflow}})
	if a.Attribution != probes.AttrRejected {
		t.Errorf("run.ErrContextOverflow is attributed %s, want rejected", a.Attribution)
	}
}

// truncationFixture is a target with a template overhead of 10 tokens
// whose server keeps only 2048 tokens of a 4000-token prompt, every
// verdict written live as model_missed.
func truncationFixture() []run.Record {
	var recs []run.Record
	i := 0
	add := func(f fx) {
		f.target, f.i = "ollama", i
		i++
		r := f.record()
		r.Verdict = probes.Verdict{Attribution: probes.AttrModelMissed} // as written live
		recs = append(recs, r)
	}
	for range 5 { // short prompts: the overhead is measured here
		add(fx{length: 1000, depth: 50, correct: true, server: 1010, canaries: true, answer: "alpha-31 4815162 omega-77"})
	}
	for range 4 { // needle at depth 0, head dropped: the server never saw it
		add(fx{length: 4000, depth: 0, server: 2048 + 10, canaries: true, answer: "omega-77 and 1111111"})
	}
	for range 3 { // whole prompt seen, wrong anyway
		add(fx{length: 4000, depth: 50, server: 4010, canaries: true, answer: "alpha-31 1111111 omega-77"})
	}
	add(fx{length: 4000, depth: 50, server: 4010, answer: "I'm sorry, but I can't help with that."})
	add(fx{length: 8000, depth: 50, errorClass: run.ErrContextOverflow, status: 400, answer: " "})
	add(fx{length: 1000, depth: 50, finish: "length", answer: "Let me think about"})
	add(fx{length: 1000, depth: 50, errorClass: run.ErrServerError, status: 500, answer: " "})

	return recs
}

// TestAttributionTruncationVersusMiss: a server with a template overhead of
// 10 tokens that keeps only 2048 tokens of a 4000-token prompt. The live
// verdicts all say model_missed; the report must re-attribute.
func TestAttributionTruncationVersusMiss(t *testing.T) {
	recs := truncationFixture()
	s, err := Build(nil, recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := s.Targets[0]
	if !ts.OverheadKnown || ts.Overhead != 10 {
		t.Errorf("overhead %d (known %v), want 10 measured", ts.Overhead, ts.OverheadKnown)
	}
	want := map[string]int{
		probes.AttrCorrect: 5, probes.AttrServerTruncated: 4, probes.AttrModelMissed: 3,
		probes.AttrRefused: 1, probes.AttrRejected: 1, probes.AttrCutOff: 1, probes.AttrError: 1,
	}
	for k, v := range want {
		if ts.Attribution[k] != v {
			t.Errorf("attribution %s = %d, want %d (all: %v)", k, ts.Attribution[k], v, ts.Attribution)
		}
	}
	if ts.Truncation.Wrong != 4 || ts.Truncation.Cut[probes.CutHead] != 4 || ts.Truncation.NeedleLost != 4 {
		t.Errorf("truncation %+v, want 4 wrong, head cut, needle lost in all", ts.Truncation)
	}
	// The report's own verdicts (what records.csv shows) are re-attributed;
	// the records keep the verdict written live.
	for _, sc := range s.records {
		if sc.rec.Length == 4000 && sc.rec.Depth == 0 && sc.a.Attribution != probes.AttrServerTruncated {
			t.Errorf("record %s: the report kept the live attribution %s", sc.rec.CaseID, sc.a.Attribution)
		}
		if sc.rec.Attribution != probes.AttrModelMissed {
			t.Errorf("record %s: Build changed its live attribution to %s", sc.rec.CaseID, sc.rec.Attribution)
		}
	}
	if txt := s.Text(); !strings.Contains(txt, "not the model's misses") || !strings.Contains(txt, "needle was in the dropped part") {
		t.Errorf("Text() does not say the truncated misses are not the model's:\n%s", txt)
	}
}

func TestConsistencyFigures(t *testing.T) {
	answers := map[string][]string{
		// Values: 4815162 three times (worded differently, one with the
		// canary sentence), 1111111 once.
		"case-x": {"4815162", "The number is 4,815,162.", "The opening passphrase is alpha-31. The number is 4815162.", "It is 1111111."},
		// Three different values.
		"case-y": {"2222222", "3333333", "The number is 4444444."},
		"case-z": {"once"},
	}
	var recs []run.Record
	i := 0
	for _, id := range []string{"case-x", "case-y", "case-z"} {
		for rep, a := range answers[id] {
			recs = append(recs, fx{target: "c", caseID: id, repeat: rep, i: i, length: 1000, answer: a, canaries: true}.record())
			i++
		}
	}
	tests := []struct {
		name   string
		corpus string
		label  string
		asked  bool
	}{
		{"no manifest corpus", "", LabelAcrossStages, false},
		{"repeats not asked", `{"repeats":1}`, LabelAcrossStages, false},
		{"repeats asked", `{"repeats":3}`, LabelRepeats, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &run.Manifest{Status: run.StatusComplete}
			if tt.corpus != "" {
				m.Corpus = json.RawMessage(tt.corpus)
			}
			s, err := Build(m, slices.Clone(recs), Options{})
			if err != nil {
				t.Fatal(err)
			}
			c := s.Targets[0].Consistency
			// case-x: modal 4815162, 3 of 4, 2 distinct; case-y: 1 of 3, 3 distinct.
			if c.Cases != 2 || !near(c.MeanAgreement, (0.75+1.0/3)/2) || !near(c.MeanDistinct, 2.5) {
				t.Errorf("consistency %+v, want 2 cases, agreement %.3f, distinct 2.5", c, (0.75+1.0/3)/2)
			}
			if len(c.Least) == 0 || c.Least[0].CaseID != "case-y" || c.Least[0].Distinct != 3 {
				t.Errorf("least consistent %+v, want case-y first with 3 distinct answers", c.Least)
			}
			if c.Label != tt.label || c.RepeatsAsked != tt.asked {
				t.Errorf("label %q (repeats asked %v), want %q (%v)", c.Label, c.RepeatsAsked, tt.label, tt.asked)
			}
			if txt := s.Text(); !strings.Contains(txt, tt.label+": 2 cases") {
				t.Errorf("Text() does not label consistency %q:\n%s", tt.label, txt)
			}
			var md bytes.Buffer
			if err := WriteMarkdown(&md, s); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(md.String(), "| c | "+tt.label+" | 2 |") {
				t.Errorf("summary.md does not label consistency %q:\n%s", tt.label, md.String())
			}
		})
	}
}

func TestCachedShare(t *testing.T) {
	// Two cells of 4 requests each at 1000 client tokens (1010 counted by
	// the server): in the depth-0 cell every request had cached tokens,
	// in the depth-100 cell none.
	build := func(cached int, corpus string) *Summary {
		t.Helper()
		var recs []run.Record
		for i := range 8 {
			f := fx{i: i, length: 1000, correct: true}
			if i%2 == 0 {
				f.cached = cached
			} else {
				f.depth = 100
			}
			recs = append(recs, f.record())
		}
		// A failed request's usage is not counted.
		recs = append(recs, fx{i: 8, length: 1000, errorClass: run.ErrRateLimited, status: 429, cached: 999}.record())
		m := &run.Manifest{Status: run.StatusComplete, Corpus: json.RawMessage(corpus)}
		s, err := Build(m, recs, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name     string
		cached   int
		corpus   string
		share    float64
		warn     bool
		inText   string
		notInTxt string
	}{
		{"high share, cache busting asked", 505, `{"shared_prefix":false}`, 0.25, true, "25% of prompt tokens were served from the server's prefix cache: latency figures are optimistic", ""},
		{"high share, shared prefix asked", 505, `{"shared_prefix":true}`, 0.25, false, "25% of prompt tokens were served from the server's prefix cache.", "optimistic"},
		{"low share", 101, `{"shared_prefix":false}`, 0.05, false, "5.0% of prompt tokens", "optimistic"},
		{"nothing cached", 0, `{"shared_prefix":false}`, 0, false, "", "prefix cache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := build(tt.cached, tt.corpus)
			ts := s.Targets[0]
			if ts.PromptTokens != 8*1010 || ts.CachedTokens != 4*tt.cached || !near(ts.CachedShare, tt.share) {
				t.Errorf("target prompt %d, cached %d, share %v; want %d, %d, %v", ts.PromptTokens, ts.CachedTokens, ts.CachedShare, 8*1010, 4*tt.cached, tt.share)
			}
			if (ts.CacheWarning != "") != tt.warn {
				t.Errorf("cache warning %q, want one: %v", ts.CacheWarning, tt.warn)
			}
			if len(s.Cells) != 2 || !near(s.Cells[0].CachedShare, 2*tt.share) || s.Cells[1].CachedShare != 0 {
				t.Errorf("cells %+v: want the depth-0 cell at share %v and the depth-100 one at 0", s.Cells, 2*tt.share)
			}
			txt := s.Text()
			if tt.inText != "" && !strings.Contains(txt, tt.inText) {
				t.Errorf("Text() lacks %q:\n%s", tt.inText, txt)
			}
			if tt.notInTxt != "" && strings.Contains(txt, tt.notInTxt) {
				t.Errorf("Text() says %q:\n%s", tt.notInTxt, txt)
			}
			var md, html, js bytes.Buffer
			if err := WriteMarkdown(&md, s); err != nil {
				t.Fatal(err)
			}
			if err := WriteHTML(&html, s); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&js, s); err != nil {
				t.Fatal(err)
			}
			for name, out := range map[string]string{"summary.md": md.String(), "report.html": html.String()} {
				if strings.Contains(out, "latency figures are optimistic") != tt.warn {
					t.Errorf("%s: warning shown %v, want %v", name, !tt.warn, tt.warn)
				}
				if tt.cached > 0 && !strings.Contains(out, formatShare(tt.share)+" of prompt tokens") {
					t.Errorf("%s lacks the target's cached share %s", name, formatShare(tt.share))
				}
			}
			if tt.cached > 0 && !strings.Contains(html.String(), `<td data-v="`+fmt.Sprint(2*tt.share)+`">`+formatShare(2*tt.share)+`</td>`) {
				t.Errorf("report.html lacks the depth-0 cell's cached share %s", formatShare(2*tt.share))
			}
			var back struct {
				Targets []struct {
					CachedShare  float64 `json:"cached_share"`
					CacheWarning string  `json:"cache_warning"`
				} `json:"targets"`
				Cells []struct {
					CachedShare float64 `json:"cached_share"`
				} `json:"cells"`
			}
			if err := json.Unmarshal(js.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			if !near(back.Targets[0].CachedShare, tt.share) || (back.Targets[0].CacheWarning != "") != tt.warn || !near(back.Cells[0].CachedShare, 2*tt.share) {
				t.Errorf("summary.json %+v: want target share %v (warning %v), first cell %v", back, tt.share, tt.warn, 2*tt.share)
			}
		})
	}
}

func TestRatesGoodputAndCost(t *testing.T) {
	// 10 requests scheduled at 2/s; e2e 1s for the first 6, 5s for the
	// rest; the first 4 correct. One warm-up record at a wild time.
	var recs []run.Record
	for i := range 10 {
		e2e := time.Second
		if i >= 6 {
			e2e = 5 * time.Second
		}
		recs = append(recs, fx{target: "g", rate: 2, i: i, length: 1000, correct: i < 4, e2e: e2e,
			server: 1010, cached: 10, output: 8, gaps: []time.Duration{10 * time.Millisecond, 30 * time.Millisecond}}.record())
	}
	w := fx{target: "g", rate: 2, i: 1000, length: 1000, warmup: true, e2e: time.Hour}.record()
	recs = append(recs, w)
	obj, _ := ParseSLO("e2e_p50=2s")
	prices := Prices{Currency: "USD", Targets: map[string]Price{"g": {Input: 1, Output: 2, Cached: 0.5}}}
	s, err := Build(nil, recs, Options{Objectives: obj, Prices: prices})
	if err != nil {
		t.Fatal(err)
	}
	if s.Run.Warmup != 1 || len(s.Cells) != 1 {
		t.Fatalf("warm-up %d, cells %d; want 1 and 1", s.Run.Warmup, len(s.Cells))
	}
	c := s.Cells[0]
	if c.Requests != 10 || !near(c.Rate, 2) {
		t.Errorf("requests %d rate %v, want 10 at 2/s (warm-up left out)", c.Requests, c.Rate)
	}
	if c.Good != 6 || !near(c.Goodput, 1.2) || c.CorrectGood != 4 || !near(c.CorrectGoodput, 0.8) {
		t.Errorf("good %d goodput %v correct good %d correct goodput %v, want 6, 1.2, 4, 0.8", c.Good, c.Goodput, c.CorrectGood, c.CorrectGoodput)
	}
	if !near(c.E2E.P50, 1) || !near(c.E2E.P95, 5) || c.ChunkGap.N != 20 || !near(c.ChunkGap.P50, 0.01) || !near(c.ChunkGap.P95, 0.03) {
		t.Errorf("e2e %+v chunk gaps %+v", c.E2E, c.ChunkGap)
	}
	lo, hi := Wilson(4, 10)
	if !near(c.Accuracy, 0.4) || c.AccuracyCI != [2]float64{lo, hi} {
		t.Errorf("accuracy %v %v, want 0.4 %v", c.Accuracy, c.AccuracyCI, [2]float64{lo, hi})
	}
	// Per request: (1000 input at 1 + 10 cached at 0.5 + 8 output at 2)
	// per million tokens, where input is the server's 1010 minus 10 cached.
	per := (1000*1 + 10*0.5 + 8*2) / 1e6
	if c.Cost == nil || !near(c.Cost.Total, 10*per) || !near(c.Cost.PerRequest, per) || c.Cost.PerCorrect == nil || !near(*c.Cost.PerCorrect, 10*per/4) {
		t.Errorf("cost %+v, want %v per request", c.Cost, per)
	}
}

func TestBuildRejectsBadThreshold(t *testing.T) {
	if _, err := Build(nil, nil, Options{Objectives: Objectives{Accuracy: 85}}); err == nil || !strings.Contains(err.Error(), "between 0 and 1") {
		t.Errorf("Build with accuracy 85: %v, want an error asking for a fraction", err)
	}
}

func BenchmarkBuild100k(b *testing.B) {
	var recs []run.Record
	lengths := []int{1000, 2000, 4000, 8000, 16000, 32000}
	depths := []float64{0, 25, 50, 75, 100}
	for i := range 100_000 {
		st := i / 25_000
		recs = append(recs, fx{
			target: []string{"a", "b"}[i%2], stage: st, rate: float64(int(1) << st), i: i % 25_000,
			length: lengths[i%len(lengths)], depth: depths[(i/7)%len(depths)], correct: i%5 != 0,
			caseID: "case-" + string(rune('a'+i%26)), ttft: time.Duration(50+i%300) * time.Millisecond,
			gaps: []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond},
		}.record())
	}
	obj, _ := ParseSLO("ttft_p95=200ms,e2e_p95=1s,error_rate=0.01")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(nil, recs, Options{Objectives: obj}); err != nil {
			b.Fatal(err)
		}
	}
}
