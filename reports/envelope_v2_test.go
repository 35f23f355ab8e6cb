package reports

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/run"
)

// v2Fixture: target "t" at lengths 1000 and 8000, one stage per (length,
// rate) as a search runs them, 20 requests each. At 1000 both 2/s and 4/s
// hold (4/s is the highest rate tried: a ceiling); at 8000 4/s fails ttft.
// The server's window is 4096 tokens, but the 8000-token prompts read
// right (a truncating server that kept the needle).
func v2Fixture() []run.Record {
	return interleave(
		stage("t", 0, 2, 1000, 50, 20, 20, 100*time.Millisecond),
		stage("t", 1, 4, 1000, 50, 20, 20, 100*time.Millisecond),
		stage("t", 2, 2, 8000, 50, 20, 20, 200*time.Millisecond),
		stage("t", 3, 4, 8000, 50, 20, 20, 3*time.Second),
	)
}

func v2Manifest(t *testing.T) *run.Manifest {
	t.Helper()
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	return &run.Manifest{
		Schema: run.ManifestSchema, Tool: "needlestorm", Version: "1.2.3", Campaign: "nightly",
		StartedAt: t0, EndedAt: t0.Add(time.Hour), Status: run.StatusComplete,
		Targets: raw(`[{"name":"t","kind":"openai","model":"m","base_url":"https://bob:hunter2@llm.example:8443/v1?api-key=abc#frag",
			"api_key_env":"T_KEY","prices":{"input":1,"output":2},"currency":"USD"}]`),
		Preflight: raw(`[{"target":"t","kind":"openai","context_window":4096,"context_window_server":4096,
			"context_window_source":"/props (llama.cpp)","context_window_declared":8192}]`),
	}
}

func TestEnvelopeV2Evidence(t *testing.T) {
	obj, _ := ParseSLO("ttft_p95=2s")
	m := v2Manifest(t)
	prices, err := PricesFromManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Build(m, v2Fixture(), Options{Objectives: obj, Prices: prices})
	if err != nil {
		t.Fatal(err)
	}
	env := s.Envelope
	if env.Schema != "needlestorm.envelope/v2" || env.Run == nil || env.Run.Campaign != "nightly" || env.Run.Version != "1.2.3" ||
		!env.Run.StartedAt.Equal(t0) || !env.Run.EndedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("schema %s, run %+v", env.Schema, env.Run)
	}
	et := env.Targets[0]
	if et.Kind != "openai" || et.BaseURL != "https://llm.example:8443/v1" || et.APIKeyEnv != "T_KEY" || et.Prices == nil || et.Prices.Input != 1 || et.Currency != "USD" {
		t.Errorf("target evidence %+v", et)
	}
	if et.Window == nil || et.Window.Tokens != 4096 || et.Window.Source != "/props (llama.cpp)" || et.Window.Declared != 8192 {
		t.Errorf("window %+v", et.Window)
	}
	// 8000 read right, but does not fit 4096: capped at 1000.
	if et.EffectiveContextLength != 1000 || et.Limit != LimitWindow || !strings.Contains(et.LimitedBy, "the context window is 4096 tokens (/props (llama.cpp))") {
		t.Errorf("effective context %d, limit %s (%s), want 1000 limited by the window", et.EffectiveContextLength, et.Limit, et.LimitedBy)
	}
	if et.EffectiveContextRequests != 20 {
		t.Errorf("effective context requests %d, want 20 (the lightest load at 1000)", et.EffectiveContextRequests)
	}
	short, long := et.Lengths[0], et.Lengths[1]
	if !short.Ceiling || short.MaxRate == nil || !near(*short.MaxRate, 4) || short.MaxRateRequests != 20 || short.Requests != 20 || short.AccuracyCI[0] < 0.8 {
		t.Errorf("1000: ceiling %v, max rate %v, %d/%d requests, ci %v; want a 4/s ceiling", short.Ceiling, short.MaxRate, short.MaxRateRequests, short.Requests, short.AccuracyCI)
	}
	if long.Ceiling || long.MaxRate == nil || !near(*long.MaxRate, 2) {
		t.Errorf("8000: ceiling %v, max rate %v; want 2/s, no ceiling (4/s failed)", long.Ceiling, long.MaxRate)
	}
	if tk := short.At.Tokens; tk == nil || !near(tk.Prompt, 1010) || !near(tk.Output, 8) || short.Points[0].Tokens == nil {
		t.Errorf("tokens per request at 1000: %+v, want 1010 prompt (server count) and 8 output", tk)
	}
	if txt := s.Text(); !strings.Contains(txt, "≥4/s") || strings.Contains(txt, "≥2/s") {
		t.Errorf("the text report does not mark 1000's ceiling (and only it) as a lower bound:\n%s", txt)
	}
	var b bytes.Buffer
	if err := WriteEnvelope(&b, env); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hunter2", "bob", "api-key=abc", "frag"} {
		if strings.Contains(b.String(), secret) {
			t.Errorf("envelope.json holds %q", secret)
		}
	}
	for _, key := range []string{`"ceiling": true`, `"max_rate_requests"`, `"limit": "context_window"`, `"campaign": "nightly"`, `"tokens_per_request"`} {
		if !strings.Contains(b.String(), key) {
			t.Errorf("envelope.json lacks %s", key)
		}
	}
	// A requirement at a stricter accuracy is judged on the capped length
	// too.
	cands, _ := Choose(env, Requirement{Length: 8000, Accuracy: 0.9})
	if cands[0].Covers || !strings.Contains(strings.Join(cands[0].Reasons, ";"), "context window is 4096") {
		t.Errorf("8000-token requirement on a 4096 window: %+v", cands[0])
	}
}

func TestSafeURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8000/v1":           "http://127.0.0.1:8000/v1",
		"https://u:p@api.example/v1?key=k#x": "https://api.example/v1",
		"https://api.anthropic.com":          "https://api.anthropic.com",
		"not a url":                          "",
		"http://[::1:bad":                    "",
		"":                                   "",
		"https://api.example/v1?":            "https://api.example/v1",
		"https://token@gateway.example/openai/v1": "https://gateway.example/openai/v1",
	} {
		if got := SafeURL(in); got != want {
			t.Errorf("SafeURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// v1Envelope is env as a needlestorm.envelope/v1 file: only v1's fields.
func v1Envelope(t *testing.T, env *Envelope) []byte {
	t.Helper()
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	doc["schema"] = EnvelopeSchemaV1
	delete(doc, "run")
	for _, tv := range doc["targets"].([]any) {
		tm := tv.(map[string]any)
		for _, k := range []string{"kind", "base_url", "api_key_env", "prices", "currency", "context_window", "effective_context_requests", "limit"} {
			delete(tm, k)
		}
		for _, lv := range tm["lengths"].([]any) {
			lm := lv.(map[string]any)
			for _, k := range []string{"ceiling", "requests", "accuracy_ci95", "max_rate_requests"} {
				delete(lm, k)
			}
			for _, pv := range lm["points"].([]any) {
				delete(pv.(map[string]any), "tokens_per_request")
			}
			if at, ok := lm["at"].(map[string]any); ok {
				delete(at, "tokens_per_request")
			}
		}
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEnvelopeReadsV1(t *testing.T) {
	obj, _ := ParseSLO("ttft_p95=2s")
	s, err := Build(nil, v2Fixture(), Options{Objectives: obj})
	if err != nil {
		t.Fatal(err)
	}
	v1 := v1Envelope(t, s.Envelope)
	if strings.Contains(string(v1), "ceiling") {
		t.Fatal("the v1 fixture has v2 fields")
	}
	env, err := ReadEnvelope(bytes.NewReader(v1))
	if err != nil {
		t.Fatal(err)
	}
	if env.Schema != EnvelopeSchema || env.UpgradedFrom != EnvelopeSchemaV1 || env.Run != nil {
		t.Errorf("schema %s upgraded from %q, run %v", env.Schema, env.UpgradedFrom, env.Run)
	}
	et := env.Targets[0]
	// No window in v1: the effective context stays v1's (8000).
	if et.EffectiveContextLength != 8000 || et.Limit != LimitTested || et.EffectiveContextRequests != 40 {
		t.Errorf("effective %d (%s), %d requests", et.EffectiveContextLength, et.Limit, et.EffectiveContextRequests)
	}
	if short := et.Lengths[0]; !short.Ceiling || short.Requests != 20 || short.MaxRateRequests != 20 || short.AccuracyCI[1] != 1 {
		t.Errorf("1000 upgraded: %+v", short)
	}
	if long := et.Lengths[1]; long.Ceiling || long.MaxRate == nil || !near(*long.MaxRate, 2) {
		t.Errorf("8000 upgraded: ceiling %v max rate %v", long.Ceiling, long.MaxRate)
	}
	// And a v2 file reads back as written.
	var b bytes.Buffer
	if err := WriteEnvelope(&b, s.Envelope); err != nil {
		t.Fatal(err)
	}
	back, err := ReadEnvelope(&b)
	if err != nil || back.UpgradedFrom != "" || back.Targets[0].Lengths[0].Ceiling != true {
		t.Errorf("v2 read back (%v): %+v", err, back)
	}
}

func TestEnvelopeReadErrors(t *testing.T) {
	for in, want := range map[string]string{
		`{"schema":"needlestorm.envelope/v9","targets":[]}`: `schema "needlestorm.envelope/v9" is not one this version reads`,
		`{"targets":[]}`: `no "schema" field`,
		`[1,2]`:          "invalid JSON",
		`{"schema":"needlestorm.envelope/v2","targets":"x"}`: "decoding the envelope",
	} {
		_, err := ReadEnvelope(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadEnvelope(%s) = %v, want %q", in, err, want)
		}
	}
}

// TestLoadEnvelopeRunDir: a run directory without envelope.json is built
// from its records; one with a v1 envelope.json is upgraded and gets the
// manifest's evidence.
func TestLoadEnvelopeRunDir(t *testing.T) {
	dir := t.TempDir()
	m := v2Manifest(t)
	obj, _ := ParseSLO("ttft_p95=2s")
	m.Objectives, _ = json.Marshal(obj)
	if err := run.WriteManifest(dir, m); err != nil {
		t.Fatal(err)
	}
	var recs bytes.Buffer
	enc := json.NewEncoder(&recs)
	for _, r := range v2Fixture() {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, run.RecordsFile), recs.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	env, err := LoadEnvelope(dir)
	if err != nil {
		t.Fatal(err)
	}
	if env.Run == nil || env.Run.Dir != dir || env.Targets[0].EffectiveContextLength != 1000 || env.Targets[0].Prices == nil {
		t.Fatalf("built envelope: run %+v, target %+v", env.Run, env.Targets[0])
	}
	if err := os.WriteFile(filepath.Join(dir, EnvelopeFile), v1Envelope(t, env), 0o644); err != nil {
		t.Fatal(err)
	}
	env, err = LoadEnvelope(dir)
	if err != nil {
		t.Fatal(err)
	}
	et := env.Targets[0]
	if env.UpgradedFrom != EnvelopeSchemaV1 || env.Run == nil || env.Run.Campaign != "nightly" || et.Window == nil || et.EffectiveContextLength != 1000 || et.Kind != "openai" {
		t.Errorf("v1 in a run dir: upgraded %q, run %+v, target %+v", env.UpgradedFrom, env.Run, et)
	}
	if _, err := LoadEnvelope(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing path loaded")
	}
	if _, err := LoadEnvelope(t.TempDir()); err == nil || !strings.Contains(err.Error(), "holds neither envelope.json nor a run") {
		t.Errorf("an empty directory: %v", err)
	}
}

func FuzzReadEnvelope(f *testing.F) {
	f.Add([]byte(`{"schema":"needlestorm.envelope/v1","targets":[{"target":"a","lengths":[{"length":1,"points":[{"rate":1,"pass":true}]}]}]}`))
	f.Add([]byte(`{"schema":"needlestorm.envelope/v2","targets":[]}`))
	f.Add([]byte(`{"schema":"needlestorm.envelope/v1","targets":[{"lengths":[{"points":[]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := ReadEnvelope(bytes.NewReader(data))
		if err != nil {
			return
		}
		if env.Schema != EnvelopeSchema {
			t.Fatalf("read schema %q", env.Schema)
		}
		for _, et := range env.Targets {
			for _, el := range et.Lengths {
				if el.Ceiling && el.MaxRate == nil {
					t.Fatalf("a ceiling without a max rate: %+v", el)
				}
			}
		}
	})
}
