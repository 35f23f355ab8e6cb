package endpoint

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// TestTargetConfigValidate checks that Validate refuses what NewTarget
// would, naming the field, without the environment and without repeating a
// secret.
func TestTargetConfigValidate(t *testing.T) {
	ok := TargetConfig{Kind: KindOpenAI, Model: "m", BaseURL: "http://127.0.0.1:8000/v1"}
	tests := []struct {
		name  string
		edit  func(*TargetConfig)
		field string // "" for valid
		// stricter: NewTarget does not check it yet (it should call
		// Validate): a name with a slash, a NaN temperature.
		stricter bool
	}{
		{"valid", func(*TargetConfig) {}, "", false},
		{"hosted default URL", func(c *TargetConfig) { c.BaseURL = "" }, "", false},
		{"env header", func(c *TargetConfig) { c.Headers = map[string]string{"Authorization": "${TOKEN}"} }, "", false},
		{"no kind", func(c *TargetConfig) { c.Kind = "" }, "kind", false},
		{"unknown kind", func(c *TargetConfig) { c.Kind = "grpc" }, "kind", false},
		{"no model", func(c *TargetConfig) { c.Model = " " }, "model", false},
		{"slash in name", func(c *TargetConfig) { c.Name = "a/b" }, "name", true},
		{"key in api_key_env", func(c *TargetConfig) { c.APIKeyEnv = "sk-secret-123" }, "api_key_env", false},
		{"negative max_tokens", func(c *TargetConfig) { c.MaxTokens = -1 }, "max_tokens", false},
		{"temperature NaN", func(c *TargetConfig) { c.Temperature = math.NaN() }, "temperature", true},
		{"temperature 3", func(c *TargetConfig) { c.Temperature = 3 }, "temperature", false},
		{"negative timeout", func(c *TargetConfig) { c.Timeout = -time.Second }, "timeout", false},
		{"negative connect timeout", func(c *TargetConfig) { c.ConnectTimeout = -time.Second }, "connect_timeout", false},
		{"endpoint in base_url", func(c *TargetConfig) { c.BaseURL = "http://127.0.0.1:8000/v1/chat/completions" }, "base_url", false},
		{"query in base_url", func(c *TargetConfig) { c.BaseURL = "http://127.0.0.1:8000/v1?x=1" }, "base_url", false},
		{"no scheme", func(c *TargetConfig) { c.BaseURL = "127.0.0.1:8000/v1" }, "base_url", false},
		{"bad header name", func(c *TargetConfig) { c.Headers = map[string]string{"X Team": "a"} }, "headers", false},
		{"literal credential", func(c *TargetConfig) { c.Headers = map[string]string{"Authorization": "Bearer sk-secret-123"} }, "headers", false},
		{"bearer reference", func(c *TargetConfig) { c.Headers = map[string]string{"Authorization": "Bearer ${TOKEN}"} }, "", false},
		{"unclosed reference", func(c *TargetConfig) { c.Headers = map[string]string{"Authorization": "Bearer ${TOKEN"} }, "headers", false},
		{"reference to no name", func(c *TargetConfig) { c.Headers = map[string]string{"X-Team": "${sk-secret-1}"} }, "headers", false},
		{"line break", func(c *TargetConfig) { c.Headers = map[string]string{"X-Team": "a\r\nb"} }, "headers", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			err := cfg.Validate()
			var ce *ConfigError
			switch {
			case tt.field == "" && err != nil:
				t.Errorf("Validate: %v, want nil", err)
			case tt.field != "" && (!errors.As(err, &ce) || ce.Field != tt.field):
				t.Errorf("Validate: %v, want a ConfigError on %s", err, tt.field)
			case err != nil && strings.Contains(err.Error(), "sk-secret"):
				t.Errorf("the error repeats a secret: %v", err)
			}
			if tt.field == "" || tt.stricter {
				return
			}
			// NewTarget refuses the same configuration.
			if _, nerr := NewTarget(cfg, TargetEnv(func(string) (string, bool) { return "x", true })); nerr == nil {
				t.Errorf("Validate refuses it (%v), NewTarget takes it", err)
			}
		})
	}
}

// TestTargetConfigWithDefaults checks the defaults NewTarget fills in.
func TestTargetConfigWithDefaults(t *testing.T) {
	d := TargetConfig{Kind: KindAnthropic, Model: "claude"}.WithDefaults()
	want := TargetConfig{Kind: KindAnthropic, Model: "claude", Name: "claude", MaxTokens: DefaultMaxTokens, Timeout: DefaultTimeout,
		ConnectTimeout: DefaultConnectTimeout, APIKeyEnv: DefaultAnthropicKeyEnv, BaseURL: DefaultAnthropicBaseURL}
	if d.Name != want.Name || d.MaxTokens != want.MaxTokens || d.Timeout != want.Timeout || d.ConnectTimeout != want.ConnectTimeout ||
		d.APIKeyEnv != want.APIKeyEnv || d.BaseURL != want.BaseURL {
		t.Errorf("defaults %+v, want %+v", d, want)
	}
	tgt, err := NewTarget(TargetConfig{Kind: KindOpenAI, Model: "m", BaseURL: "http://127.0.0.1:1/v1"})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	got, filled := tgt.Config(), (TargetConfig{Kind: KindOpenAI, Model: "m", BaseURL: "http://127.0.0.1:1/v1"}).WithDefaults()
	if got.Name != filled.Name || got.MaxTokens != filled.MaxTokens || got.Timeout != filled.Timeout || got.ConnectTimeout != filled.ConnectTimeout || got.APIKeyEnv != filled.APIKeyEnv {
		t.Errorf("NewTarget fills in %+v, WithDefaults %+v", got, filled)
	}
}

// TestDefaultTargetName: a model id with a slash (the README's example)
// names its target safely, and that name passes the target's validation.
func TestDefaultTargetName(t *testing.T) {
	for model, want := range map[string]string{
		"meta-llama/Llama-3.1-8B-Instruct": "meta-llama-Llama-3.1-8B-Instruct",
		"gpt-4o-mini":                      "gpt-4o-mini",
		"a\\b\tc":                          "a-b-c",
	} {
		if got := DefaultTargetName(model); got != want {
			t.Errorf("DefaultTargetName(%q) = %q, want %q", model, got, want)
		}
	}
	cfg := TargetConfig{Kind: KindOpenAI, BaseURL: "http://127.0.0.1:1/v1", Model: "meta-llama/Llama-3.1-8B-Instruct"}.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the defaulted name is refused: %v", err)
	}
	tg, err := NewTarget(TargetConfig{Kind: KindOpenAI, BaseURL: "http://127.0.0.1:1/v1", Model: "meta-llama/Llama-3.1-8B-Instruct"}, TargetEnv(testEnv))
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	if tg.Name() != "meta-llama-Llama-3.1-8B-Instruct" {
		t.Errorf("target name %q", tg.Name())
	}
}
