package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/route"
	"github.com/needlestorm/needlestorm/run"
)

// routeTestEnvelope writes an envelope.json of two targets measured at
// 1000 and 4000 tokens, at 2 and 4 requests per second: "cheap" reads
// only 1000 right, "dear" both. It returns the file's path.
func routeTestEnvelope(t *testing.T, dir string) string {
	t.Helper()
	start := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	var recs []run.Record
	stage := map[string]int{}
	for _, target := range []string{"cheap", "dear"} {
		for _, l := range []int{1000, 4000} {
			for _, rate := range []float64{2, 4} {
				for i := range 20 {
					sched := start.Add(time.Duration(stage[target])*time.Minute + time.Duration(float64(i)/rate*float64(time.Second)))
					ans := "The number is 4815162."
					if target == "cheap" && l == 4000 {
						ans = "I cannot find it."
					}
					recs = append(recs, run.Record{
						Schema: run.RecordSchema, Target: target, Model: "m-" + target, Stage: stage[target], StageLabel: fmt.Sprintf("rate=%g/s", rate),
						CaseID: fmt.Sprintf("c-%d-%d", l, i%2), Task: "single", Length: l, Expected: []string{"4815162"},
						ScheduledAt: sched, SentAt: sched, TTFT: run.Seconds(100 * time.Millisecond), E2E: run.Seconds(300 * time.Millisecond),
						PromptTokensClient: l, PromptTokensServer: l + 7, OutputTokens: 8, Status: 200, FinishReason: "stop", Answer: ans,
					})
				}
				stage[target]++
			}
		}
	}
	m := &run.Manifest{
		Schema: run.ManifestSchema, Tool: "needlestorm", Campaign: "pair", StartedAt: start, EndedAt: start.Add(time.Hour), Status: run.StatusComplete,
		Targets: json.RawMessage(`[{"name":"cheap","kind":"openai","base_url":"http://127.0.0.1:9/v1","api_key_env":"CHEAP_KEY","prices":{"input":0.1,"output":0.2},"currency":"USD"},
			{"name":"dear","kind":"anthropic","base_url":"https://api.anthropic.com","prices":{"input":3,"output":15},"currency":"USD"}]`),
	}
	prices, err := reports.PricesFromManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	s, err := reports.Build(m, recs, reports.Options{Prices: prices})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "envelope.json")
	var b bytes.Buffer
	if err := reports.WriteEnvelope(&b, s.Envelope); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func routeTestFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRouteCommand(t *testing.T) {
	dir := t.TempDir()
	env := routeTestEnvelope(t, dir)
	good := routeTestFile(t, dir, "good.yaml", `targets: {cheap: {tier: small}, dear: {tier: large}}
jobs:
  - {name: short, tier: small, context: 1k, rate: 2}
  - {name: long, tier: small, context: 4k, rate: 2}
`)
	uncovered := routeTestFile(t, dir, "uncovered.yaml", "jobs:\n  - {name: short, context: 1k}\n  - {name: huge, context: 32k}\n")

	// LiteLLM to standard output (flags after the argument), the answer
	// on standard error.
	out, errOut, err := runTestApp(t, "route", env, "--routing", good)
	if err != nil {
		t.Fatalf("route: %v\n%s", err, errOut)
	}
	var cfg route.LiteLLMConfig
	if err := yaml.UnmarshalWithOptions([]byte(out), &cfg, yaml.DisallowUnknownField()); err != nil {
		t.Fatalf("the LiteLLM config does not decode strictly: %v\n%s", err, out)
	}
	models := map[string]string{}
	for _, d := range cfg.ModelList {
		models[d.ModelName] = d.LiteLLMParams.Model + " " + d.LiteLLMParams.APIKey + " " + d.LiteLLMParams.APIBase
	}
	want := map[string]string{
		"short":      "openai/m-cheap os.environ/CHEAP_KEY http://127.0.0.1:9/v1",
		"short.dear": "anthropic/m-dear os.environ/ANTHROPIC_API_KEY https://api.anthropic.com",
		"long":       "anthropic/m-dear os.environ/ANTHROPIC_API_KEY https://api.anthropic.com",
	}
	if fmt.Sprint(models) != fmt.Sprint(want) {
		t.Errorf("model_list %v, want %v", models, want)
	}
	if !strings.Contains(errOut, "short -> cheap (fallbacks: dear)") || !strings.Contains(errOut, "long -> dear") {
		t.Errorf("stderr lacks the answer:\n%s", errOut)
	}

	// JSON to a file.
	jsonOut := filepath.Join(dir, "routes.json")
	out, _, err = runTestApp(t, "route", "--routing", good, "--format", "json", "--out", jsonOut, env)
	if err != nil || !strings.Contains(out, "wrote "+jsonOut+" (json)") {
		t.Fatalf("route --format json: %v\n%s", err, out)
	}
	var rj route.RoutesJSON
	if b, err := os.ReadFile(jsonOut); err != nil || json.Unmarshal(b, &rj) != nil || rj.Schema != route.RoutesSchema || len(rj.Jobs) != 2 || rj.Jobs[0].Route.Source.Run.Campaign != "pair" {
		t.Errorf("routes.json (%v): %+v", err, rj)
	}

	// Markdown, and an uncovered job: exit status 1, the covered job
	// still written.
	mdOut := filepath.Join(dir, "routes.md")
	_, errOut, err = runTestApp(t, "route", "--routing", uncovered, "--format", "markdown", "--out", mdOut, env)
	if code := campaignTestExitCode(err); code != routeExitUncovered || !strings.Contains(err.Error(), "1 job(s) no target covers: huge") {
		t.Errorf("uncovered: exit %d (%v), want %d", code, err, routeExitUncovered)
	}
	if b, _ := os.ReadFile(mdOut); !strings.Contains(string(b), "**1 job(s) not covered by any target: huge.**") || !strings.Contains(string(b), "| short | context 1k | cheap | dear |") {
		t.Errorf("routes.md:\n%s", b)
	}

	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no routing", []string{"route", env}, 2, "route needs --routing FILE"},
		{"no envelope", []string{"route", "--routing", good}, 2, "at least one envelope.json or run directory"},
		{"bad format", []string{"route", "--routing", good, "--format", "yaml", env}, 2, `--format "yaml": write litellm, json or markdown`},
		{"bad routing file", []string{"route", "--routing", routeTestFile(t, dir, "bad.yaml", "jobs:\n  - name: x\n    contxt: 1k\n"), env}, 2, "bad.yaml:3:5"},
		{"missing envelope", []string{"route", "--routing", good, filepath.Join(dir, "nope")}, 1, "reading envelope"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runTestApp(t, tt.args...)
			if code := campaignTestExitCode(err); code != tt.code || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("exit %d (%v), want %d and %q", code, err, tt.code, tt.want)
			}
		})
	}
}

// TestRouteTiersExample runs the README's command: the three simulated
// tiers of examples/campaigns/tiers.yaml, then `needlestorm route` with
// examples/routing/routing.yaml writing litellm.yaml, and checks that each
// job landed on its tier with its fallbacks, that max_input_tokens is the
// measured effective context and rpm never above the rate held. It takes
// about a minute, as the example says.
func TestRouteTiersExample(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the example campaign for about a minute")
	}
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "tiers")
	start := time.Now()
	out, errOut, err := runTestApp(t, "run", "../../examples/campaigns/tiers.yaml", "--out", dir, "--quiet")
	took := time.Since(start)
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, errOut)
	}
	t.Logf("examples/campaigns/tiers.yaml took %s", took.Round(time.Second))
	if took > 150*time.Second {
		t.Errorf("the example took %s; its comment promises about a minute", took.Round(time.Second))
	}
	// The campaign names the routing file: its report answers it.
	for _, want := range []string{"routing:\n  tag-tickets -> small (fallbacks: medium)", "  review-code -> medium (fallbacks: large)", "  summarize-contracts -> large"} {
		if !strings.Contains(out, want) {
			t.Errorf("the run's report lacks %q:\n%s", want, out)
		}
	}
	m, _ := runTestReadDir(t, dir)
	if m.Campaign != "tiers" || len(m.Routing) == 0 {
		t.Errorf("manifest campaign %q, routing %s", m.Campaign, m.Routing)
	}
	for _, f := range []string{routeFileLiteLLM, routeFileJSON, routeFileMarkdown} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("the run directory lacks %s: %v", f, err)
		}
	}
	// ... and so do its summary.md, report.html and summary.json.
	for file, wants := range map[string][]string{
		reports.MarkdownFile: {"## Routing: ", "3 of 3 job(s) covered", "| tag-tickets | ", "| small | medium |"},
		reports.HTMLFile:     {`<h2 id="routing">Routing: `, "3 of 3 job(s) covered", "<td class=\"t\">tag-tickets</td>"},
		reports.JSONFile:     {`"sections": [`, `"id": "routing"`, `"pass": true`},
	} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range wants {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s lacks %q", file, want)
			}
		}
	}

	litellm := filepath.Join(t.TempDir(), "litellm.yaml")
	out, errOut, err = runTestApp(t, "route", "--routing", "../../examples/routing/routing.yaml", dir, "--format", "litellm", "--out", litellm)
	if err != nil {
		t.Fatalf("route: %v\n%s%s", err, out, errOut)
	}
	b, err := os.ReadFile(litellm)
	if err != nil {
		t.Fatal(err)
	}
	var cfg route.LiteLLMConfig
	if err := yaml.UnmarshalWithOptions(b, &cfg, yaml.DisallowUnknownField()); err != nil {
		t.Fatalf("litellm.yaml does not decode strictly: %v\n%s", err, b)
	}
	env, err := reports.LoadEnvelope(dir)
	if err != nil {
		t.Fatal(err)
	}
	routesJSON := filepath.Join(t.TempDir(), "routes.json")
	if _, errOut, err := runTestApp(t, "route", "--routing", "../../examples/routing/routing.yaml", "--format", "json", "--out", routesJSON, dir); err != nil {
		t.Fatalf("route --format json: %v\n%s", err, errOut)
	}
	var rj route.RoutesJSON
	if b, err := os.ReadFile(routesJSON); err != nil || json.Unmarshal(b, &rj) != nil {
		t.Fatalf("routes.json: %v", err)
	}
	byGroup := map[string]route.RouteJSON{}
	for _, j := range rj.Jobs {
		if j.Route == nil {
			t.Fatalf("job %s not covered: %s", j.Job.Name, j.Summary)
		}
		byGroup[j.Route.Group] = *j.Route
		for _, f := range j.Fallbacks {
			byGroup[f.Group] = f
		}
	}
	models := map[string]string{}
	for _, d := range cfg.ModelList {
		models[d.ModelName] = d.LiteLLMParams.Model
		rt, ok := byGroup[d.ModelName]
		if !ok {
			t.Fatalf("%s: not a route in routes.json", d.ModelName)
		}
		var et *reports.EnvelopeTarget
		for i := range env.Targets {
			if env.Targets[i].Target == rt.Target {
				et = &env.Targets[i]
			}
		}
		if et == nil || et.Window == nil {
			t.Fatalf("%s: no measured target %s with a window", d.ModelName, rt.Target)
		}
		if d.ModelInfo.MaxInputTokens != et.EffectiveContextLength || d.ModelInfo.MaxInputTokens > et.Window.Tokens {
			t.Errorf("%s: max_input_tokens %d, want the effective context %d (window %d)", d.ModelName, d.ModelInfo.MaxInputTokens, et.EffectiveContextLength, et.Window.Tokens)
		}
		var held *float64
		for _, el := range et.Lengths {
			if el.Length == rt.Evidence.Length {
				held = el.MaxRate
			}
		}
		if held == nil || d.LiteLLMParams.RPM <= 0 || float64(d.LiteLLMParams.RPM) > *held*60 {
			t.Errorf("%s: rpm %d, want above 0 and at most the rate held at %d tokens (%v/s) x 60", d.ModelName, d.LiteLLMParams.RPM, rt.Evidence.Length, held)
		}
	}
	want := map[string]string{
		"tag-tickets": "openai/sim-small", "tag-tickets.medium": "openai/sim-medium",
		"review-code": "openai/sim-medium", "review-code.large": "openai/sim-large",
		"summarize-contracts": "openai/sim-large",
	}
	if fmt.Sprint(models) != fmt.Sprint(want) {
		t.Errorf("model_list %v, want %v", models, want)
	}
	fb := cfg.RouterSettings.Fallbacks
	if len(fb) != 2 || !slices.Equal(fb[0]["tag-tickets"], []string{"tag-tickets.medium"}) || !slices.Equal(fb[1]["review-code"], []string{"review-code.large"}) {
		t.Errorf("fallbacks %v", fb)
	}
	if !cfg.RouterSettings.EnablePreCallChecks || len(cfg.RouterSettings.ContextWindowFallbacks) != 2 {
		t.Errorf("router_settings %+v", cfg.RouterSettings)
	}
	// small held 32/s at 1k, the highest rate tried: a lower bound.
	if !strings.Contains(string(b), "# tag-tickets: small from "+dir) || !strings.Contains(string(b), "rpm is a LOWER BOUND") {
		t.Errorf("litellm.yaml does not say where its figures came from, or which rpm is a lower bound:\n%s", b)
	}

	// `needlestorm report DIR` answers the routing file again, from the
	// manifest alone.
	if err := os.Remove(filepath.Join(dir, routeFileMarkdown)); err != nil {
		t.Fatal(err)
	}
	out, errOut, err = runTestApp(t, "report", dir)
	if err != nil || !strings.Contains(out, "tag-tickets -> small (fallbacks: medium)") {
		t.Errorf("report: %v\n%s%s", err, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, routeFileMarkdown)); err != nil {
		t.Errorf("report did not write %s: %v", routeFileMarkdown, err)
	}
}
