package endpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/internal/testkit"
	"github.com/needlestorm/needlestorm/sim"
)

// preflightTestSim starts a simulator profile on loopback that never
// sleeps, changed by mutate.
func preflightTestSim(t *testing.T, profile string, mutate func(*sim.Config)) *sim.Server {
	t.Helper()
	cfg := testkit.SimConfig(t, profile)
	if mutate != nil {
		mutate(&cfg)
	}
	return testkit.StartSim(t, cfg)
}

// preflightTestCtx bounds a test.
func preflightTestCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func preflightHasWarning(rep *PreflightReport, fragment string) bool {
	for _, w := range rep.Warnings {
		if strings.Contains(w, fragment) {
			return true
		}
	}
	return false
}

func TestPreflightSimulator(t *testing.T) {
	tests := []struct {
		name     string
		profile  string
		mutate   func(*sim.Config)
		kind     string
		opts     []PreflightOption
		window   int
		overhead int
		points   int
		tooLong  []int
		warning  string // a fragment one warning must hold
		source   string // where the window was read; "" means vLLM's max_model_len
	}{
		{
			name: "fast, default calibration", profile: "fast",
			opts:   []PreflightOption{PreflightLengths(1000, 8000)},
			window: 1_000_000, overhead: 7, points: 2,
		},
		{
			name: "custom template overhead", profile: "fast",
			mutate: func(c *sim.Config) { c.TemplateOverhead = 23 },
			opts:   []PreflightOption{PreflightCalibrate(300)},
			window: 1_000_000, overhead: 23, points: 1,
		},
		{
			name: "vllm-8b lengths past max_model_len", profile: "vllm-8b",
			opts: []PreflightOption{PreflightLengths(1000, 32505, 32506, 32768, 40000), PreflightDeclaredWindow(8192)},
			// 32505 + 7 template + 256 max_tokens = 32768 fits; 32506 does not.
			window: 32768, overhead: 7, points: 2, tooLong: []int{32506, 32768, 40000},
			warning: "differs from the server's",
		},
		{
			name: "vllm-8b server basis", profile: "vllm-8b",
			opts: []PreflightOption{PreflightLengths(32512, 32513), PreflightLengthBasis(LengthBasisServer)},
			// The server sees exactly the length: 32512 + 256 = 32768 fits.
			window: 32768, overhead: 7, points: 2, tooLong: []int{32513},
		},
		{
			name: "ollama-default small window", profile: "ollama-default",
			opts:   []PreflightOption{PreflightLengths(1024, 2048)},
			window: 2048, overhead: 10, points: 2, tooLong: []int{2048},
			// The simulator publishes its window the way Ollama does.
			source: WindowSourceOllamaPS, warning: "silently keeps only the tail",
		},
		{
			name: "llama.cpp metadata", profile: "fast",
			mutate: func(c *sim.Config) { c.Metadata, c.ContextWindow = sim.MetadataLlamaCpp, 8192 },
			opts:   []PreflightOption{PreflightLengths(1000, 8000)},
			window: 8192, overhead: 7, points: 2, tooLong: []int{8000},
			source: WindowSourceLlamaCpp,
		},
		{
			name: "anthropic kind", profile: "fast", kind: KindAnthropic,
			opts:   []PreflightOption{PreflightCalibrate(256, 1024)},
			window: 1_000_000, overhead: 7, points: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := preflightTestSim(t, tc.profile, tc.mutate)
			cfg := TargetConfig{Kind: KindOpenAI, BaseURL: srv.URL(), Model: srv.Config().Model}
			if tc.kind == KindAnthropic {
				cfg.Kind = KindAnthropic
				cfg.BaseURL = strings.TrimSuffix(srv.URL(), "/v1")
			}
			opts := append([]PreflightOption{PreflightEnv(testkit.NoEnv)}, tc.opts...)
			rep, err := Preflight(preflightTestCtx(t), cfg, opts...)
			if err != nil {
				t.Fatalf("Preflight: %v", err)
			}
			t.Logf("\n%s", rep.Text())
			if !rep.Reachable || !rep.ModelsListed || !rep.ModelListed {
				t.Errorf("reachable %v, listing %v, listed %v; want all true", rep.Reachable, rep.ModelsListed, rep.ModelListed)
			}
			source := tc.source
			if source == "" {
				source = WindowSourceVLLM
			}
			if rep.ContextWindowServer != tc.window || rep.ContextWindow != tc.window || rep.ContextWindowSource != source {
				t.Errorf("window %d/%d from %q, want %d from %q", rep.ContextWindowServer, rep.ContextWindow, rep.ContextWindowSource, tc.window, source)
			}
			if !rep.Calibrated || rep.Calibration == nil {
				t.Fatalf("not calibrated; warnings %q", rep.Warnings)
			}
			if rep.TemplateOverhead != srv.Config().TemplateOverhead || rep.TemplateOverhead != tc.overhead {
				t.Errorf("template overhead %d, want the simulator's %d", rep.TemplateOverhead, srv.Config().TemplateOverhead)
			}
			if got := len(rep.Calibration.Points); got != tc.points {
				t.Errorf("%d calibration points, want %d", got, tc.points)
			}
			if rep.Calibration.Ratio != 1 || rep.Calibration.Offset != float64(tc.overhead) {
				t.Errorf("fit ratio %v offset %v, want 1 and %d (same tokenizer)", rep.Calibration.Ratio, rep.Calibration.Offset, tc.overhead)
			}
			for _, p := range rep.Calibration.Points {
				if p.ServerTokens-p.ClientTokens != tc.overhead {
					t.Errorf("point %+v: difference is not the template overhead %d", p, tc.overhead)
				}
				if p.ServerTokens > tc.window {
					t.Errorf("calibration point %+v does not fit the %d-token window", p, tc.window)
				}
			}
			if !slices.Equal(rep.TooLong, tc.tooLong) {
				t.Errorf("too long %v, want %v", rep.TooLong, tc.tooLong)
			}
			if tc.warning != "" && !preflightHasWarning(rep, tc.warning) {
				t.Errorf("no warning holds %q: %q", tc.warning, rep.Warnings)
			}
			if len(tc.tooLong) > 0 && !strings.Contains(rep.Text(), "too long") {
				t.Errorf("Text does not show the lengths that do not fit:\n%s", rep.Text())
			}
			b, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{`"template_overhead":`, `"context_window_server":`, `"calibration":`, `"model_listed":true`} {
				if !strings.Contains(string(b), key) {
					t.Errorf("report JSON lacks %s: %s", key, b)
				}
			}
		})
	}
}

func TestPreflightModelNotListedBySimulator(t *testing.T) {
	srv := preflightTestSim(t, "fast", nil)
	cfg := TargetConfig{Kind: KindOpenAI, BaseURL: srv.URL(), Model: "no-such-model"}
	rep, err := Preflight(preflightTestCtx(t), cfg, PreflightEnv(testkit.NoEnv))
	if !errors.Is(err, ErrModelNotListed) {
		t.Fatalf("err = %v, want ErrModelNotListed", err)
	}
	for _, want := range []string{`"no-such-model"`, "sim-fast", srv.URL()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if rep == nil || !rep.Reachable || rep.ModelListed || !slices.Equal(rep.Models, []string{"sim-fast"}) {
		t.Errorf("report %+v: want reachable, not listed, models [sim-fast]", rep)
	}
}

// preflightFake is a loopback server answering the given paths.
func preflightFake(t *testing.T, routes map[string]http.HandlerFunc) *testkit.Server {
	t.Helper()
	mux := http.NewServeMux()
	for p, h := range routes {
		mux.HandleFunc(p, h)
	}
	return testkit.NewServer(t, mux)
}

func preflightJSON(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

func TestPreflightModelNotListedCapsTheList(t *testing.T) {
	var data []string
	for i := range 30 {
		data = append(data, fmt.Sprintf(`{"id":"model-%02d","object":"model","owned_by":"org"}`, i))
	}
	srv := preflightFake(t, map[string]http.HandlerFunc{
		"GET /v1/models": preflightJSON(`{"object":"list","data":[` + strings.Join(data, ",") + `]}`),
	})
	cfg := TargetConfig{Kind: KindOpenAI, BaseURL: srv.URL + "/v1", Model: "model-99"}
	rep, err := Preflight(preflightTestCtx(t), cfg, PreflightEnv(testkit.NoEnv), PreflightCalibrate())
	if !errors.Is(err, ErrModelNotListed) {
		t.Fatalf("err = %v, want ErrModelNotListed", err)
	}
	if !strings.Contains(err.Error(), "model-19 and 10 more") || strings.Contains(err.Error(), "model-20") {
		t.Errorf("error %q should list 20 models and say how many more", err)
	}
	if rep.ModelsTotal != 30 || len(rep.Models) != 20 {
		t.Errorf("models %d of %d, want 20 of 30", len(rep.Models), rep.ModelsTotal)
	}
}

func TestPreflightWithoutModelListing(t *testing.T) {
	srv := preflightFake(t, map[string]http.HandlerFunc{
		"/": func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
	})
	cfg := TargetConfig{Kind: KindOpenAI, BaseURL: srv.URL + "/v1", Model: "m"}
	rep, err := Preflight(preflightTestCtx(t), cfg, PreflightEnv(testkit.NoEnv), PreflightCalibrate(),
		PreflightDeclaredWindow(4096), PreflightLengths(1000, 4000))
	if err != nil {
		t.Fatalf("a server without /models must be a warning, got %v", err)
	}
	if !rep.Reachable || rep.ModelsListed || rep.ModelListed {
		t.Errorf("reachable %v listing %v listed %v, want true false false", rep.Reachable, rep.ModelsListed, rep.ModelListed)
	}
	if !preflightHasWarning(rep, "no model listing") {
		t.Errorf("no warning about the missing listing: %q", rep.Warnings)
	}
	// The declared window is used; uncalibrated, 4000 + 256 does not fit 4096.
	if rep.ContextWindow != 4096 || rep.ContextWindowSource != WindowSourceDeclared || !slices.Equal(rep.TooLong, []int{4000}) {
		t.Errorf("window %d (%s), too long %v; want 4096 (declared), [4000]", rep.ContextWindow, rep.ContextWindowSource, rep.TooLong)
	}
}

func TestPreflightCredentialsRefused(t *testing.T) {
	const canary = "sk-canary-4f1d9a7c0b2e6h3k8m5n"
	const envName = "NS_PREFLIGHT_TEST_KEY"
	env := func(name string) (string, bool) {
		if name == envName {
			return canary, true
		}
		return "", false
	}
	tests := []struct {
		kind   string
		status int
	}{
		{KindOpenAI, http.StatusUnauthorized},
		{KindOpenAI, http.StatusForbidden},
		{KindAnthropic, http.StatusUnauthorized},
		{KindAnthropic, http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %d", tc.kind, tc.status), func(t *testing.T) {
			var mu sync.Mutex
			var sent []string
			srv := preflightFake(t, map[string]http.HandlerFunc{
				"/": func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					sent = append(sent, r.Header.Get("Authorization")+"|"+r.Header.Get("X-Api-Key")+"|"+r.Header.Get("Anthropic-Version"))
					mu.Unlock()
					w.WriteHeader(tc.status)
					// Servers echo part or all of a wrong key.
					_, _ = fmt.Fprintf(w, `{"error":{"message":"Incorrect API key provided: %s","type":"invalid_request_error"}}`, canary)
				},
			})
			cfg := TargetConfig{Kind: tc.kind, BaseURL: srv.URL, Model: "m", APIKeyEnv: envName}
			if tc.kind == KindOpenAI {
				cfg.BaseURL += "/v1"
			}
			rep, err := Preflight(preflightTestCtx(t), cfg, PreflightEnv(env))
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("err = %v, want ErrUnauthorized", err)
			}
			if !strings.Contains(err.Error(), envName) {
				t.Errorf("error %q does not name the variable %s", err, envName)
			}
			b, _ := json.Marshal(rep)
			for what, s := range map[string]string{"error": err.Error(), "report": string(b), "text": rep.Text()} {
				if strings.Contains(s, canary) || strings.Contains(s, canary[5:20]) {
					t.Errorf("the %s shows the API key: %s", what, s)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			want := "Bearer " + canary + "||"
			if tc.kind == KindAnthropic {
				want = "|" + canary + "|" + AnthropicVersion
			}
			if len(sent) != 1 || sent[0] != want {
				t.Errorf("server saw %q, want one request with credentials %q", sent, want)
			}
		})
	}
}

func TestPreflightConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base := "http://" + addr + "/v1"
	rep, err := Preflight(preflightTestCtx(t), TargetConfig{Kind: KindOpenAI, BaseURL: base, Model: "m"}, PreflightEnv(testkit.NoEnv), PreflightRetry(preflightFastRetry))
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if len(rep.Retries) != 1 || !strings.Contains(rep.Retries[0], "connection refused") || !strings.Contains(rep.Retries[0], "(3 times)") {
		t.Errorf("retries %q, want one line of 3 retries of a refused connection", rep.Retries)
	}
	for _, want := range []string{base, "connection refused", "tried 4 times"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if rep.Reachable {
		t.Error("report says reachable")
	}
}

func TestPreflightTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := preflightFake(t, map[string]http.HandlerFunc{
		"/": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		},
	})
	defer close(release)
	cfg := TargetConfig{Kind: KindOpenAI, BaseURL: srv.URL + "/v1", Model: "m"}
	_, err := Preflight(preflightTestCtx(t), cfg, PreflightEnv(testkit.NoEnv), PreflightTimeout(100*time.Millisecond))
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "no answer within 100ms") {
		t.Fatalf("err = %v, want ErrUnreachable saying no answer within 100ms", err)
	}
}

func TestPreflightCanceled(t *testing.T) {
	srv := preflightTestSim(t, "fast", nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg := TargetConfig{Kind: KindOpenAI, BaseURL: srv.URL(), Model: "sim-fast"}
	rep, err := Preflight(ctx, cfg, PreflightEnv(testkit.NoEnv))
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want context.Canceled and not ErrUnreachable", err)
	}
	if rep.Reachable {
		t.Error("report says reachable")
	}
}

func TestPreflightGarbageModelList(t *testing.T) {
	for _, body := range []string{
		"<html><body>Welcome to nginx!</body></html>",
		`{"object":"list","data":[`,
		`{"status":"ok"}`,
		`[{"id":"m"}]`,
		`{"data":{"id":"m"}}`,
		"",
	} {
		t.Run(body, func(t *testing.T) {
			srv := preflightFake(t, map[string]http.HandlerFunc{"GET /v1/models": preflightJSON(body)})
			cfg := TargetConfig{Kind: KindOpenAI, BaseURL: srv.URL + "/v1", Model: "m"}
			rep, err := Preflight(preflightTestCtx(t), cfg, PreflightEnv(testkit.NoEnv))
			if !errors.Is(err, ErrBadMetadata) {
				t.Fatalf("err = %v, want ErrBadMetadata", err)
			}
			if !strings.Contains(err.Error(), srv.URL+"/v1/models") || !strings.Contains(err.Error(), "base_url") {
				t.Errorf("error %q should name the URL and say to check base_url", err)
			}
			if !rep.Reachable {
				t.Error("a server that answered is reachable")
			}
		})
	}
}

// Shapes from llama.cpp's tools/server/README.md.
const (
	preflightLlamaModels = `{"object":"list","data":[{"id":"../models/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf","object":"model",
		"created":1735142223,"owned_by":"llamacpp","meta":{"vocab_type":2,"n_vocab":128256,"n_ctx_train":131072,
		"n_embd":4096,"n_params":8030261312,"size":4912898304}}]}`
	preflightLlamaProps = `{"default_generation_settings":{"id":0,"id_task":-1,"n_ctx":8192,"speculative":false,
		"is_processing":false,"params":{"n_predict":-1,"seed":4294967295,"temperature":0.8,"max_tokens":-1}},
		"total_slots":4,"model_path":"../models/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf","chat_template":"...",
		"modalities":{"vision":false},"build_info":"b4000-abcdef"}`
)

func TestPreflightLlamaCpp(t *testing.T) {
	srv := preflightFake(t, map[string]http.HandlerFunc{
		"GET /v1/models": preflightJSON(preflightLlamaModels),
		"GET /props":     preflightJSON(preflightLlamaProps),
	})
	cfg := TargetConfig{Kind: KindOpenAI, BaseURL: srv.URL + "/v1", Model: "llama-3.1-8b"}
	rep, err := Preflight(preflightTestCtx(t), cfg, PreflightEnv(testkit.NoEnv), PreflightCalibrate(),
		PreflightLengths(4000, 8000), PreflightDeclaredWindow(8192))
	if err != nil {
		t.Fatalf("Preflight: %v", err)
	}
	if rep.Server != ServerLlamaCpp || rep.ContextWindowServer != 8192 || rep.ContextWindowSource != WindowSourceLlamaCpp || rep.Slots != 4 {
		t.Errorf("server %q window %d from %q slots %d; want llama.cpp 8192 from /props, 4 slots", rep.Server, rep.ContextWindowServer, rep.ContextWindowSource, rep.Slots)
	}
	if rep.ContextWindowTrained != 131072 {
		t.Errorf("trained window %d, want 131072 (n_ctx_train)", rep.ContextWindowTrained)
	}
	if !preflightHasWarning(rep, "single-model llama.cpp") {
		t.Errorf("a name llama.cpp does not list should be a warning: %q", rep.Warnings)
	}
	if !slices.Equal(rep.TooLong, []int{8000}) || preflightHasWarning(rep, "differs") {
		t.Errorf("too long %v, warnings %q; want [8000] and no mismatch", rep.TooLong, rep.Warnings)
	}
}

// Shapes from Ollama's docs/api.md (POST /api/show) and openai/openai.go
// (GET /v1/models: ids "name:tag" owned by the namespace).
const (
	preflightOllamaModels = `{"object":"list","data":[{"id":"llama3.2:latest","object":"model","created":1730000000,"owned_by":"library"},
		{"id":"qwen2.5:7b","object":"model","created":1730000000,"owned_by":"library"}]}`
	preflightOllamaShow = `{"modelfile":"# Modelfile generated by \"ollama show\"\nFROM /x\nPARAMETER num_ctx 9999\n",
		"parameters":%q,
		"template":"{{ .Prompt }}",
		"details":{"parent_model":"","format":"gguf","family":"llama","families":["llama"],"parameter_size":"8.0B","quantization_level":"Q4_0"},
		"model_info":{"general.architecture":"llama","general.file_type":2,"general.parameter_count":8030261248,
		"llama.attention.head_count":32,"llama.block_count":32,"llama.context_length":131072,"llama.embedding_length":4096,
		"tokenizer.ggml.merges":[],"tokenizer.ggml.model":"gpt2"}}`
)

func TestPreflightOllama(t *testing.T) {
	tests := []struct {
		name       string
		parameters string
		ps         string // /api/ps body; "" answers 404
		extra      map[string]any
		window     int
		source     string
		assumed    bool
		tooLong    []int
		warnings   []string
	}{
		{
			name:       "num_ctx in the Modelfile",
			parameters: "num_keep                       24\nnum_ctx                        8192\nstop                           \"<|eot_id|>\"",
			window:     8192, source: WindowSourceOllamaShow, tooLong: []int{8000},
			warnings: []string{"silently keeps only the tail"},
		},
		{
			name:       "no num_ctx: the default is assumed",
			parameters: "stop                           \"<|eot_id|>\"",
			window:     OllamaAssumedNumCtx, source: WindowSourceOllamaGuess, assumed: true, tooLong: []int{4000, 8000},
			warnings: []string{"is assumed", "older Ollama versions default to 2048"},
		},
		{
			name:       "loaded model in /api/ps, num_ctx in extra_body ignored",
			parameters: "stop \"x\"",
			ps:         `{"models":[{"name":"llama3.2:latest","model":"llama3.2:latest","size":1,"context_length":16384}]}`,
			extra:      map[string]any{"options": map[string]any{"num_ctx": 32768}},
			window:     16384, source: WindowSourceOllamaPS,
			warnings: []string{"options.num_ctx 32768", "ignores it", "the model was trained for 131072"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var showBodies []string
			routes := map[string]http.HandlerFunc{
				"GET /v1/models": preflightJSON(preflightOllamaModels),
				"POST /api/show": func(w http.ResponseWriter, r *http.Request) {
					b, _ := io.ReadAll(r.Body)
					mu.Lock()
					showBodies = append(showBodies, string(b))
					mu.Unlock()
					preflightJSON(fmt.Sprintf(preflightOllamaShow, tc.parameters))(w, r)
				},
			}
			if tc.ps != "" {
				routes["GET /api/ps"] = preflightJSON(tc.ps)
			}
			srv := preflightFake(t, routes)
			cfg := TargetConfig{Kind: KindOpenAI, BaseURL: srv.URL + "/v1", Model: "llama3.2", ExtraBody: tc.extra}
			rep, err := Preflight(preflightTestCtx(t), cfg, PreflightEnv(testkit.NoEnv), PreflightCalibrate(),
				PreflightLengths(2000, 4000, 8000))
			if err != nil {
				t.Fatalf("Preflight: %v", err)
			}
			t.Logf("\n%s", rep.Text())
			if !rep.ModelListed || rep.ModelListedAs != "llama3.2:latest" {
				t.Errorf("listed %v as %q, want llama3.2:latest", rep.ModelListed, rep.ModelListedAs)
			}
			if rep.Server != ServerOllama || rep.ContextWindowServer != tc.window || rep.ContextWindowSource != tc.source || rep.ContextWindowAssumed != tc.assumed {
				t.Errorf("server %q window %d from %q assumed %v; want ollama %d from %q assumed %v",
					rep.Server, rep.ContextWindowServer, rep.ContextWindowSource, rep.ContextWindowAssumed, tc.window, tc.source, tc.assumed)
			}
			if rep.ContextWindowTrained != 131072 {
				t.Errorf("trained %d, want 131072 from model_info", rep.ContextWindowTrained)
			}
			if !slices.Equal(rep.TooLong, tc.tooLong) {
				t.Errorf("too long %v, want %v", rep.TooLong, tc.tooLong)
			}
			for _, w := range tc.warnings {
				if !preflightHasWarning(rep, w) {
					t.Errorf("no warning holds %q: %q", w, rep.Warnings)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(showBodies) != 1 || showBodies[0] != `{"model":"llama3.2"}` {
				t.Errorf("/api/show got %q, want one POST of {\"model\":\"llama3.2\"}", showBodies)
			}
		})
	}
}

func TestPreflightCalibrationWithoutUsage(t *testing.T) {
	srv := preflightFake(t, map[string]http.HandlerFunc{
		"GET /v1/models": preflightJSON(`{"object":"list","data":[{"id":"m","object":"model","owned_by":"x"}]}`),
		"POST /v1/chat/completions": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, testRoleChunk+testChunk("4829173")+testFinishChunk+testDone)
		},
	})
	cfg := TargetConfig{Kind: KindOpenAI, BaseURL: srv.URL + "/v1", Model: "m"}
	rep, err := Preflight(preflightTestCtx(t), cfg, PreflightEnv(testkit.NoEnv), PreflightLengthBasis(LengthBasisServer), PreflightLengths(1000))
	if err != nil {
		t.Fatalf("Preflight: %v", err)
	}
	if rep.Calibrated || rep.Calibration != nil {
		t.Errorf("calibrated from a server that sends no usage: %+v", rep.Calibration)
	}
	for _, w := range []string{"calibration is unavailable", "no usage", "calibration is unavailable: lengths cannot be converted", "no context window is known"} {
		if !preflightHasWarning(rep, w) {
			t.Errorf("no warning holds %q: %q", w, rep.Warnings)
		}
	}
	if !strings.Contains(rep.Text(), "calibration  unavailable") {
		t.Errorf("Text does not say calibration is unavailable:\n%s", rep.Text())
	}
}

func TestPreflightOptionErrors(t *testing.T) {
	cfg := TargetConfig{Kind: KindOpenAI, BaseURL: "http://127.0.0.1:1/v1", Model: "m"}
	for name, opt := range map[string]PreflightOption{
		"negative window": PreflightDeclaredWindow(-1),
		"zero length":     PreflightLengths(1000, 0),
		"bad basis":       PreflightLengthBasis("tokens"),
		"bad calibration": PreflightCalibrate(-5),
	} {
		t.Run(name, func(t *testing.T) {
			rep, err := Preflight(preflightTestCtx(t), cfg, PreflightEnv(testkit.NoEnv), opt)
			if err == nil || rep == nil || rep.Reachable {
				t.Fatalf("err = %v, report %+v: want an error before any request", err, rep)
			}
		})
	}
}

func TestTokenCalibration(t *testing.T) {
	tests := []struct {
		name     string
		points   []CalibrationPoint
		ratio    float64
		offset   float64
		overhead int
		server   int // a server length to convert
		client   int // the client length for it
		wantErr  bool
	}{
		{
			name:   "one point",
			points: []CalibrationPoint{{ClientTokens: 256, ServerTokens: 263}},
			ratio:  1, offset: 7, overhead: 7, server: 8000, client: 7993,
		},
		{
			name:   "same tokenizer, two points",
			points: []CalibrationPoint{{ClientTokens: 256, ServerTokens: 266}, {ClientTokens: 2048, ServerTokens: 2058}},
			ratio:  1, offset: 10, overhead: 10, server: 2048, client: 2038,
		},
		{
			name: "server tokenizer 10% finer",
			// server = 1.1 × client + 12
			points: []CalibrationPoint{{ClientTokens: 200, ServerTokens: 232}, {ClientTokens: 2000, ServerTokens: 2212}},
			ratio:  1.1, offset: 12, overhead: 12, server: 11012, client: 10000,
		},
		{
			name:    "truncating server",
			points:  []CalibrationPoint{{ClientTokens: 256, ServerTokens: 263}, {ClientTokens: 8192, ServerTokens: 2048}},
			wantErr: true,
		},
		{name: "no point", wantErr: true},
		{name: "zero count", points: []CalibrationPoint{{ClientTokens: 256, ServerTokens: 0}}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cal, err := NewTokenCalibration("cl100k_base", tc.points...)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("fit %+v, want an error", cal)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cal.Ratio != tc.ratio || cal.Offset != tc.offset || cal.TemplateOverhead() != tc.overhead {
				t.Errorf("ratio %v offset %v overhead %d, want %v %v %d", cal.Ratio, cal.Offset, cal.TemplateOverhead(), tc.ratio, tc.offset, tc.overhead)
			}
			got, err := cal.ClientLength(tc.server)
			if err != nil || got != tc.client {
				t.Errorf("ClientLength(%d) = %d, %v; want %d", tc.server, got, err, tc.client)
			}
			if s := cal.ServerTokens(got); s > tc.server {
				t.Errorf("ServerTokens(ClientLength(%d)) = %d: over the requested length", tc.server, s)
			}
			lengths, err := ServerBasisLengths([]int{tc.server, tc.server}, cal)
			if err != nil || !slices.Equal(lengths, []int{tc.client, tc.client}) {
				t.Errorf("ServerBasisLengths = %v, %v", lengths, err)
			}
			if _, err := ServerBasisLengths([]int{int(tc.offset)}, cal); err == nil {
				t.Errorf("a server length no larger than the template should be refused")
			}
		})
	}
}

func TestPreflightParsers(t *testing.T) {
	t.Run("num_ctx", func(t *testing.T) {
		for in, want := range map[string]int{
			"num_keep 24\nnum_ctx                        8192\nstop \"x\"": 8192,
			"PARAMETER num_ctx 4096":                      4096,
			"num_ctx 2048\nnum_ctx 16384":                 16384,
			"stop \"num_ctx 4096\"":                       0,
			"num_ctx_extra 5":                             0,
			"num_ctx 99999999999999999999999999999999999": 0,
			"": 0,
		} {
			if got := preflightParseNumCtx(in); got != want {
				t.Errorf("preflightParseNumCtx(%q) = %d, want %d", in, got, want)
			}
		}
	})
	t.Run("model names", func(t *testing.T) {
		tests := []struct {
			model, kind string
			ids         []string
			want        string
			ok          bool
		}{
			{"m", KindOpenAI, []string{"a", "m"}, "m", true},
			{"llama3.2", KindOpenAI, []string{"llama3.2:latest"}, "llama3.2:latest", true},
			{"llama3.2:latest", KindOpenAI, []string{"llama3.2"}, "llama3.2", true},
			{"llama3.2:1b", KindOpenAI, []string{"llama3.2:latest"}, "", false},
			{"claude-sonnet-4-5", KindAnthropic, []string{"claude-sonnet-4-5-20250929"}, "claude-sonnet-4-5-20250929", true},
			{"claude-3-5-haiku-latest", KindAnthropic, []string{"claude-3-5-haiku-20241022"}, "claude-3-5-haiku-20241022", true},
			{"claude-sonnet-4", KindAnthropic, []string{"claude-sonnet-4-5-20250929"}, "", false},
			{"Model", KindOpenAI, []string{"model"}, "", false},
		}
		for _, tc := range tests {
			got, ok := preflightMatchModel(tc.model, tc.ids, tc.kind)
			if got != tc.want || ok != tc.ok {
				t.Errorf("match %q in %q = %q, %v; want %q, %v", tc.model, tc.ids, got, ok, tc.want, tc.ok)
			}
		}
	})
	t.Run("lenient numbers", func(t *testing.T) {
		list, err := preflightParseModels([]byte(`{"data":[{"id":"a","max_model_len":"4096"},{"id":"b","max_model_len":1.5},
			{"id":"c","max_model_len":-3},{"id":"d","max_model_len":{"x":1}},{"id":""},{"nope":1},7]}`))
		if err != nil {
			t.Fatal(err)
		}
		got := make([]string, len(list.Entries))
		for i, e := range list.Entries {
			got[i] = fmt.Sprintf("%s=%d", e.ID, e.MaxModelLen)
		}
		if want := []string{"a=4096", "b=0", "c=0", "d=0"}; !slices.Equal(got, want) {
			t.Errorf("entries %v, want %v", got, want)
		}
	})
	t.Run("props and show shapes", func(t *testing.T) {
		if p, ok := preflightParseProps([]byte(preflightLlamaProps)); !ok || p.NCtx != 8192 || p.Slots != 4 {
			t.Errorf("props = %+v, %v", p, ok)
		}
		if _, ok := preflightParseProps([]byte(`{"status":"ok"}`)); ok {
			t.Error("a body without n_ctx is not llama.cpp's /props")
		}
		if s, ok := preflightParseShow([]byte(fmt.Sprintf(preflightOllamaShow, "num_ctx 2048"))); !ok || s.NumCtx != 2048 || s.Trained != 131072 || s.Arch != "llama" {
			t.Errorf("show = %+v, %v", s, ok)
		}
		if _, ok := preflightParseShow([]byte(`{"error":"model not found"}`)); ok {
			t.Error("an error body is not /api/show's")
		}
	})
}

func FuzzPreflightParsers(f *testing.F) {
	for _, s := range []string{
		preflightLlamaModels, preflightLlamaProps, preflightOllamaModels,
		fmt.Sprintf(preflightOllamaShow, "num_ctx 4096"),
		`{"models":[{"name":"m:latest","context_length":2048}]}`,
		`{"data":null}`, `{"data":[{"id":"m","max_model_len":32768}],"has_more":true}`,
		`{"model_info":{"x.context_length":"1e3"}}`, "", "null", "[]", `{"data":[null,{"id":7}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if list, err := preflightParseModels(b); err == nil {
			for _, e := range list.Entries {
				if e.ID == "" || e.MaxModelLen < 0 || e.TrainCtx < 0 || e.ContextLength < 0 {
					t.Fatalf("bad entry %+v", e)
				}
			}
		}
		if p, ok := preflightParseProps(b); ok && p.NCtx <= 0 {
			t.Fatalf("props ok with n_ctx %d", p.NCtx)
		}
		if s, ok := preflightParseShow(b); ok && (s.NumCtx < 0 || s.Trained < 0) {
			t.Fatalf("show %+v", s)
		}
		if n := preflightParsePS(b, "m"); n < 0 {
			t.Fatalf("ps %d", n)
		}
		if n := preflightParseNumCtx(string(b)); n < 0 {
			t.Fatalf("num_ctx %d", n)
		}
	})
}
