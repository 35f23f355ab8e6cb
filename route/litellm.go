package route

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
)

// LiteLLMConfig is the part of a LiteLLM proxy config.yaml that routing
// writes. Every key mirrors LiteLLM's documentation:
// docs.litellm.ai/docs/proxy/configs (model_list, model_name,
// litellm_params with model, api_base, api_key and rpm/tpm),
// docs.litellm.ai/docs/proxy/config_settings (router_settings: fallbacks,
// context_window_fallbacks, enable_pre_call_checks, "required for
// model_info.max_input_tokens enforcement"; model_info:
// input_cost_per_token, output_cost_per_token) and
// docs.litellm.ai/docs/proxy/reliability (fallbacks between model groups,
// context window fallbacks with pre-call checks).
type LiteLLMConfig struct {
	ModelList      []LiteLLMDeployment   `yaml:"model_list"`
	RouterSettings LiteLLMRouterSettings `yaml:"router_settings"`
}

// LiteLLMDeployment is one entry of model_list: a deployment in the model
// group model_name.
type LiteLLMDeployment struct {
	// ModelName is the model group clients ask for: the job's name, or
	// "<job>.<target>" for a fallback's group.
	ModelName     string           `yaml:"model_name"`
	LiteLLMParams LiteLLMParams    `yaml:"litellm_params"`
	ModelInfo     LiteLLMModelInfo `yaml:"model_info"`
}

// LiteLLMParams are a deployment's litellm_params.
type LiteLLMParams struct {
	// Model is "<provider>/<model>": openai/ for an OpenAI-compatible
	// endpoint (docs/providers/openai_compatible), anthropic/ for the
	// Anthropic API.
	Model string `yaml:"model"`
	// APIBase is the endpoint's base URL (…/v1 for OpenAI-compatible ones:
	// LiteLLM appends /chat/completions).
	APIBase string `yaml:"api_base,omitempty"`
	// APIKey is "os.environ/NAME": LiteLLM reads the key from the
	// environment variable the target's campaign named.
	APIKey string `yaml:"api_key,omitempty"`
	// RPM and TPM are the deployment's rate limits, per minute.
	RPM int `yaml:"rpm,omitempty"`
	TPM int `yaml:"tpm,omitempty"`
}

// LiteLLMModelInfo is a deployment's model_info.
type LiteLLMModelInfo struct {
	// MaxInputTokens is the measured effective context length; with
	// enable_pre_call_checks LiteLLM skips the deployment for a longer
	// prompt (and falls back by context_window_fallbacks).
	MaxInputTokens int `yaml:"max_input_tokens"`
	// InputCostPerToken and OutputCostPerToken are the prices per token
	// (the campaign's prices per million tokens / 1e6); nil without price.
	InputCostPerToken  *PerToken `yaml:"input_cost_per_token,omitempty"`
	OutputCostPerToken *PerToken `yaml:"output_cost_per_token,omitempty"`
}

// LiteLLMRouterSettings is router_settings.
type LiteLLMRouterSettings struct {
	// EnablePreCallChecks makes LiteLLM check a prompt against each
	// deployment's max_input_tokens before calling it.
	EnablePreCallChecks bool `yaml:"enable_pre_call_checks"`
	// Fallbacks map a model group to the groups tried, in order, when it
	// fails.
	Fallbacks []map[string][]string `yaml:"fallbacks,omitempty"`
	// ContextWindowFallbacks map a model group to the groups tried when a
	// prompt exceeds its window, by measured effective context, smallest
	// that is larger first.
	ContextWindowFallbacks []map[string][]string `yaml:"context_window_fallbacks,omitempty"`
}

// PerToken is a price per token, written as a plain decimal (0.00000005,
// never 5e-08): LiteLLM reads its config with PyYAML, which takes an
// exponent without a decimal point for a string.
type PerToken float64

// MarshalYAML writes the price as a plain decimal with a point.
func (p PerToken) MarshalYAML() ([]byte, error) {
	// Twelve significant digits drop the noise of dividing by a million
	// (0.05/1e6 is 5.0000000000000004e-08).
	v, err := strconv.ParseFloat(strconv.FormatFloat(float64(p), 'g', 12, 64), 64)
	if err != nil {
		return nil, err
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return []byte(s), nil
}

// FallbackGroup names the model group of a job's fallback target.
func FallbackGroup(job, target string) string { return job + "." + target }

// LiteLLM builds the LiteLLM config of the covered jobs: one model group
// per job holding its chosen target, one group per fallback, the general
// fallbacks in rank order and the context window fallbacks by effective
// context.
func (r *Routes) LiteLLM() *LiteLLMConfig {
	cfg := &LiteLLMConfig{ModelList: []LiteLLMDeployment{}, RouterSettings: LiteLLMRouterSettings{EnablePreCallChecks: true}}
	for i := range r.Decisions {
		d := &r.Decisions[i]
		chosen := d.Chosen()
		if chosen == nil {
			continue
		}
		type group struct {
			name string
			eff  int
		}
		groups := []group{{d.Job.Name, chosen.Judged.EffectiveContextLength}}
		cfg.ModelList = append(cfg.ModelList, deployment(d.Job.Name, chosen))
		var fb []string
		for _, c := range d.Fallbacks() {
			name := FallbackGroup(d.Job.Name, c.Target)
			cfg.ModelList = append(cfg.ModelList, deployment(name, c))
			fb = append(fb, name)
			groups = append(groups, group{name, c.Judged.EffectiveContextLength})
		}
		if len(fb) > 0 {
			cfg.RouterSettings.Fallbacks = append(cfg.RouterSettings.Fallbacks, map[string][]string{d.Job.Name: fb})
		}
		byContext := slices.Clone(groups)
		slices.SortStableFunc(byContext, func(a, b group) int { return a.eff - b.eff })
		for _, g := range groups {
			var larger []string
			for _, o := range byContext {
				if o.eff > g.eff {
					larger = append(larger, o.name)
				}
			}
			if len(larger) > 0 {
				cfg.RouterSettings.ContextWindowFallbacks = append(cfg.RouterSettings.ContextWindowFallbacks, map[string][]string{g.name: larger})
			}
		}
	}
	return cfg
}

// deployment is one candidate's model_list entry in group name.
func deployment(name string, c *Candidate) LiteLLMDeployment {
	et := &c.Measurement.Target
	lim := c.Limits()
	d := LiteLLMDeployment{
		ModelName: name,
		LiteLLMParams: LiteLLMParams{
			Model:   providerPrefix(et.Kind) + et.Model,
			APIBase: et.BaseURL,
			APIKey:  apiKey(et.Kind, et.APIKeyEnv),
			RPM:     lim.RPM,
			TPM:     lim.TPM,
		},
		ModelInfo: LiteLLMModelInfo{MaxInputTokens: lim.MaxInputTokens},
	}
	if pr := et.Prices; pr != nil {
		in, out := PerToken(pr.Input/1e6), PerToken(pr.Output/1e6)
		d.ModelInfo.InputCostPerToken, d.ModelInfo.OutputCostPerToken = &in, &out
	}
	return d
}

// providerPrefix is LiteLLM's provider for a target kind: anthropic/ for
// the Anthropic API, openai/ for OpenAI-compatible endpoints (and the
// simulator, which speaks that API).
func providerPrefix(kind string) string {
	if kind == "anthropic" {
		return "anthropic/"
	}
	return "openai/"
}

// apiKey is the api_key value: os.environ/NAME of the target's key
// variable, or the default variable of its kind. The simulator needs no
// key, but LiteLLM's OpenAI client insists on one: "none".
func apiKey(kind, env string) string {
	switch {
	case env != "":
		return "os.environ/" + env
	case kind == "anthropic":
		return "os.environ/ANTHROPIC_API_KEY"
	case kind == "sim":
		return "none"
	}
	return "os.environ/OPENAI_API_KEY"
}

// WriteLiteLLM writes the LiteLLM config as YAML, after a comment saying
// where each figure came from and which rates are only lower bounds.
func WriteLiteLLM(w io.Writer, r *Routes) error {
	b, err := yaml.MarshalWithOptions(r.LiteLLM(), yaml.Indent(2), yaml.IndentSequence(true))
	if err != nil {
		return fmt.Errorf("encoding the LiteLLM config: %w", err)
	}
	var out bytes.Buffer
	for _, line := range r.provenance() {
		out.WriteString(strings.TrimRight("# "+line, " ") + "\n")
	}
	out.WriteByte('\n')
	out.Write(b)
	if _, err := w.Write(out.Bytes()); err != nil {
		return fmt.Errorf("writing the LiteLLM config: %w", err)
	}
	return nil
}

// provenance says, one line each, where the config's figures came from.
func (r *Routes) provenance() []string {
	lines := []string{"LiteLLM proxy config written by needlestorm route from measured envelopes:"}
	for _, s := range r.Fleet.Sources {
		line := "  run " + s.Label()
		if s.UpgradedFrom != "" && s.Run == nil {
			line += " (a " + s.UpgradedFrom + " envelope: kinds, base URLs and prices unknown; OpenAI-compatible assumed, api_base left out)"
		}
		lines = append(lines, line)
	}
	lines = append(lines, "max_input_tokens is the measured effective context (never the claimed window);",
		"rpm is the highest rate held at the job's length x 60; tpm is rpm x measured tokens per request.")
	if r.usesSim() {
		lines = append(lines, "Targets of kind sim were the run's own in-process simulator: their api_base was a",
			"loopback port that closed with the run (serve one with `needlestorm sim` and point api_base at it).")
	}
	for i := range r.Decisions {
		d := &r.Decisions[i]
		chosen := d.Chosen()
		if chosen == nil {
			lines = append(lines, fmt.Sprintf("%s: NOT COVERED by any target; left out", d.Job.Name))
			continue
		}
		groups := []string{d.Job.Name}
		cands := []*Candidate{chosen}
		for _, c := range d.Fallbacks() {
			groups = append(groups, FallbackGroup(d.Job.Name, c.Target))
			cands = append(cands, c)
		}
		for k, c := range cands {
			lim := c.Limits()
			line := fmt.Sprintf("%s: %s from %s at %s", groups[k], c.Target, c.Measurement.Source.Label(), lengthAt(c))
			if lim.RPMLowerBound {
				line += "; rpm is a LOWER BOUND: the highest rate tried held"
			}
			if c.AccuracyNote != "" {
				line += "; " + c.AccuracyNote
			}
			lines = append(lines, line)
		}
		if n := d.Job.FallbackCount(); len(cands)-1 < n {
			lines = append(lines, fmt.Sprintf("%s: %d fallback(s) asked, %d other target(s) cover the job", d.Job.Name, n, len(cands)-1))
		}
	}
	return lines
}

// usesSim reports whether a route goes to a simulated target.
func (r *Routes) usesSim() bool {
	for i := range r.Decisions {
		if c := r.Decisions[i].Chosen(); c != nil && c.Measurement.Target.Kind == "sim" {
			return true
		}
	}
	return false
}

// lengthAt names the length and rate a candidate's figures were read at.
func lengthAt(c *Candidate) string {
	s := fmt.Sprintf("length %d", c.Judged.Length)
	if c.Judged.MaxRate != nil {
		s += ", max rate " + Rate(*c.Judged.MaxRate).String()
	}
	return s
}
