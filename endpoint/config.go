package endpoint

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/needlestorm/needlestorm/internal/termsafe"
)

// TargetConfig describes one endpoint to measure. It holds no secret:
// APIKeyEnv is the NAME of the environment variable holding the key, and a
// "${NAME}" inside a header value is read from the environment too.
type TargetConfig struct {
	// Name identifies the target in records and reports (default: Model).
	Name string `json:"name"`
	// Kind is "openai" or "anthropic".
	Kind string `json:"kind"`
	// BaseURL is the API root: "http://127.0.0.1:8000/v1" for an
	// OpenAI-compatible server (requests go to BaseURL/chat/completions),
	// "https://api.anthropic.com" for Anthropic (requests go to
	// BaseURL/v1/messages). A trailing slash is accepted.
	BaseURL string `json:"base_url"`
	// Model is the model name the server serves.
	Model string `json:"model"`
	// APIKeyEnv names the variable holding the API key (default
	// OPENAI_API_KEY or ANTHROPIC_API_KEY). An empty or unset default
	// variable sends no key; a variable named here must be set.
	APIKeyEnv string `json:"api_key_env,omitempty"`
	// MaxTokens caps the answer (0 means DefaultMaxTokens).
	MaxTokens int `json:"max_tokens,omitempty"`
	// Temperature of sampling (default 0, for reproducible answers).
	Temperature float64 `json:"temperature"`
	// Headers are added to every request. A "${NAME}" in a value (the whole
	// value, or a part such as "Bearer ${MYKEY}") is replaced by the
	// environment variable NAME; the result is kept out of every output.
	Headers map[string]string `json:"headers,omitempty"`
	// ExtraBody fields are merged into the JSON request body, such as vLLM's
	// {"chat_template_kwargs": {"enable_thinking": false}} or {"top_k": 1}.
	// (Ollama's OpenAI-compatible endpoint ignores {"options": {"num_ctx":
	// N}}: its context size is set in the Modelfile or the server's
	// OLLAMA_CONTEXT_LENGTH, and preflight says so.) They may override max_tokens,
	// temperature and stream_options, not model, messages or stream; a null
	// value removes one of those fields (say, stream_options for a server that
	// rejects it).
	ExtraBody map[string]any `json:"extra_body,omitempty"`
	// Timeout bounds one whole request (0 means DefaultTimeout).
	Timeout time.Duration `json:"timeout,omitempty"`
	// ConnectTimeout bounds connecting (0 means DefaultConnectTimeout).
	ConnectTimeout time.Duration `json:"connect_timeout,omitempty"`
	// ServerMetrics is the target's own Prometheus endpoint, scraped
	// during its turn into the run's server_metrics.jsonl (empty: not
	// scraped): an http or https URL, or a path such as "/metrics" on the
	// base URL's scheme, host and port. The key and headers go with the
	// scrapes only to the base URL's own scheme, host and port.
	ServerMetrics string `json:"server_metrics,omitempty"`
	// ServerMetricsInterval is the time between scrapes
	// (0: DefaultServerMetricsInterval; 100ms..1m).
	ServerMetricsInterval time.Duration `json:"server_metrics_interval,omitempty"`
}

// Bounds of a target's server_metrics_interval.
const (
	DefaultServerMetricsInterval = time.Second
	MinServerMetricsInterval     = 100 * time.Millisecond
	MaxServerMetricsInterval     = time.Minute
)

// targetConfigJSON is TargetConfig as written to files: durations as float
// seconds, like every duration needlestorm writes. Its own Timeout and
// ConnectTimeout shadow the embedded ones (a shallower field wins in
// encoding/json), so every other field is TargetConfig's own.
type targetConfigJSON struct {
	targetConfigFields
	Timeout               json.RawMessage `json:"timeout,omitempty"`
	ConnectTimeout        json.RawMessage `json:"connect_timeout,omitempty"`
	ServerMetricsInterval json.RawMessage `json:"server_metrics_interval,omitempty"`
}

// targetConfigFields is TargetConfig without its JSON methods.
type targetConfigFields TargetConfig

// MarshalJSON writes c with its durations as float seconds.
func (c TargetConfig) MarshalJSON() ([]byte, error) {
	j := targetConfigJSON{targetConfigFields: targetConfigFields(c)}
	if c.Timeout != 0 {
		j.Timeout, _ = json.Marshal(c.Timeout.Seconds())
	}
	if c.ConnectTimeout != 0 {
		j.ConnectTimeout, _ = json.Marshal(c.ConnectTimeout.Seconds())
	}
	if c.ServerMetricsInterval != 0 {
		j.ServerMetricsInterval, _ = json.Marshal(c.ServerMetricsInterval.Seconds())
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads c; durations may be numbers of seconds or Go duration
// strings such as "10m".
func (c *TargetConfig) UnmarshalJSON(b []byte) error {
	var j targetConfigJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	timeout, err := targetDuration("timeout", j.Timeout)
	if err != nil {
		return err
	}
	connect, err := targetDuration("connect_timeout", j.ConnectTimeout)
	if err != nil {
		return err
	}
	interval, err := targetDuration("server_metrics_interval", j.ServerMetricsInterval)
	if err != nil {
		return err
	}
	*c = TargetConfig(j.targetConfigFields)
	c.Timeout, c.ConnectTimeout, c.ServerMetricsInterval = timeout, connect, interval
	return nil
}

func targetDuration(field string, raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		return time.Duration(f * float64(time.Second)), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, fmt.Errorf("%s must be a number of seconds or a duration such as \"10m\"", field)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a duration such as \"90s\" or \"10m\": %w", field, s, err)
	}
	return d, nil
}

// WithDefaults returns c with what NewTarget fills in when it is left out:
// the name (the model), max_tokens, the timeouts, the key's variable and
// the base URL of the kind's hosted API. A kind that is neither openai nor
// anthropic gets the name and the numbers only.
func (c TargetConfig) WithDefaults() TargetConfig {
	c.Name = cmp.Or(c.Name, DefaultTargetName(c.Model))
	c.MaxTokens = cmp.Or(c.MaxTokens, DefaultMaxTokens)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.ConnectTimeout = cmp.Or(c.ConnectTimeout, DefaultConnectTimeout)
	switch c.Kind {
	case KindOpenAI:
		c.APIKeyEnv = cmp.Or(c.APIKeyEnv, DefaultOpenAIKeyEnv)
		c.BaseURL = cmp.Or(c.BaseURL, DefaultOpenAIBaseURL)
	case KindAnthropic:
		c.APIKeyEnv = cmp.Or(c.APIKeyEnv, DefaultAnthropicKeyEnv)
		c.BaseURL = cmp.Or(c.BaseURL, DefaultAnthropicBaseURL)
	}
	return c
}

// targetNameUnsafe are the characters a target name may not hold: a name
// becomes part of file names and one-line report rows.
const targetNameUnsafe = "/\\\n\r\t"

// DefaultTargetName is the name of a target that was given none: its
// model, with every character a name may not hold (a slash, a backslash,
// a tab or a line break) replaced by "-", so that a Hugging Face model id
// such as "meta-llama/Llama-3.1-8B-Instruct" names the target
// "meta-llama-Llama-3.1-8B-Instruct". Callers that derive a name so should
// say so when it differs from the model.
func DefaultTargetName(model string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(targetNameUnsafe, r) {
			return '-'
		}
		return r
	}, strings.TrimSpace(model))
}

// ConfigError is a mistake in one field of a TargetConfig, named by its
// JSON name ("max_tokens", "headers"), so that a caller reading the
// configuration from a file or flags can say where it came from. Its
// message never holds a secret: not the value of api_key_env, a header or
// a password in the base URL.
type ConfigError struct {
	Field, Msg string
}

func (e *ConfigError) Error() string { return e.Field + ": " + e.Msg }

// Validate reports the first mistake in c that NewTarget would refuse and
// that needs no environment (NewTarget also reads the variables the key
// and the ${NAME} headers name), as a *ConfigError.
func (c TargetConfig) Validate() error {
	for _, check := range []func(TargetConfig) *ConfigError{validateKind, validateBaseURL, validateIdentity, validateLimits, validateHeaders, validateServerMetrics} {
		if err := check(c); err != nil {
			return err
		}
	}
	return nil
}

func validateKind(c TargetConfig) *ConfigError {
	switch {
	case c.Kind == "":
		return &ConfigError{"kind", "missing: give the target's kind: openai or anthropic"}
	case c.Kind != KindOpenAI && c.Kind != KindAnthropic:
		return &ConfigError{"kind", fmt.Sprintf("%q is not a target kind: use openai or anthropic", c.Kind)}
	}
	return nil
}

func validateIdentity(c TargetConfig) *ConfigError {
	switch {
	case strings.TrimSpace(c.Model) == "":
		return &ConfigError{"model", fmt.Sprintf("missing: a %s target needs the model name the server serves (such as gpt-4o-mini, or what /v1/models lists)", c.Kind)}
	case strings.ContainsAny(c.Name, targetNameUnsafe):
		return &ConfigError{"name", fmt.Sprintf("%q: a target name must not hold slashes, tabs or line breaks", c.Name)}
	case c.APIKeyEnv != "" && !targetIsEnvName(c.APIKeyEnv):
		// The value may be the key itself: it is not repeated.
		return &ConfigError{"api_key_env", "this is not an environment variable name: api_key_env names the variable that holds the key (such as OPENAI_API_KEY), never the key itself"}
	}
	return nil
}

func validateLimits(c TargetConfig) *ConfigError {
	switch {
	case c.MaxTokens < 0:
		return &ConfigError{"max_tokens", fmt.Sprintf("%d is negative: give the cap on answer tokens, such as 256", c.MaxTokens)}
	case math.IsNaN(c.Temperature) || c.Temperature < 0 || c.Temperature > 2:
		return &ConfigError{"temperature", fmt.Sprintf("%g is outside 0..2 (0, the default, makes answers reproducible)", c.Temperature)}
	case c.Timeout < 0:
		return &ConfigError{"timeout", fmt.Sprintf("%s is negative", c.Timeout)}
	case c.ConnectTimeout < 0:
		return &ConfigError{"connect_timeout", fmt.Sprintf("%s is negative", c.ConnectTimeout)}
	}
	return nil
}

func validateBaseURL(c TargetConfig) *ConfigError {
	if _, err := targetParseBaseURL(c.BaseURL, c.Kind); err != nil {
		return &ConfigError{"base_url", strings.TrimPrefix(err.Error(), "base_url ")}
	}
	return nil
}

// validateHeaders checks the headers as NewTarget does: valid names, no
// line break in a value, and a credential header's value read from the
// environment as exactly "${NAME}".
func validateHeaders(c TargetConfig) *ConfigError {
	for _, k := range slices.Sorted(maps.Keys(c.Headers)) {
		v := c.Headers[k]
		refs, refErr := targetEnvRefs(v)
		ref := len(refs) > 0
		switch {
		case refErr != nil:
			return &ConfigError{"headers", fmt.Sprintf("header %s: %v", k, refErr)}
		case !targetIsHeaderName(k):
			return &ConfigError{"headers", fmt.Sprintf("header name %q is not a valid HTTP header name", k)}
		case !ref && targetIsCredentialHeader(k) && v != "":
			return &ConfigError{"headers", fmt.Sprintf("header %s holds a secret written out: put the secret in an environment variable and write ${NAME} in its place, such as \"Bearer ${MYKEY}\"", k)}
		case strings.ContainsAny(v, "\r\n"):
			return &ConfigError{"headers", fmt.Sprintf("header %s has a line break in its value", k)}
		}
	}
	return nil
}

func validateServerMetrics(c TargetConfig) *ConfigError {
	if c.ServerMetricsInterval != 0 && (c.ServerMetricsInterval < MinServerMetricsInterval || c.ServerMetricsInterval > MaxServerMetricsInterval) {
		return &ConfigError{"server_metrics_interval", fmt.Sprintf("%s is outside %s..%s: give the time between scrapes, such as 1s", c.ServerMetricsInterval, MinServerMetricsInterval, MaxServerMetricsInterval)}
	}
	if c.ServerMetrics == "" {
		return nil
	}
	base := c.BaseURL
	if base == "" && strings.HasPrefix(c.ServerMetrics, "/") {
		base = "http://127.0.0.1" // a sim target's URL is chosen at run time
	}
	if _, err := ResolveServerMetrics(c.ServerMetrics, base); err != nil {
		return &ConfigError{"server_metrics", err.Error()}
	}
	return nil
}

// ResolveServerMetrics is the URL a target's server_metrics names: raw
// itself when it is a URL, or a path ("/metrics") on baseURL's scheme,
// host and port. It must be http or https with no user name, password or
// query string; the error says what to change.
func ResolveServerMetrics(raw, baseURL string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	var u *url.URL
	if strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//") {
		base, err := url.Parse(baseURL)
		if err != nil || base.Host == "" {
			return nil, fmt.Errorf("%q is a path, and the target has no base_url to put it on: give the whole URL, such as http://127.0.0.1:8000/metrics", termsafe.Line(raw))
		}
		p, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("%q is not a path such as /metrics", termsafe.Line(raw))
		}
		u = &url.URL{Scheme: base.Scheme, Host: base.Host, Path: p.Path, RawPath: p.RawPath, RawQuery: p.RawQuery, ForceQuery: p.ForceQuery}
	} else {
		var err error
		if u, err = url.Parse(raw); err != nil {
			return nil, fmt.Errorf("this is not a URL: give one such as http://127.0.0.1:8000/metrics, or a path such as /metrics on the target's host")
		}
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%q: use an http:// or https:// URL such as http://127.0.0.1:8000/metrics, or a path such as /metrics on the target's host", termsafe.Line(redactURL(u)))
	case u.User != nil:
		// Never repeated: it holds a password.
		return nil, errors.New("the URL holds a user name or password: remove them (the target's api_key_env and headers are sent to a metrics URL on the base URL's own host and port)")
	case u.RawQuery != "" || u.ForceQuery:
		return nil, fmt.Errorf("%q has a query string: give the metrics path alone, such as /metrics", termsafe.Line(u.Scheme+"://"+u.Host+u.Path))
	case u.Host == "":
		return nil, fmt.Errorf("%q has no host: give one such as http://127.0.0.1:8000/metrics", termsafe.Line(raw))
	}
	return u, nil
}

// ServerMetricsHeaders are the headers a scrape of c's server_metrics
// sends when it goes to the base URL's own scheme, host and port: the API
// key as the kind sends it (Authorization: Bearer for openai, x-api-key for
// anthropic) and c's headers with their ${NAME} references read through
// lookup; secrets lists every value to keep out of outputs. What cannot be
// read is left out (NewTarget refuses such a configuration first).
func (c TargetConfig) ServerMetricsHeaders(lookup func(string) (string, bool)) (h map[string][]string, secrets []string) {
	h = map[string][]string{}
	c = c.WithDefaults()
	if key, ok := lookup(c.APIKeyEnv); ok && strings.TrimSpace(key) != "" {
		key = strings.TrimSpace(key)
		secrets = append(secrets, key)
		if c.Kind == KindAnthropic {
			h["X-Api-Key"] = []string{key}
		} else {
			h["Authorization"] = []string{"Bearer " + key}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.Headers)) {
		v := c.Headers[k]
		refs, err := targetEnvRefs(v)
		if err != nil || !targetIsHeaderName(k) {
			continue
		}
		var b strings.Builder
		at, ok := 0, true
		for _, r := range refs {
			val, set := lookup(r.name)
			if !set {
				ok = false
				break
			}
			b.WriteString(v[at:r.start])
			b.WriteString(val)
			at = r.end
			secrets = append(secrets, strings.TrimSpace(val))
		}
		b.WriteString(v[at:])
		if !ok || strings.ContainsAny(b.String(), "\r\n") {
			continue
		}
		val := strings.TrimSpace(b.String())
		if len(refs) > 0 {
			secrets = append(secrets, val)
		}
		h[textproto.CanonicalMIMEHeaderKey(k)] = []string{val}
	}
	return h, secrets
}
