package endpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/needlestorm/needlestorm/corpus"

	"github.com/needlestorm/needlestorm/run"
)

// Target kinds.
const (
	// KindOpenAI is an OpenAI-compatible chat completions endpoint: vLLM,
	// llama.cpp's server, Ollama, TGI, LM Studio, OpenAI.
	KindOpenAI = "openai"
	// KindAnthropic is the Anthropic Messages API.
	KindAnthropic = "anthropic"
)

// Defaults of a target configuration.
const (
	// DefaultMaxTokens caps the answer when max_tokens is not set. Needle
	// answers are short; reasoning models need more.
	DefaultMaxTokens = 256
	// DefaultOpenAIKeyEnv and DefaultAnthropicKeyEnv name the variables an
	// API key is read from when api_key_env is not set.
	DefaultOpenAIKeyEnv    = "OPENAI_API_KEY"
	DefaultAnthropicKeyEnv = "ANTHROPIC_API_KEY"
	// DefaultOpenAIBaseURL and DefaultAnthropicBaseURL are used when base_url
	// is not set.
	DefaultOpenAIBaseURL    = "https://api.openai.com/v1"
	DefaultAnthropicBaseURL = "https://api.anthropic.com"
)

// TargetOption changes how a target is built.
type TargetOption func(*targetOptions)

type targetOptions struct {
	lookupEnv func(string) (string, bool)
	rt        http.RoundTripper
	idle      int
}

// TargetEnv makes the target read environment variables (the API key and
// "${NAME}" header values) through lookup instead of os.LookupEnv.
func TargetEnv(lookup func(name string) (string, bool)) TargetOption {
	return func(o *targetOptions) { o.lookupEnv = lookup }
}

// TargetRoundTripper makes the target send its requests through rt instead of
// a transport of its own. The connect timeout and idle pool settings then
// belong to rt.
func TargetRoundTripper(rt http.RoundTripper) TargetOption {
	return func(o *targetOptions) { o.rt = rt }
}

// TargetIdleConns sets how many idle keep-alive connections the target keeps
// to its host (default DefaultIdleConnsPerHost).
func TargetIdleConns(n int) TargetOption {
	return func(o *targetOptions) { o.idle = n }
}

// NewTarget builds the target cfg.Kind names. The returned target also
// implements io.Closer, which releases its idle connections.
func NewTarget(cfg TargetConfig, opts ...TargetOption) (Target, error) {
	switch cfg.Kind {
	case KindOpenAI:
		return NewOpenAI(cfg, opts...)
	case KindAnthropic:
		return NewAnthropic(cfg, opts...)
	case "":
		return nil, errors.New("target kind is not set: use \"openai\" (vLLM, llama.cpp, Ollama, TGI, LM Studio, OpenAI) or \"anthropic\"")
	default:
		return nil, fmt.Errorf("unknown target kind %q: use \"openai\" or \"anthropic\"", cfg.Kind)
	}
}

// targetBase is what both target kinds share.
type targetBase struct {
	cfg    TargetConfig // normalized: defaults filled in
	base   *url.URL
	key    string // the API key; never stored anywhere else
	info   targetInfo
	http   *targetHTTP
	redact *redactor
	// maxTokens is the output cap the server was asked for: max_tokens,
	// or the number extra_body sets in its place.
	maxTokens int
	streams   sync.Pool // *streamState
}

var _ io.Closer = (*targetBase)(nil)

// Name identifies the target in records and reports.
func (t *targetBase) Name() string { return t.cfg.Name }

// Close releases the target's idle connections.
func (t *targetBase) Close() error {
	t.http.close()
	return nil
}

// Config returns the target's configuration with its defaults filled in.
func (t *targetBase) Config() TargetConfig { return t.cfg }

// newDialectBase is what both dialects' constructors share: the target's
// base, and its request fields (own, from cfg with its defaults) merged with
// cfg's extra body, which may set none of reserved.
func newDialectBase(cfg TargetConfig, kind string, opts []TargetOption, reserved []string, own func(TargetConfig) [][2]string) (*targetBase, bodyFields, error) {
	base, err := newTargetBase(cfg, kind, opts)
	if err != nil {
		return nil, bodyFields{}, err
	}
	fields, err := targetBodyFields(own(base.cfg), base.cfg.ExtraBody, reserved)
	if err != nil {
		return nil, bodyFields{}, fmt.Errorf("target %q: %w", base.cfg.Name, err)
	}
	return base, fields, nil
}

// newTargetBase validates cfg for kind and builds the shared parts. reserved
// lists the request body fields ExtraBody may not set.
func newTargetBase(cfg TargetConfig, kind string, opts []TargetOption) (*targetBase, error) {
	o := targetOptions{lookupEnv: os.LookupEnv, idle: DefaultIdleConnsPerHost}
	for _, opt := range opts {
		opt(&o)
	}
	if cfg.Kind == "" {
		cfg.Kind = kind
	}
	if cfg.Kind != kind {
		return nil, fmt.Errorf("target kind %q given to the %s constructor", cfg.Kind, kind)
	}
	label := cfg.Name
	if label == "" {
		label = cfg.Model
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("target %q: "+format, append([]any{label}, args...)...)
	}
	if strings.TrimSpace(cfg.Model) == "" {
		return nil, fail("model is not set: give the model name the server serves")
	}
	if cfg.Name == "" {
		cfg.Name = DefaultTargetName(cfg.Model)
	}
	switch {
	case cfg.MaxTokens < 0:
		return nil, fail("max_tokens %d is negative", cfg.MaxTokens)
	case cfg.MaxTokens == 0:
		cfg.MaxTokens = DefaultMaxTokens
	}
	if cfg.Temperature < 0 || cfg.Temperature > 2 {
		return nil, fail("temperature %g is outside 0..2", cfg.Temperature)
	}
	switch {
	case cfg.Timeout < 0:
		return nil, fail("timeout %s is negative", cfg.Timeout)
	case cfg.Timeout == 0:
		cfg.Timeout = DefaultTimeout
	}
	switch {
	case cfg.ConnectTimeout < 0:
		return nil, fail("connect_timeout %s is negative", cfg.ConnectTimeout)
	case cfg.ConnectTimeout == 0:
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if o.idle <= 0 {
		return nil, fail("idle connections per host must be positive, not %d", o.idle)
	}

	base, err := targetParseBaseURL(cfg.BaseURL, kind)
	if err != nil {
		return nil, fail("%w", err)
	}
	cfg.BaseURL = base.String()

	defaultEnv := DefaultOpenAIKeyEnv
	if kind == KindAnthropic {
		defaultEnv = DefaultAnthropicKeyEnv
	}
	explicit := cfg.APIKeyEnv != ""
	if !explicit {
		cfg.APIKeyEnv = defaultEnv
	}
	if !targetIsEnvName(cfg.APIKeyEnv) {
		// Never echo the value: it may be the key itself.
		return nil, fail("api_key_env must be the NAME of an environment variable (letters, digits and underscores), not the key itself")
	}
	key, set := o.lookupEnv(cfg.APIKeyEnv)
	if explicit && !set {
		return nil, fail("API key variable %s is not set (api_key_env names it): export it, or remove api_key_env to send no key", cfg.APIKeyEnv)
	}
	key = strings.TrimSpace(key)
	var secrets []string
	if key != "" {
		// Without a key, "Bearer " alone is no secret: removing it would
		// cut "Bearer" and every answer ending in "Bear" out of answers.
		secrets = append(secrets, key, "Bearer "+key)
	}
	if p, ok := base.User.Password(); ok {
		secrets = append(secrets, p)
	}

	h := &targetHTTP{}
	names := make([]string, 0, len(cfg.Headers))
	for k := range cfg.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := cfg.Headers[k]
		if !targetIsHeaderName(k) {
			return nil, fail("header name %q is not a valid HTTP header name", k)
		}
		refs, err := targetEnvRefs(v)
		if err != nil {
			return nil, fail("header %s: %w", k, err)
		}
		if len(refs) > 0 {
			// The value's ${NAME} references are read from the
			// environment; the whole value and every variable read are
			// secrets, redacted everywhere like an API key.
			var b strings.Builder
			at := 0
			for _, r := range refs {
				val, set := o.lookupEnv(r.name)
				if !set {
					return nil, fail("header %s reads ${%s}, but %s is not set", k, r.name, r.name)
				}
				b.WriteString(v[at:r.start])
				b.WriteString(val)
				at = r.end
				secrets = append(secrets, strings.TrimSpace(val))
			}
			b.WriteString(v[at:])
			v = strings.TrimSpace(b.String())
			secrets = append(secrets, v)
		} else if targetIsCredentialHeader(k) && v != "" {
			return nil, fail("header %s holds a literal credential: put it in an environment variable and write \"${NAME}\" as the value", k)
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, fail("header %s has a line break in its value", k)
		}
		if http.CanonicalHeaderKey(k) == "Host" {
			h.host = v
			continue
		}
		h.headers = append(h.headers, [2]string{http.CanonicalHeaderKey(k), v})
	}
	if o.rt != nil {
		h.rt = o.rt
	} else {
		h.transport = newHTTPTransport(cfg.ConnectTimeout, o.idle)
		h.rt = h.transport
	}

	t := &targetBase{cfg: cfg, base: base, key: key, http: h, redact: newRedactor(secrets...), maxTokens: targetMaxTokens(cfg)}
	t.streams.New = func() any { return &streamState{sse: newSSEReader(nil)} }
	t.info = targetInfo{
		name:      cfg.Name,
		kind:      kind,
		baseURL:   redactURL(base),
		model:     cfg.Model,
		apiKeyEnv: cfg.APIKeyEnv,
		keySent:   key != "",
		timeout:   cfg.Timeout,
		connect:   cfg.ConnectTimeout,
	}
	return t, nil
}

// targetMaxTokens is the output cap a request asks for: cfg.MaxTokens, or
// a whole number extra_body sends as max_tokens or max_completion_tokens in
// its place (0: none).
func targetMaxTokens(cfg TargetConfig) int {
	n := cfg.MaxTokens
	for _, k := range []string{"max_tokens", "max_completion_tokens"} {
		v, ok := cfg.ExtraBody[k]
		if !ok {
			continue
		}
		switch x := v.(type) {
		case nil:
			n = 0
		case float64:
			n = int(x)
		case int:
			n = x
		case int64:
			n = int(x)
		}
	}
	return max(n, 0)
}

// targetParseBaseURL checks a base URL and returns it without a trailing
// slash. An empty one means the kind's hosted API.
func targetParseBaseURL(raw, kind string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		raw = DefaultOpenAIBaseURL
		if kind == KindAnthropic {
			raw = DefaultAnthropicBaseURL
		}
	}
	example := "http://127.0.0.1:8000/v1"
	if kind == KindAnthropic {
		example = DefaultAnthropicBaseURL
	}
	if !strings.Contains(raw, "://") {
		return nil, fmt.Errorf("base_url %q has no scheme: write it as http://%s (or https://), such as %s",
			raw, strings.TrimLeft(raw, "/"), example)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("base_url is not a URL (such as %s): %w", example, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("base_url %q must start with http:// or https://", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("base_url %q has no host, such as %s", u.Redacted(), example)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("base_url %q must not have a query or fragment", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	switch kind {
	case KindOpenAI:
		if p, ok := strings.CutSuffix(u.Path, "/chat/completions"); ok {
			v := *u
			v.Path = p
			return nil, fmt.Errorf("base_url %q includes the endpoint: stop before /chat/completions, as in %s",
				u.Redacted(), v.Redacted())
		}
	case KindAnthropic:
		if p, ok := strings.CutSuffix(u.Path, "/messages"); ok {
			v := *u
			v.Path = strings.TrimSuffix(p, "/v1")
			return nil, fmt.Errorf("base_url %q includes the endpoint: stop before /v1/messages, as in %s",
				u.Redacted(), v.Redacted())
		}
		// Requests go to /v1/messages; accept a base that already ends in /v1.
		u.Path = strings.TrimSuffix(u.Path, "/v1")
	}
	return u, nil
}

// targetIsEnvName reports whether s is a plausible environment variable name.
func targetIsEnvName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// targetEnvRef is one "${NAME}" in a header value: v[start:end].
type targetEnvRef struct {
	start, end int
	name       string
}

// targetEnvRefs finds the "${NAME}" references in a header value, such as
// "Bearer ${MYKEY}". A "${" that does not open a valid reference is an
// error that says what to write; a "$" not followed by "{" is kept as is.
func targetEnvRefs(v string) ([]targetEnvRef, error) {
	var refs []targetEnvRef
	for i := 0; i < len(v); {
		j := strings.Index(v[i:], "${")
		if j < 0 {
			break
		}
		start := i + j
		end := strings.IndexByte(v[start:], '}')
		if end < 0 {
			return nil, errors.New("a \"${\" is not closed: write ${NAME} to read the environment variable NAME")
		}
		end += start + 1
		name := v[start+2 : end-1]
		if !targetIsEnvName(name) {
			// Never echo it: it may be a secret written in by mistake.
			return nil, errors.New("a ${...} does not hold an environment variable name (letters, digits and underscores)")
		}
		refs = append(refs, targetEnvRef{start: start, end: end, name: name})
		i = end
	}
	return refs, nil
}

// targetIsCredentialHeader reports headers that carry credentials.
func targetIsCredentialHeader(k string) bool {
	switch strings.ToLower(k) {
	case "authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "x-goog-api-key":
		return true
	}
	return false
}

// targetIsHeaderName reports whether k is an HTTP token.
func targetIsHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// targetBodyFields renders the JSON members a target adds to every request
// body: its own fields (skipped when extra sets them) and then the extra body
// fields, sorted. Each member starts with a comma. reserved fields may not be
// set by extra. The first of own is the target's cap member (max_tokens or
// max_completion_tokens); where every cap member's value lies is kept, so a
// case's own max_tokens can replace it (see bodyFields); a null one stays.
func targetBodyFields(own [][2]string, extra map[string]any, reserved []string) (bodyFields, error) {
	for _, r := range reserved {
		if _, ok := extra[r]; ok {
			return bodyFields{}, fmt.Errorf("extra_body may not set %q: needlestorm sets it for every request", r)
		}
	}
	var f bodyFields
	capSent := false
	if len(own) > 0 && slices.Contains(bodyCapKeys, own[0][0]) {
		f.capKey = own[0][0]
	}
	member := func(k string, v []byte) {
		kj, _ := json.Marshal(k)
		f.b = append(f.b, ',')
		f.b = append(f.b, kj...)
		f.b = append(f.b, ':')
		if slices.Contains(bodyCapKeys, k) {
			capSent = true
			if string(v) != "null" {
				f.caps = append(f.caps, [2]int{len(f.b), len(f.b) + len(v)})
			}
		}
		f.b = append(f.b, v...)
	}
	for _, kv := range own {
		if _, ok := extra[kv[0]]; ok {
			continue
		}
		member(kv[0], []byte(kv[1]))
	}
	ownKey := make(map[string]bool, len(own))
	for _, kv := range own {
		ownKey[kv[0]] = true
	}
	keys := make([]string, 0, len(extra))
	for k, v := range extra {
		if v == nil && ownKey[k] {
			continue // null removes a field needlestorm would send
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, err := json.Marshal(extra[k])
		if err != nil {
			return bodyFields{}, fmt.Errorf("extra_body field %q cannot be written as JSON: %w", k, err)
		}
		member(k, v)
	}
	if capSent {
		f.capKey = "" // a cap member is there, if only as null
	}
	return f, nil
}

// prepare fills the request-independent fields of rec.
func (t *targetBase) prepare(c *corpus.Case, rec *run.Record) {
	if rec.Schema == "" {
		rec.Schema = run.RecordSchema
	}
	if rec.Target == "" {
		rec.Target = t.cfg.Name
	}
	if rec.Model == "" {
		rec.Model = t.cfg.Model
	}
	rec.PromptTokensClient = c.PromptTokens
}

// fail records a failure in rec, with every secret (and every piece of one)
// removed from msg before it is cut to errorRecordLimit.
func (t *targetBase) fail(rec *run.Record, class, msg string) {
	rec.ErrorClass = class
	rec.Error = t.redact.Line(msg, errorRecordLimit)
}

// failHTTP records a non-2xx response. The body is scrubbed before its
// message is cut to errorMessageLimit, so a cut cannot split a key.
func (t *targetBase) failHTTP(rec *run.Record, call *targetCall) {
	class, msg := t.info.httpFailure(call.status, t.redact.ScrubBytes(call.errBody))
	t.fail(rec, class, msg)
	rec.RetryAfter = run.Seconds(parseRetryAfter(call.header, time.Now()))
}

// failStreamError records an error the server reported inside a stream.
// status is the HTTP status the error implies; a message that says the
// prompt did not fit wins over it, as the stream's own status was 200.
func (t *targetBase) failStreamError(rec *run.Record, status int, raw []byte) {
	raw = t.redact.ScrubBytes(raw)
	class := ClassifyHTTPError(status, raw)
	if IsContextOverflow(string(raw)) {
		class = run.ErrContextOverflow
	}
	t.fail(rec, class, "the server reported an error in the stream: "+errorBodyMessage(raw))
}

// seal removes every secret from what rec quotes of the answer: a server
// may echo the key (or the request holding it) in a 200 answer.
func (t *targetBase) seal(rec *run.Record) {
	rec.Answer = t.redact.Scrub(rec.Answer)
}

// sendTimes records SentAt, TTFB and Status from an instrumented call.
func (t *targetBase) sendTimes(rec *run.Record, call *targetCall, started time.Time) {
	if call.sentAt.IsZero() {
		rec.SentAt = started
		return
	}
	rec.SentAt = call.sentAt
	if call.resp != nil {
		rec.Status = call.status
		if d := call.firstByte.Sub(call.sentAt); d > 0 {
			rec.TTFB = run.Seconds(d)
		}
	}
}
