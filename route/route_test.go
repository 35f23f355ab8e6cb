package route

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/needlestorm/needlestorm/reports"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const exampleRouting = "../examples/routing/routing.yaml"

// tiersRoutes routes the example routing file over one run of the three
// fixture tiers.
func tiersRoutes(t *testing.T, extra ...Job) *Routes {
	t.Helper()
	f, err := Load(exampleRouting)
	if err != nil {
		t.Fatal(err)
	}
	f.Path = "examples/routing/routing.yaml"
	f.Jobs = append(f.Jobs, extra...)
	fleet, err := Merge(Input{Path: "runs/tiers", Envelope: fixtureEnvelope(t, "tiers", fixtureStart, fixtureTiers)})
	if err != nil {
		t.Fatal(err)
	}
	return Decide(f, fleet)
}

func decision(t *testing.T, r *Routes, job string) *Decision {
	t.Helper()
	for i := range r.Decisions {
		if r.Decisions[i].Job.Name == job {
			return &r.Decisions[i]
		}
	}
	t.Fatalf("no decision for job %s", job)
	return nil
}

func candidate(t *testing.T, d *Decision, target string) *Candidate {
	t.Helper()
	for i := range d.Candidates {
		if d.Candidates[i].Target == target {
			return &d.Candidates[i]
		}
	}
	t.Fatalf("job %s: no candidate %s", d.Job.Name, target)
	return nil
}

// TestRouteExampleTiers: each job of examples/routing/routing.yaml lands
// on the expected tier with the expected fallbacks, and every other target
// is rejected for the expected reason.
func TestRouteExampleTiers(t *testing.T) {
	r := tiersRoutes(t)
	tests := []struct {
		job       string
		chosen    string
		fallbacks []string
		rejected  map[string]string // target -> part of its reasons
	}{
		{"tag-tickets", "small", []string{"medium"}, map[string]string{"large": "ttft_p95 650ms > 500ms at 1k"}},
		{"review-code", "medium", []string{"large"}, map[string]string{"small": "a small model: the job needs medium or larger"}},
		{"summarize-contracts", "large", nil, map[string]string{
			"medium": "effective context 4k < 16k", "small": "a small model: the job needs large or larger",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.job, func(t *testing.T) {
			d := decision(t, r, tt.job)
			c := d.Chosen()
			if c == nil || c.Target != tt.chosen {
				t.Fatalf("chosen %v, want %s (%s)", c, tt.chosen, d.Summary())
			}
			var fb []string
			for _, f := range d.Fallbacks() {
				fb = append(fb, f.Target)
			}
			if !slices.Equal(fb, tt.fallbacks) {
				t.Errorf("fallbacks %v, want %v", fb, tt.fallbacks)
			}
			for target, want := range tt.rejected {
				c := candidate(t, d, target)
				if c.Covers || !strings.Contains(strings.Join(c.Reasons, "; "), want) {
					t.Errorf("%s: covers %v, reasons %q, want a rejection for %q", target, c.Covers, c.Reasons, want)
				}
			}
		})
	}
	if u := r.Uncovered(); len(u) != 0 {
		t.Errorf("uncovered %v, want none", u)
	}
}

// TestRouteUncovered: a job beyond every envelope is reported uncovered,
// with each target's reason, and left out of the LiteLLM config.
func TestRouteUncovered(t *testing.T) {
	r := tiersRoutes(t, Job{Name: "read-whole-books", Tier: TierLarge, Context: 100000, Rate: 1})
	if u := r.Uncovered(); !slices.Equal(u, []string{"read-whole-books"}) {
		t.Fatalf("uncovered %v, want [read-whole-books]", u)
	}
	d := decision(t, r, "read-whole-books")
	large := candidate(t, d, "large")
	if large.Covers || !strings.Contains(strings.Join(large.Reasons, "; "), "no tested length >= 100k") {
		t.Errorf("large: %q, want 'no tested length >= 100k'", large.Reasons)
	}
	if s := d.Summary(); !strings.Contains(s, "NOT COVERED") || !strings.Contains(s, "large:") {
		t.Errorf("summary %q", s)
	}
	for _, dep := range r.LiteLLM().ModelList {
		if strings.HasPrefix(dep.ModelName, "read-whole-books") {
			t.Errorf("uncovered job in model_list: %+v", dep)
		}
	}
	j := r.JSON()
	if !slices.Equal(j.Uncovered, []string{"read-whole-books"}) || j.Jobs[3].Route != nil || j.Jobs[3].Covered {
		t.Errorf("JSON uncovered %v, job %+v", j.Uncovered, j.Jobs[3])
	}
	if txt := r.Text(); !strings.Contains(txt, "1 job(s) not covered: read-whole-books") {
		t.Errorf("text:\n%s", txt)
	}
}

// TestRouteLimits: every deployment's max_input_tokens is the measured
// effective context, rpm never exceeds the rate held, and a ceiling rate
// is marked as a lower bound in every output.
func TestRouteLimits(t *testing.T) {
	r := tiersRoutes(t)
	byGroup := map[string]*Candidate{}
	for i := range r.Decisions {
		d := &r.Decisions[i]
		byGroup[d.Job.Name] = d.Chosen()
		for _, f := range d.Fallbacks() {
			byGroup[FallbackGroup(d.Job.Name, f.Target)] = f
		}
	}
	cfg := r.LiteLLM()
	if len(cfg.ModelList) != len(byGroup) {
		t.Fatalf("%d deployments, want %d", len(cfg.ModelList), len(byGroup))
	}
	for _, dep := range cfg.ModelList {
		c := byGroup[dep.ModelName]
		if c == nil {
			t.Fatalf("deployment %s names no route", dep.ModelName)
		}
		et := c.Measurement.Target
		if dep.ModelInfo.MaxInputTokens != et.EffectiveContextLength {
			t.Errorf("%s: max_input_tokens %d, want the effective context %d", dep.ModelName, dep.ModelInfo.MaxInputTokens, et.EffectiveContextLength)
		}
		if et.Window != nil && dep.ModelInfo.MaxInputTokens > et.Window.Tokens {
			t.Errorf("%s: max_input_tokens %d above the measured window %d", dep.ModelName, dep.ModelInfo.MaxInputTokens, et.Window.Tokens)
		}
		el := c.Length()
		if el == nil || el.MaxRate == nil {
			t.Fatalf("%s: no max rate", dep.ModelName)
		}
		if rpm := dep.LiteLLMParams.RPM; rpm <= 0 || float64(rpm) > *el.MaxRate*60 {
			t.Errorf("%s: rpm %d, want above 0 and at most %v/s x 60", dep.ModelName, rpm, *el.MaxRate)
		}
		if tpm, want := dep.LiteLLMParams.TPM, float64(dep.LiteLLMParams.RPM)*el.At.Tokens.Total(); tpm <= 0 || math.Abs(float64(tpm)-want) > 1 {
			t.Errorf("%s: tpm %d, want rpm x %v tokens = %v", dep.ModelName, tpm, el.At.Tokens.Total(), want)
		}
	}
	// small at 1k held 32/s, the highest rate tried; medium at 4k held
	// only 16/s.
	small, medium := byGroup["tag-tickets"], byGroup["review-code"]
	if !small.Ceiling() || !small.Limits().RPMLowerBound || medium.Ceiling() || medium.Limits().RPMLowerBound {
		t.Fatalf("ceilings: small %v, medium %v; want true, false", small.Ceiling(), medium.Ceiling())
	}
	var yml, js, md bytes.Buffer
	if err := WriteLiteLLM(&yml, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(yml.String(), "# tag-tickets: small from runs/tiers") || !strings.Contains(yml.String(), "length 1000, max rate 32/s; rpm is a LOWER BOUND") {
		t.Errorf("the LiteLLM config does not mark small's rpm as a lower bound:\n%s", yml.String())
	}
	if strings.Contains(yml.String(), "# review-code: medium from runs/tiers (campaign tiers, 2026-05-04T09:10:00Z) at length 4000, max rate 16/s; rpm is a LOWER BOUND") {
		t.Errorf("medium's rpm is marked a lower bound but 32/s failed")
	}
	var out RoutesJSON
	if err := json.Unmarshal(js.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if ev := out.Jobs[0].Route.Evidence; !ev.MaxRateIsLowerBound || !out.Jobs[0].Route.Limits.RPMLowerBound {
		t.Errorf("JSON: tag-tickets route %+v, want max_rate_is_lower_bound", ev)
	}
	if ev := out.Jobs[1].Route.Evidence; ev.MaxRateIsLowerBound {
		t.Errorf("JSON: review-code route marked a lower bound")
	}
	if !strings.Contains(md.String(), "| 1 | small | tag-tickets |") || !strings.Contains(md.String(), "≥ 32/s (highest tried)") {
		t.Errorf("Markdown lacks the lower bound:\n%s", md.String())
	}
}

// TestRouteEvidence: the JSON gives each route the run, length, rate and
// accuracy with its interval it rests on, and no secret of a base URL.
func TestRouteEvidence(t *testing.T) {
	r := tiersRoutes(t)
	out := r.JSON()
	if out.Schema != RoutesSchema || len(out.Sources) != 1 || out.Sources[0].Run == nil || out.Sources[0].Run.Campaign != "tiers" {
		t.Fatalf("sources %+v", out.Sources)
	}
	rt := out.Jobs[1].Route // review-code on medium
	ev := rt.Evidence
	if rt.Source.Run.Dir != "runs/tiers" || ev.Length != 4000 || ev.Rate != 8 || ev.Requests != fixtureRequests || ev.Accuracy != 1 ||
		ev.AccuracyCI[0] <= 0.8 || ev.AccuracyCI[1] != 1 || ev.CostPerCorrect == nil {
		t.Errorf("review-code evidence %+v from %+v", ev, rt.Source)
	}
	if rt.BaseURL != "http://127.0.0.1:41001/v1" {
		t.Errorf("base_url %q, want it without user, password and query", rt.BaseURL)
	}
	var all bytes.Buffer
	_ = WriteJSON(&all, r)
	_ = WriteLiteLLM(&all, r)
	_ = WriteMarkdown(&all, r)
	for _, secret := range []string{"secret", "hidden", "user:"} {
		if strings.Contains(all.String(), secret) {
			t.Errorf("an output holds %q", secret)
		}
	}
}

// TestRouteLiteLLMStrict: the golden LiteLLM config decodes strictly into
// the struct mirroring LiteLLM's documented keys, and a key LiteLLM does
// not document there fails.
func TestRouteLiteLLMStrict(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "tiers.litellm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg LiteLLMConfig
	if err := yaml.UnmarshalWithOptions(b, &cfg, yaml.DisallowUnknownField()); err != nil {
		t.Fatalf("the golden config does not decode strictly: %v", err)
	}
	if len(cfg.ModelList) != 5 || !cfg.RouterSettings.EnablePreCallChecks || len(cfg.RouterSettings.Fallbacks) != 2 {
		t.Errorf("decoded %+v", cfg)
	}
	for _, dep := range cfg.ModelList {
		if !strings.HasPrefix(dep.LiteLLMParams.Model, "openai/") || dep.LiteLLMParams.APIBase == "" || dep.ModelInfo.InputCostPerToken == nil {
			t.Errorf("deployment %+v", dep)
		}
	}
	bad := strings.Replace(string(b), "enable_pre_call_checks: true", "enable_pre_call_checks: true\n  max_input_tokens: 1", 1)
	if err := yaml.UnmarshalWithOptions([]byte(bad), &cfg, yaml.DisallowUnknownField()); err == nil {
		t.Errorf("an unknown key under router_settings decoded")
	}
}

// TestRouteGolden compares the three outputs with testdata/ (go test
// -update rewrites them).
func TestRouteGolden(t *testing.T) {
	r := tiersRoutes(t)
	for _, g := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"tiers.litellm.yaml", func(b *bytes.Buffer) error { return WriteLiteLLM(b, r) }},
		{"tiers.routes.json", func(b *bytes.Buffer) error { return WriteJSON(b, r) }},
		{"tiers.routes.md", func(b *bytes.Buffer) error { return WriteMarkdown(b, r) }},
	} {
		var got bytes.Buffer
		if err := g.write(&got); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", g.file)
		if *update {
			if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test -run Golden -update writes it)", err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s differs from the golden file (go test -run Golden -update rewrites it); got:\n%s", g.file, got.String())
		}
	}
}

// TestRouteMerge: of two runs measuring the same target, the newer wins
// whatever the order given, and the output says which run each figure came
// from and which measurement was set aside.
func TestRouteMerge(t *testing.T) {
	// An older run in which medium missed at 4k too (so covered only 1k).
	old := slices.Clone(fixtureTiers)
	old[1].point = func(length int, rate float64) (int, time.Duration, bool) {
		if length >= 4000 {
			return 5, 400 * time.Millisecond, false
		}
		return fixtureRequests, 150 * time.Millisecond, false
	}
	oldStart := fixtureStart.Add(-72 * time.Hour)
	older := Input{Path: "runs/monday", Envelope: fixtureEnvelope(t, "monday", oldStart, old[1:2])}
	newer := Input{Path: "runs/tiers", Envelope: fixtureEnvelope(t, "tiers", fixtureStart, fixtureTiers)}
	f, err := Load(exampleRouting)
	if err != nil {
		t.Fatal(err)
	}
	for _, order := range [][]Input{{older, newer}, {newer, older}} {
		fleet, err := Merge(order...)
		if err != nil {
			t.Fatal(err)
		}
		if len(fleet.Targets) != 3 || len(fleet.Superseded) != 1 || fleet.Superseded[0].Target != "medium" ||
			fleet.Superseded[0].Source.Path != "runs/monday" || fleet.Superseded[0].By.Path != "runs/tiers" {
			t.Fatalf("order %s first: targets %d, superseded %+v", order[0].Path, len(fleet.Targets), fleet.Superseded)
		}
		r := Decide(f, fleet)
		d := decision(t, r, "review-code")
		if c := d.Chosen(); c == nil || c.Target != "medium" || c.Measurement.Source.Path != "runs/tiers" {
			t.Errorf("review-code chosen %+v, want medium measured by runs/tiers", c)
		}
		var md bytes.Buffer
		_ = WriteMarkdown(&md, r)
		if !strings.Contains(md.String(), "medium from runs/monday (campaign monday, 2026-05-01T09:10:00Z) replaced by the newer runs/tiers") {
			t.Errorf("Markdown does not say which measurement was replaced:\n%s", md.String())
		}
	}
	// The older run alone: medium no longer covers review-code at 4k, and
	// large (from no run) is not there either.
	fleet, _ := Merge(older)
	d := decision(t, Decide(f, fleet), "review-code")
	if d.Covered() || !strings.Contains(strings.Join(d.Candidates[0].Reasons, "; "), "effective context 1k < 4k") {
		t.Errorf("older run alone: %s", d.Summary())
	}
}

// TestRouteBudgetAndPreference: a budget rules out a covering target, and
// prefer: fastest puts latency before cost.
func TestRouteBudgetAndPreference(t *testing.T) {
	two := 2
	r := tiersRoutes(t,
		Job{Name: "cheap-reviews", Tier: TierMedium, Context: 4000, Rate: 2, Budget: Budget{PerRequest: 0.005}},
		Job{Name: "monthly-reviews", Tier: TierMedium, Context: 4000, Rate: 1, Budget: Budget{PerMonth: 10000}},
		Job{Name: "fast-tags", Tier: TierSmall, Context: 1000, Rate: 2, Prefer: PreferFastest, Fallbacks: &two},
		Job{Name: "any-tags", Context: 1000, Rate: 2},
	)
	cheap := decision(t, r, "cheap-reviews")
	if large := candidate(t, cheap, "large"); large.Covers || !strings.Contains(strings.Join(large.Reasons, ";"), "/request > budget 0.005/request") {
		t.Errorf("large under a 0.005/request budget: %q", large.Reasons)
	}
	monthly := decision(t, r, "monthly-reviews")
	if large := candidate(t, monthly, "large"); large.Covers || !strings.Contains(strings.Join(large.Reasons, ";"), "/month at 1/s > budget 1e+04/month") {
		t.Errorf("large under a 10000/month budget: %q", large.Reasons)
	}
	if c := monthly.Chosen(); c == nil || c.Target != "medium" {
		t.Errorf("monthly-reviews chosen %v, want medium", c)
	}
	fast := decision(t, r, "fast-tags")
	var order []string
	for _, c := range fast.Candidates {
		order = append(order, c.Target)
	}
	if !slices.Equal(order, []string{"small", "medium", "large"}) || len(fast.Fallbacks()) != 2 {
		t.Errorf("fast-tags ranking %v with %d fallbacks, want small, medium, large and 2", order, len(fast.Fallbacks()))
	}
	// No tier: every target may serve it, cheapest first.
	if c := decision(t, r, "any-tags").Chosen(); c == nil || c.Target != "small" {
		t.Errorf("any-tags chosen %v, want small", c)
	}
}

// TestRouteTierUnknown: a job with a tier is not given to a target whose
// tier the routing file does not state.
func TestRouteTierUnknown(t *testing.T) {
	r := tiersRoutes(t)
	delete(r.File.Targets, "small")
	r = Decide(r.File, r.Fleet)
	d := decision(t, r, "tag-tickets")
	if c := d.Chosen(); c == nil || c.Target != "medium" {
		t.Errorf("chosen %v, want medium", c)
	}
	if small := candidate(t, d, "small"); small.Covers || !strings.Contains(small.Reasons[0], "give targets.small.tier") {
		t.Errorf("small: %q", small.Reasons)
	}
}

// TestRouteWindowCap: a target whose longer length read right although it
// does not fit the measured window (a server dropping part of the prompt
// where the needle survived) gets max_input_tokens at most the window.
func TestRouteWindowCap(t *testing.T) {
	tier := fixtureTiers[1]
	tier.window = 8192 // medium now reads 16k right but its window is 8k
	tier.point = func(length int, rate float64) (int, time.Duration, bool) {
		return fixtureRequests, 150 * time.Millisecond, false
	}
	env := fixtureEnvelope(t, "capped", fixtureStart, []fixtureTier{tier})
	et := env.Targets[0]
	if et.EffectiveContextLength != 4000 || et.Limit != reports.LimitWindow || !strings.Contains(et.LimitedBy, "context window is 8192 tokens") {
		t.Fatalf("effective context %d (%s: %s), want 4000 limited by the window", et.EffectiveContextLength, et.Limit, et.LimitedBy)
	}
	fleet, _ := Merge(Input{Path: "runs/capped", Envelope: env})
	r := Decide(&File{Jobs: []Job{{Name: "j", Context: 1000}, {Name: "long", Context: 16000}}}, fleet)
	if got := r.LiteLLM().ModelList[0].ModelInfo.MaxInputTokens; got != 4000 {
		t.Errorf("max_input_tokens %d, want 4000 (the longest tested length within the 8192-token window)", got)
	}
	if d := decision(t, r, "long"); d.Covered() || !strings.Contains(strings.Join(d.Candidates[0].Reasons, ";"), "context window is 8192 tokens") {
		t.Errorf("a 16k job on an 8k window: %s", d.Summary())
	}
}

// TestRouteFromV1Envelope: an envelope.json written before v2 still
// routes; what v1 never recorded (kind, base URL, prices, tokens) is left
// out of the LiteLLM config, and the config says so.
func TestRouteFromV1Envelope(t *testing.T) {
	env := fixtureEnvelope(t, "tiers", fixtureStart, fixtureTiers)
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	doc["schema"] = reports.EnvelopeSchemaV1
	delete(doc, "run")
	for _, tv := range doc["targets"].([]any) {
		tm := tv.(map[string]any)
		for _, k := range []string{"kind", "base_url", "prices", "currency", "context_window", "limit", "effective_context_requests"} {
			delete(tm, k)
		}
		for _, lv := range tm["lengths"].([]any) {
			lm := lv.(map[string]any)
			for _, k := range []string{"ceiling", "requests", "accuracy_ci95", "max_rate_requests", "at"} {
				delete(lm, k)
			}
			for _, pv := range lm["points"].([]any) {
				delete(pv.(map[string]any), "tokens_per_request")
			}
		}
	}
	v1, _ := json.Marshal(doc)
	old, err := reports.ReadEnvelope(bytes.NewReader(v1))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Load(exampleRouting)
	if err != nil {
		t.Fatal(err)
	}
	fleet, _ := Merge(Input{Path: "old/envelope.json", Envelope: old})
	r := Decide(f, fleet)
	for job, want := range map[string]string{"tag-tickets": "small", "review-code": "medium", "summarize-contracts": "large"} {
		if c := decision(t, r, job).Chosen(); c == nil || c.Target != want {
			t.Errorf("%s from a v1 envelope: %v, want %s", job, c, want)
		}
	}
	if c := decision(t, r, "tag-tickets").Chosen(); !c.Ceiling() || c.Limits().TPM != 0 {
		t.Errorf("v1 small: ceiling %v (recomputed from points), tpm %d (no token counts in v1)", c.Ceiling(), c.Limits().TPM)
	}
	var yml bytes.Buffer
	if err := WriteLiteLLM(&yml, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(yml.String(), "run old/envelope.json (a needlestorm.envelope/v1 envelope: kinds, base URLs and prices unknown") ||
		strings.Contains(yml.String(), "api_base:") || strings.Contains(yml.String(), "input_cost_per_token") {
		t.Errorf("LiteLLM config from a v1 envelope:\n%s", yml.String())
	}
}
