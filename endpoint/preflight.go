package endpoint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/internal/termsafe"
)

// Preflight checks a target before a run spends anything on it:
//
//  1. The server answers, and the model is listed where the server lists
//     models (GET {base_url}/models for OpenAI-compatible servers, GET
//     /v1/models with x-api-key and anthropic-version for Anthropic). An
//     unreachable server, refused credentials, a listing that is not one and
//     a model the server does not list are errors; a server with no listing
//     endpoint is a warning.
//  2. The context window is read where the server publishes it: vLLM's
//     max_model_len in /v1/models, llama.cpp's GET /props, Ollama's POST
//     /api/show and GET /api/ps at the root of its OpenAI base URL. It is
//     compared with the declared window, and every planned length whose
//     prompt, template overhead and max_tokens do not fit is flagged.
//  3. Token calibration: one or two short needle prompts through the real
//     target compare the server's prompt token count with the client's. The
//     difference is the chat template's overhead, recorded in the report
//     (and the run's manifest); the fit sizes prompts for length_basis
//     "server" (see ServerBasisLengths).

// Preflight failure kinds, for errors.Is on a *PreflightError.
var (
	// ErrUnreachable: no HTTP answer (connection refused, DNS, TLS, timeout).
	ErrUnreachable = errors.New("target unreachable")
	// ErrUnauthorized: the server refused the credentials (401 or 403).
	ErrUnauthorized = errors.New("credentials refused")
	// ErrModelNotListed: the server lists its models and not this one.
	ErrModelNotListed = errors.New("model not listed")
	// ErrBadMetadata: the server's answer is not what its API publishes.
	ErrBadMetadata = errors.New("unexpected answer")
)

// PreflightError is a preflight failure: a message for the user who must act
// and the kind (one of the Err* values above) for errors.Is. Messages never
// hold an API key.
type PreflightError struct {
	Kind  error
	Msg   string
	Cause error // the underlying error, when there is one
}

func (e *PreflightError) Error() string { return e.Msg }

// Unwrap returns the kind and the cause.
func (e *PreflightError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Kind, e.Cause}
	}
	return []error{e.Kind}
}

// Preflight defaults.
const (
	// DefaultPreflightTimeout bounds each metadata request.
	DefaultPreflightTimeout = 30 * time.Second
	// preflightModelsShown caps the models a report and an error list.
	preflightModelsShown = 20
	// OllamaAssumedNumCtx is the context Ollama is assumed to run a model
	// with when nothing says otherwise: the default of OLLAMA_CONTEXT_LENGTH
	// in envconfig/config.go (Uint("OLLAMA_CONTEXT_LENGTH", 4096)) and the
	// smallest of the VRAM-based defaults of the newest versions (4k below 24
	// GiB, 32k to 48 GiB, 256k above; docs/context-length.mdx). Versions
	// before it defaulted to 2048.
	OllamaAssumedNumCtx = 4096
)

// Sources of a context window, as written in the report.
const (
	WindowSourceVLLM        = "max_model_len in /v1/models (vLLM)"
	WindowSourceListing     = "context_length in /v1/models"
	WindowSourceLlamaCpp    = "llama.cpp /props n_ctx"
	WindowSourceOllamaPS    = "ollama /api/ps context_length (loaded model)"
	WindowSourceOllamaShow  = "ollama /api/show num_ctx"
	WindowSourceOllamaGuess = "ollama default num_ctx"
	WindowSourceAnthropic   = "max_input_tokens in /v1/models"
	WindowSourceDeclared    = "declared"
)

// Server families preflight recognises.
const (
	ServerVLLM      = "vllm"
	ServerLlamaCpp  = "llama.cpp"
	ServerOllama    = "ollama"
	ServerAnthropic = "anthropic"
	// ServerSim is needlestorm's own simulator (package sim).
	ServerSim = "needlestorm-sim"
)

// PreflightOption changes how Preflight runs.
type PreflightOption func(*preflightOptions)

type preflightOptions struct {
	rt         http.RoundTripper
	lookupEnv  func(string) (string, bool)
	declared   int
	lengths    []int
	encoding   string
	haystack   string
	basis      string
	calLengths []int
	calSet     bool
	timeout    time.Duration
	retry      PreflightRetryPolicy
	// note records one retry in the report (set by Preflight).
	note func(key, line string)
}

// PreflightRoundTripper sends every preflight request through rt instead of a
// transport of its own.
func PreflightRoundTripper(rt http.RoundTripper) PreflightOption {
	return func(o *preflightOptions) { o.rt = rt }
}

// PreflightEnv reads environment variables (the API key, "${NAME}" headers)
// through lookup instead of os.LookupEnv.
func PreflightEnv(lookup func(name string) (string, bool)) PreflightOption {
	return func(o *preflightOptions) { o.lookupEnv = lookup }
}

// PreflightDeclaredWindow is the context window the campaign declares for
// the target, in tokens (0: none declared).
func PreflightDeclaredWindow(tokens int) PreflightOption {
	return func(o *preflightOptions) { o.declared = tokens }
}

// PreflightLengths are the prompt lengths the run plans, checked against the
// context window.
func PreflightLengths(lengths ...int) PreflightOption {
	return func(o *preflightOptions) { o.lengths = append([]int(nil), lengths...) }
}

// PreflightEncoding is the client tokenizer of the run (default cl100k_base).
func PreflightEncoding(name string) PreflightOption {
	return func(o *preflightOptions) { o.encoding = name }
}

// PreflightHaystack is the haystack of the calibration prompts (default
// prose); give the run's own so that the tokenizer ratio is measured on its
// text.
func PreflightHaystack(name string) PreflightOption {
	return func(o *preflightOptions) { o.haystack = name }
}

// PreflightLengthBasis says whether the planned lengths count client tokens
// (LengthBasisClient, the default) or server tokens (LengthBasisServer).
func PreflightLengthBasis(basis string) PreflightOption {
	return func(o *preflightOptions) { o.basis = basis }
}

// PreflightCalibrate sets the client lengths of the calibration prompts
// (default DefaultCalibrationLengths); no length turns calibration off, and
// then nothing is sent to the chat endpoint.
func PreflightCalibrate(lengths ...int) PreflightOption {
	return func(o *preflightOptions) {
		o.calLengths = append([]int{}, lengths...)
		o.calSet = true
	}
}

// PreflightTimeout bounds each metadata request (default
// DefaultPreflightTimeout). Calibration requests use the target's timeout.
func PreflightTimeout(d time.Duration) PreflightOption {
	return func(o *preflightOptions) { o.timeout = d }
}

// PreflightRetryPolicy is how preflight waits out a server that is not
// ready yet. Preflight requests are not measurements: a connection refused,
// reset or closed before the answer (a server that just started, a proxy
// restarting) is tried again up to Retries times, and a 503 (llama.cpp
// answers 503 "Loading model" on every endpoint, /health included, until
// the model is loaded) is waited out for up to ReadyWait. The waits start at
// Backoff and double up to MaxBackoff. Every retry is said in the report.
type PreflightRetryPolicy struct {
	Retries             int
	Backoff, MaxBackoff time.Duration
	ReadyWait           time.Duration
}

// DefaultPreflightRetry: 4 retries of a connection failure (about 7.5 s of
// waiting in all) and up to 2 minutes for a server that is loading.
var DefaultPreflightRetry = PreflightRetryPolicy{Retries: 4, Backoff: 500 * time.Millisecond, MaxBackoff: 5 * time.Second, ReadyWait: 2 * time.Minute}

// PreflightRetry sets how preflight waits for a server that is not ready
// (default DefaultPreflightRetry; a zero policy never retries).
func PreflightRetry(p PreflightRetryPolicy) PreflightOption {
	return func(o *preflightOptions) { o.retry = p }
}

// wait is the pause before retry number n (0 for the first).
func (r PreflightRetryPolicy) wait(n int) time.Duration {
	d := r.Backoff
	for i := 0; i < n && d < r.MaxBackoff; i++ {
		d *= 2
	}
	return max(min(d, r.MaxBackoff), 0)
}

// preflightTransient says whether a failure before any answer is worth
// trying again: the connection was refused, reset or closed early.
func preflightTransient(err error) (string, bool) {
	switch {
	case err == nil:
		return "", false
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused", true
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset", true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the connection before answering", true
	}
	return "", false
}

// preflightSleep waits d unless ctx ends first; it reports whether it
// waited the whole time.
func preflightSleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// preflightRetryLimit bounds the retry lines of a report.
const preflightRetryLimit = 20

// noteRetry records a retry: one line per request and reason, counting.
func (r *PreflightReport) noteRetry(index map[string]int, key, line string) {
	if i, ok := index[key]; ok {
		n := index[key+"#"] + 1
		index[key+"#"] = n
		r.Retries[i] = fmt.Sprintf("%s (%d times)", line, n)
		return
	}
	if len(r.Retries) >= preflightRetryLimit {
		return
	}
	index[key], index[key+"#"] = len(r.Retries), 1
	r.Retries = append(r.Retries, line)
}

// PreflightReport is what preflight learned about one target. It is written
// into the run's manifest (JSON keys in snake_case) and printed with Text.
type PreflightReport struct {
	Target  string `json:"target"`
	Kind    string `json:"kind"`
	BaseURL string `json:"base_url"` // without any password
	Model   string `json:"model"`
	// Server is the server family recognised ("vllm", "llama.cpp",
	// "ollama", "anthropic"), empty when unknown.
	Server string `json:"server,omitempty"`

	// Reachable is true once the server answered over HTTP.
	Reachable bool `json:"reachable"`
	// NotContacted says why preflight never sent the server anything (a
	// configuration it refused, such as an API key variable that is not
	// set); empty once it tried.
	NotContacted string `json:"not_contacted,omitempty"`
	// Retries are the transient failures (a connection refused or closed,
	// a server still loading) preflight waited out, one line each.
	Retries []string `json:"retries,omitempty"`
	// ModelsListed is false when the server has no listing endpoint.
	ModelsListed bool `json:"models_listed"`
	// ModelListed is true when the listing names the model.
	ModelListed bool `json:"model_listed"`
	// ModelListedAs is the listed id when it differs from the configured
	// name (Ollama's ":latest", an Anthropic alias).
	ModelListedAs string `json:"model_listed_as,omitempty"`
	// Models are the listed model ids, at most 20; ModelsTotal counts all.
	Models      []string `json:"models,omitempty"`
	ModelsTotal int      `json:"models_total,omitempty"`

	// ContextWindow is the window the lengths are checked against: the
	// server's when it publishes one, else the declared one (0: unknown).
	ContextWindow int `json:"context_window"`
	// ContextWindowServer is the window the server runs the model with, and
	// ContextWindowSource where it was read. ContextWindowAssumed is true
	// when it is a default assumed rather than read (Ollama).
	ContextWindowServer  int    `json:"context_window_server,omitempty"`
	ContextWindowSource  string `json:"context_window_source,omitempty"`
	ContextWindowAssumed bool   `json:"context_window_assumed,omitempty"`
	// ContextWindowTrained is the model's trained context (Ollama's
	// model_info, llama.cpp's n_ctx_train) where published.
	ContextWindowTrained       int    `json:"context_window_trained,omitempty"`
	ContextWindowTrainedSource string `json:"context_window_trained_source,omitempty"`
	// ContextWindowDeclared is the campaign's declared window (0: none).
	ContextWindowDeclared int `json:"context_window_declared,omitempty"`
	// OllamaNumCtxRequested is options.num_ctx from extra_body, which
	// Ollama's OpenAI-compatible endpoint does not read.
	OllamaNumCtxRequested int `json:"ollama_num_ctx_requested,omitempty"`
	// Slots is llama.cpp's total_slots: requests served at once.
	Slots int `json:"slots,omitempty"`

	// Calibrated is true when token calibration succeeded; then
	// TemplateOverhead is the server's tokens beyond the client's (the chat
	// template) and Calibration the fit.
	Calibrated       bool              `json:"calibrated"`
	TemplateOverhead int               `json:"template_overhead"`
	Calibration      *TokenCalibration `json:"calibration,omitempty"`

	// LengthBasis is "client" or "server"; MaxTokens the answer cap counted
	// into the fit; Lengths the planned lengths; TooLong those that will not
	// fit ContextWindow.
	LengthBasis string `json:"length_basis"`
	MaxTokens   int    `json:"max_tokens"`
	Lengths     []int  `json:"lengths,omitempty"`
	TooLong     []int  `json:"too_long,omitempty"`

	Warnings []string `json:"warnings,omitempty"`
}

// Fits reports whether a planned length fits the context window (true when
// the window is unknown).
func (r *PreflightReport) Fits(length int) bool {
	return !slices.Contains(r.TooLong, length)
}

// ServerPromptTokens predicts the server's prompt token count for a planned
// length: the length itself under the server basis, else through the
// calibration (the length alone when uncalibrated).
func (r *PreflightReport) ServerPromptTokens(length int) int {
	if r.LengthBasis == LengthBasisServer {
		return length
	}
	if r.Calibration != nil {
		return r.Calibration.ServerTokens(length)
	}
	return length
}

// Text renders the report for the console, one fact per line.
func (r *PreflightReport) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "preflight %s (%s, %s, model %s)\n", r.Target, r.Kind, r.BaseURL, r.Model)
	line := func(k, format string, args ...any) {
		fmt.Fprintf(&b, "  %-12s ", k)
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	if r.NotContacted != "" {
		line("reachable", "not checked: %s", r.NotContacted)
		return termsafe.Text(b.String())
	}
	for _, rt := range r.Retries {
		line("retried", "%s", rt)
	}
	if r.Reachable {
		server := r.Server
		if server == "" {
			server = "server not recognised"
		}
		line("reachable", "yes (%s)", server)
	} else {
		line("reachable", "no")
	}
	switch {
	case !r.Reachable:
	case !r.ModelsListed:
		line("model", "not checked: the server lists no models")
	case r.ModelListed && r.ModelListedAs != "":
		line("model", "listed as %s (%s served)", r.ModelListedAs, preflightCount(r.ModelsTotal, "model"))
	case r.ModelListed:
		line("model", "listed (%s served)", preflightCount(r.ModelsTotal, "model"))
	default:
		line("model", "NOT listed; the server has %s", preflightList(r.Models, r.ModelsTotal))
	}
	switch {
	case r.ContextWindowServer > 0:
		assumed := ""
		if r.ContextWindowAssumed {
			assumed = ", assumed"
		}
		line("window", "%d tokens (%s%s)", r.ContextWindowServer, r.ContextWindowSource, assumed)
	case r.ContextWindow > 0:
		line("window", "%d tokens (declared; the server publishes none)", r.ContextWindow)
	default:
		line("window", "unknown: the server publishes none and none is declared")
	}
	if r.ContextWindowDeclared > 0 && r.ContextWindowServer > 0 {
		mark := "agrees"
		if r.ContextWindowDeclared != r.ContextWindowServer {
			mark = "MISMATCH"
		}
		line("declared", "%d tokens (%s)", r.ContextWindowDeclared, mark)
	}
	if r.ContextWindowTrained > 0 {
		line("trained", "%d tokens (%s)", r.ContextWindowTrained, r.ContextWindowTrainedSource)
	}
	if r.Calibrated && r.Calibration != nil {
		pts := make([]string, len(r.Calibration.Points))
		for i, p := range r.Calibration.Points {
			pts[i] = fmt.Sprintf("%d→%d", p.ClientTokens, p.ServerTokens)
		}
		line("calibration", "template overhead %+d tokens; server ≈ %.3f × client %+.1f (client→server: %s)",
			r.TemplateOverhead, r.Calibration.Ratio, r.Calibration.Offset, strings.Join(pts, ", "))
	} else {
		line("calibration", "unavailable")
	}
	if len(r.Lengths) > 0 {
		if len(r.TooLong) > 0 {
			too := make([]string, len(r.TooLong))
			for i, l := range r.TooLong {
				too[i] = corpus.FormatLength(l)
			}
			line("too long", "%s (prompt + %d max_tokens over %d tokens)", strings.Join(too, ", "), r.MaxTokens, r.ContextWindow)
		} else if r.ContextWindow > 0 {
			line("lengths", "all %d fit the %d-token window", len(r.Lengths), r.ContextWindow)
		}
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "  warning: %s\n", w)
	}
	// Model ids, messages and warnings quote the server: nothing it sent
	// may act on the terminal this is printed to.
	return termsafe.Text(b.String())
}

// preflightNotContacted is the report's reason for a target configuration
// that was refused before any request: the message without the "target
// NAME: " the header line already says.
func preflightNotContacted(err error) string {
	msg := err.Error()
	if strings.HasPrefix(msg, "target ") {
		if _, rest, ok := strings.Cut(msg, ": "); ok {
			msg = rest
		}
	}
	return msg
}

// preflightCount writes n and a noun, in the plural unless n is 1.
func preflightCount(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// preflightList names listed models: up to the cap, then how many more.
func preflightList(models []string, total int) string {
	if total == 0 {
		return "no model"
	}
	s := strings.Join(models, ", ")
	if more := total - len(models); more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

// Preflight checks cfg's target: reachability and model listing, the
// context window against the planned lengths, and token calibration. The
// report is never nil: on an error it holds what was learned before it.
// Nothing in the report or the error holds an API key.
func Preflight(ctx context.Context, cfg TargetConfig, opts ...PreflightOption) (*PreflightReport, error) {
	o := preflightOptions{lookupEnv: os.LookupEnv, basis: LengthBasisClient, timeout: DefaultPreflightTimeout, retry: DefaultPreflightRetry}
	for _, opt := range opts {
		opt(&o)
	}
	rep := &PreflightReport{
		Target: cfg.Name, Kind: cfg.Kind, Model: cfg.Model, LengthBasis: o.basis,
		ContextWindowDeclared: o.declared, Lengths: append([]int(nil), o.lengths...),
	}
	if err := o.validate(); err != nil {
		return rep, err
	}
	if cfg.Kind == "" {
		cfg.Kind = KindOpenAI
		rep.Kind = KindOpenAI
	}
	if cfg.Kind != KindOpenAI && cfg.Kind != KindAnthropic {
		return rep, fmt.Errorf("unknown target kind %q: use \"openai\" or \"anthropic\"", cfg.Kind)
	}
	orig := cfg // as given: the calibration target normalizes it itself
	rt := o.rt
	var own *http.Transport
	if rt == nil {
		connect := cfg.ConnectTimeout
		if connect <= 0 {
			connect = DefaultConnectTimeout
		}
		own = newHTTPTransport(connect, 4)
		defer own.CloseIdleConnections()
		rt = own
		o.rt = own
	}
	if u, err := targetParseBaseURL(cfg.BaseURL, cfg.Kind); err == nil {
		rep.BaseURL = redactURL(u)
	}
	if rep.Target == "" {
		rep.Target = DefaultTargetName(cfg.Model)
	}
	tb, err := newTargetBase(cfg, cfg.Kind, []TargetOption{TargetEnv(o.lookupEnv), TargetRoundTripper(rt)})
	if err != nil {
		rep.NotContacted = preflightNotContacted(err)
		return rep, err
	}
	p := &preflight{o: &o, tb: tb, rep: rep}
	retried := map[string]int{}
	o.note = func(key, line string) { rep.noteRetry(retried, key, line) }
	rep.Target, rep.Model, rep.BaseURL = tb.cfg.Name, tb.cfg.Model, tb.info.baseURL
	rep.MaxTokens = tb.cfg.MaxTokens
	for _, k := range []string{"max_tokens", "max_completion_tokens"} {
		if n := preflightExtraInt(cfg.ExtraBody, k); n > 0 {
			rep.MaxTokens = n
		}
	}
	if cfg.Kind == KindAnthropic {
		rep.Server = ServerAnthropic
	}

	if err := p.listModels(ctx); err != nil {
		return rep, err
	}
	p.readWindow(ctx)

	if !o.calSet || len(o.calLengths) > 0 {
		lengths := p.calibrationLengths()
		if len(lengths) > 0 {
			cal, warns, err := preflightCalibrate(ctx, orig, &o, lengths)
			rep.Warnings = append(rep.Warnings, p.scrubAll(warns)...)
			if err != nil {
				return rep, p.scrubErr(err)
			}
			if cal != nil {
				rep.Calibrated = true
				rep.Calibration = cal
				rep.TemplateOverhead = cal.TemplateOverhead()
			}
		}
	}
	if rep.Server == ServerOllama {
		// The calibration request has loaded the model: /api/ps may now say
		// which context it runs with.
		p.ollamaLoaded(ctx)
	}
	p.checkWindow()
	return rep, nil
}

// validate checks the options.
func (o *preflightOptions) validate() error {
	if o.declared < 0 {
		return fmt.Errorf("declared context window %d is negative", o.declared)
	}
	for _, l := range o.lengths {
		if l <= 0 {
			return fmt.Errorf("planned length %d is not a positive number of tokens", l)
		}
	}
	for _, l := range o.calLengths {
		if l <= 0 || l > corpus.MaxLength {
			return fmt.Errorf("calibration length %d is outside 1 to %d tokens", l, corpus.MaxLength)
		}
	}
	if o.basis == "" {
		o.basis = LengthBasisClient
	}
	if o.basis != LengthBasisClient && o.basis != LengthBasisServer {
		return fmt.Errorf("length_basis %q is not %q or %q", o.basis, LengthBasisClient, LengthBasisServer)
	}
	if o.timeout <= 0 {
		o.timeout = DefaultPreflightTimeout
	}
	if o.lookupEnv == nil {
		o.lookupEnv = os.LookupEnv
	}
	return nil
}

// preflight is the state of one Preflight call.
type preflight struct {
	o   *preflightOptions
	tb  *targetBase
	rep *PreflightReport

	entry *preflightModelEntry // the listed model, when listed
	show  *preflightShow       // Ollama's /api/show, when it answered
}

// scrub removes every secret from a message.
func (p *preflight) scrub(s string) string { return p.tb.redact.Scrub(s) }

func (p *preflight) scrubAll(ss []string) []string {
	for i := range ss {
		ss[i] = p.scrub(ss[i])
	}
	return ss
}

// scrubErr returns err with its message scrubbed, as a *PreflightError when
// it is one.
func (p *preflight) scrubErr(err error) error {
	var pe *PreflightError
	if errors.As(err, &pe) {
		return &PreflightError{Kind: pe.Kind, Msg: p.scrub(pe.Msg), Cause: pe.Cause}
	}
	return err
}

// preflightResponse is one metadata answer.
type preflightResponse struct {
	status int
	body   []byte // the whole body of a 2xx answer; the error body otherwise
}

// do sends one metadata request to u (with the target's credentials and
// headers) and reads its answer, waiting out a server that is not ready
// (see PreflightRetryPolicy). A transport failure comes back as a
// *PreflightError of kind ErrUnreachable.
func (p *preflight) do(parent context.Context, method, u string, body []byte) (*preflightResponse, error) {
	start := time.Now()
	for n := 0; ; n++ {
		resp, err := p.doOnce(parent, method, u, body)
		var reason string
		switch {
		case err != nil:
			var pe *PreflightError
			r, ok := preflightTransient(err)
			if !errors.As(err, &pe) || !errors.Is(pe, ErrUnreachable) || !ok || n >= p.o.retry.Retries {
				if pe != nil && n > 0 {
					pe.Msg += fmt.Sprintf(" (tried %d times in %s)", n+1, time.Since(start).Round(time.Millisecond))
				}
				return resp, err
			}
			reason = r
		case resp.status == http.StatusServiceUnavailable && time.Since(start) < p.o.retry.ReadyWait:
			reason = "503, not ready"
			if m := errorBodyMessage(p.tb.redact.ScrubBytes(resp.body)); m != "" {
				reason += " (" + oneLine(m, 80) + ")"
			}
		default:
			return resp, err
		}
		wait := p.o.retry.wait(n)
		p.o.note(method+" "+u+" "+reason, fmt.Sprintf("%s %s: %s; tried again after %s", method, RedactURL(u), reason, wait))
		if !preflightSleep(parent, wait) {
			return resp, err
		}
	}
}

// doOnce is one attempt of do.
func (p *preflight) doOnce(parent context.Context, method, u string, body []byte) (*preflightResponse, error) {
	if parent.Err() != nil {
		return nil, fmt.Errorf("preflight of target %s stopped: %w", p.tb.cfg.Name, context.Cause(parent))
	}
	ctx, cancel := context.WithTimeout(parent, p.o.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("building the request to %s: %w", p.scrub(u), err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch p.tb.cfg.Kind {
	case KindAnthropic:
		req.Header.Set("Anthropic-Version", AnthropicVersion)
		if p.tb.key != "" {
			req.Header.Set("X-Api-Key", p.tb.key)
		}
	default:
		if p.tb.key != "" {
			req.Header.Set("Authorization", "Bearer "+p.tb.key)
		}
	}
	var call targetCall
	call.init()
	resp, err := p.tb.http.do(req, &call)
	if err != nil {
		if parent.Err() != nil {
			return nil, fmt.Errorf("preflight of target %s stopped: %w", p.tb.cfg.Name, context.Cause(parent))
		}
		_, msg := p.tb.info.transportFailure(ctx, err)
		if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
			msg = fmt.Sprintf("target %s is unreachable at %s: no answer within %s (%v)", p.tb.cfg.Name, p.tb.info.baseURL, p.o.timeout, err)
		}
		return nil, &PreflightError{Kind: ErrUnreachable, Msg: p.scrub(msg), Cause: err}
	}
	defer resp.Body.Close()
	out := &preflightResponse{status: call.status}
	if msg := call.encodingError(); msg != "" && call.status >= 200 && call.status <= 299 {
		return nil, &PreflightError{Kind: ErrBadMetadata, Msg: fmt.Sprintf("%s %s: %s", method, RedactURL(u), msg)}
	}
	if call.status < 200 || call.status > 299 {
		out.body = call.errBody
		return out, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, preflightBodyLimit+1))
	if err != nil {
		return nil, &PreflightError{Kind: ErrUnreachable, Cause: err,
			Msg: p.scrub(fmt.Sprintf("target %s at %s broke off its answer to %s %s: %v", p.tb.cfg.Name, p.tb.info.baseURL, method, RedactURL(u), err))}
	}
	if len(b) > preflightBodyLimit {
		return nil, &PreflightError{Kind: ErrBadMetadata,
			Msg: fmt.Sprintf("the answer to %s %s is larger than %d MiB: check base_url", method, RedactURL(u), preflightBodyLimit>>20)}
	}
	out.body = b
	return out, nil
}

// preflightRedactedURL returns u without any password.
// modelsURL is where the target lists its models.
func (p *preflight) modelsURL() string {
	if p.tb.cfg.Kind == KindAnthropic {
		return p.tb.base.String() + "/v1/models?limit=1000"
	}
	return p.tb.base.String() + "/models"
}

// rootURL is the server root of an OpenAI base URL ending in /v1 (or with
// no path), where llama.cpp serves /props and Ollama /api/show; ok is false
// for other paths (a gateway's /api/v1, a proxy prefix).
func (p *preflight) rootURL() (string, bool) {
	u := *p.tb.base
	switch {
	case u.Path == "":
	case strings.HasSuffix(u.Path, "/v1"):
		u.Path = strings.TrimSuffix(u.Path, "/v1")
	default:
		return "", false
	}
	return u.String(), true
}

// listModels checks that the server answers and lists the model.
func (p *preflight) listModels(ctx context.Context) error {
	rep := p.rep
	u := p.modelsURL()
	shown := RedactURL(u)
	resp, err := p.do(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	rep.Reachable = true
	switch st := resp.status; {
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		info := p.tb.info
		info.endpoint = shown
		_, msg := info.httpFailure(st, p.tb.redact.ScrubBytes(resp.body))
		return &PreflightError{Kind: ErrUnauthorized, Msg: p.scrub(fmt.Sprintf("target %s: listing models at %s: %s", p.tb.cfg.Name, shown, msg))}
	case st == http.StatusNotFound || st == http.StatusMethodNotAllowed || st == http.StatusNotImplemented:
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the server has no model listing at %s (%s): the model name was not checked; a wrong one shows as errors in the run",
			shown, statusText(st)))
		return nil
	case st < 200 || st > 299:
		rep.Warnings = append(rep.Warnings, p.scrub(fmt.Sprintf("listing models at %s failed (%s): %s; the model name was not checked",
			shown, statusText(st), errorBodyMessage(p.tb.redact.ScrubBytes(resp.body)))))
		return nil
	}
	list, err := preflightParseModels(resp.body)
	if err != nil {
		return &PreflightError{Kind: ErrBadMetadata, Cause: err, Msg: p.scrub(fmt.Sprintf(
			"target %s: the answer to GET %s is %v (it begins %q): check that base_url points at the API root of an %s server",
			p.tb.cfg.Name, shown, err, p.tb.redact.Line(string(resp.body), 80), preflightAPIName(p.tb.cfg.Kind)))}
	}
	rep.ModelsListed = true
	ids := make([]string, len(list.Entries))
	for i, e := range list.Entries {
		ids[i] = e.ID
	}
	rep.ModelsTotal = len(ids)
	// The ids are the server's text, shown in the report and in errors:
	// neutralised, so that none can drive a terminal.
	rep.Models = make([]string, min(len(ids), preflightModelsShown))
	for i := range rep.Models {
		rep.Models[i] = termsafe.Line(ids[i])
	}
	if len(list.Entries) > 0 {
		switch list.Entries[0].OwnedBy {
		case "vllm":
			rep.Server = ServerVLLM
		case "llamacpp":
			rep.Server = ServerLlamaCpp
		case "needlestorm-sim":
			rep.Server = ServerSim
		}
	}
	id, ok := preflightMatchModel(p.tb.cfg.Model, ids, p.tb.cfg.Kind)
	if ok {
		rep.ModelListed = true
		if id != p.tb.cfg.Model {
			rep.ModelListedAs = termsafe.Line(id)
		}
		i := slices.Index(ids, id)
		e := list.Entries[i]
		p.entry = &e
		return nil
	}
	switch {
	case len(list.Entries) == 1 && list.Entries[0].OwnedBy == "llamacpp":
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the server (llama.cpp) lists its one model as %q, not %q; a single-model llama.cpp server answers whatever model a request names",
			ids[0], p.tb.cfg.Model))
		p.entry = &list.Entries[0]
		return nil
	case list.HasMore:
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("model %q is not among the first %d models the server lists, and it lists more: not checked further", p.tb.cfg.Model, len(ids)))
		return nil
	}
	return &PreflightError{Kind: ErrModelNotListed, Msg: p.scrub(fmt.Sprintf(
		"target %s: the server at %s does not list model %q; it has %s. Set model to one of these",
		p.tb.cfg.Name, p.tb.info.baseURL, p.tb.cfg.Model, preflightList(rep.Models, rep.ModelsTotal)))}
}

// preflightAPIName names the API a kind speaks.
func preflightAPIName(kind string) string {
	if kind == KindAnthropic {
		return "Anthropic"
	}
	return "OpenAI-compatible"
}

// readWindow reads the context window where the server publishes it.
func (p *preflight) readWindow(ctx context.Context) {
	rep := p.rep
	if e := p.entry; e != nil {
		if e.TrainCtx > 0 {
			rep.ContextWindowTrained, rep.ContextWindowTrainedSource = e.TrainCtx, "llama.cpp n_ctx_train in /v1/models"
		}
		switch {
		case e.MaxModelLen > 0:
			rep.ContextWindowServer, rep.ContextWindowSource = e.MaxModelLen, WindowSourceVLLM
			return
		case e.MaxInputTokens > 0:
			rep.ContextWindowServer, rep.ContextWindowSource = e.MaxInputTokens, WindowSourceAnthropic
			return
		case e.ContextLength > 0:
			rep.ContextWindowServer, rep.ContextWindowSource = e.ContextLength, WindowSourceListing
			return
		}
	}
	if p.tb.cfg.Kind != KindOpenAI {
		return
	}
	root, ok := p.rootURL()
	if !ok || rep.Server == ServerVLLM {
		return
	}
	// llama.cpp: GET /props. A failure here only means "not llama.cpp".
	if resp, err := p.do(ctx, http.MethodGet, root+"/props", nil); err == nil && resp.status == http.StatusOK {
		if props, ok := preflightParseProps(resp.body); ok {
			rep.Server = ServerLlamaCpp
			rep.ContextWindowServer, rep.ContextWindowSource = props.NCtx, WindowSourceLlamaCpp
			rep.Slots = props.Slots
			return
		}
	}
	if rep.Server == ServerLlamaCpp {
		return
	}
	// Ollama: POST /api/show {"model": NAME}.
	body := fmt.Appendf(nil, `{"model":%q}`, p.tb.cfg.Model)
	resp, err := p.do(ctx, http.MethodPost, root+"/api/show", body)
	if err != nil || resp.status != http.StatusOK {
		return
	}
	show, ok := preflightParseShow(resp.body)
	if !ok {
		return
	}
	p.show = &show
	rep.Server = ServerOllama
	if show.Trained > 0 {
		rep.ContextWindowTrained, rep.ContextWindowTrainedSource = show.Trained, "ollama /api/show model_info context_length"
	}
	if show.NumCtx > 0 {
		rep.ContextWindowServer, rep.ContextWindowSource = show.NumCtx, WindowSourceOllamaShow
	} else {
		rep.ContextWindowServer, rep.ContextWindowSource, rep.ContextWindowAssumed = OllamaAssumedNumCtx, WindowSourceOllamaGuess, true
	}
	if n := preflightExtraInt(p.tb.cfg.ExtraBody, "options", "num_ctx"); n > 0 {
		rep.OllamaNumCtxRequested = n
	}
}

// ollamaLoaded reads the context of the loaded model from Ollama's /api/ps
// and adds Ollama's warnings.
func (p *preflight) ollamaLoaded(ctx context.Context) {
	rep := p.rep
	if root, ok := p.rootURL(); ok {
		if resp, err := p.do(ctx, http.MethodGet, root+"/api/ps", nil); err == nil && resp.status == http.StatusOK {
			if n := preflightParsePS(resp.body, p.tb.cfg.Model); n > 0 {
				rep.ContextWindowServer, rep.ContextWindowSource, rep.ContextWindowAssumed = n, WindowSourceOllamaPS, false
			}
		}
	}
	if rep.OllamaNumCtxRequested > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf(
			"extra_body sets options.num_ctx %d, but Ollama's OpenAI-compatible endpoint has no options field and ignores it: the model runs with %d tokens (%s). Set num_ctx in a Modelfile (PARAMETER num_ctx) or OLLAMA_CONTEXT_LENGTH on the server",
			rep.OllamaNumCtxRequested, rep.ContextWindowServer, rep.ContextWindowSource))
	}
	trained := ""
	if rep.ContextWindowTrained > 0 {
		trained = fmt.Sprintf(" (the model was trained for %d)", rep.ContextWindowTrained)
	}
	msg := fmt.Sprintf("Ollama runs this model with a %d-token context%s and silently keeps only the tail of a longer prompt, answering 200: a prompt that does not fit loses its beginning without any error",
		rep.ContextWindowServer, trained)
	if rep.ContextWindowAssumed {
		msg += fmt.Sprintf("; the %d is assumed (no num_ctx in the model's parameters, the model not loaded): older Ollama versions default to 2048, newer ones pick 4k, 32k or 256k by GPU memory, and OLLAMA_CONTEXT_LENGTH overrides it", OllamaAssumedNumCtx)
	}
	rep.Warnings = append(rep.Warnings, msg)
}

// window returns the window the lengths are checked against.
func (p *preflight) window() int {
	if p.rep.ContextWindowServer > 0 {
		return p.rep.ContextWindowServer
	}
	return p.rep.ContextWindowDeclared
}

// calibrationLengths returns the calibration lengths that fit the known
// window, shortening the default longer prompt for a small window.
func (p *preflight) calibrationLengths() []int {
	lengths := DefaultCalibrationLengths
	if p.o.calSet {
		lengths = p.o.calLengths
	}
	w := p.window()
	if w <= 0 {
		return append([]int(nil), lengths...)
	}
	// Leave room for the answer and a template of unknown size.
	room := w - preflightCalMaxTokens - max(64, w/10)
	var out []int
	for _, l := range lengths {
		switch {
		case l <= room:
			out = append(out, l)
		case !p.o.calSet && room >= 2*lengths[0]:
			out = append(out, room)
		default:
			p.rep.Warnings = append(p.rep.Warnings, fmt.Sprintf("calibration at %d tokens skipped: it would not fit the %d-token context window", l, w))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// checkWindow compares the declared window with the server's and flags the
// planned lengths that will not fit.
func (p *preflight) checkWindow() {
	rep := p.rep
	rep.ContextWindow = p.window()
	if rep.ContextWindowServer == 0 && rep.ContextWindowDeclared > 0 {
		rep.ContextWindowSource = WindowSourceDeclared
	}
	if d, s := rep.ContextWindowDeclared, rep.ContextWindowServer; d > 0 && s > 0 && d != s {
		what := "the server's is used for the checks"
		if d > s {
			what = "lengths between the two will not fit; the server's is used for the checks"
		}
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the declared context window (%d tokens) differs from the server's (%d tokens, %s): %s", d, s, rep.ContextWindowSource, what))
	}
	if !rep.Calibrated && rep.LengthBasis == LengthBasisServer {
		rep.Warnings = append(rep.Warnings, "length_basis is \"server\" but calibration is unavailable: lengths cannot be converted to the server's tokens")
	}
	if len(rep.Lengths) == 0 {
		return
	}
	if rep.ContextWindow == 0 {
		rep.Warnings = append(rep.Warnings, "no context window is known (the server publishes none and none is declared): the planned lengths were not checked; declare context_window for the target")
		return
	}
	overhead := ""
	if !rep.Calibrated && rep.LengthBasis == LengthBasisClient {
		overhead = " (without the chat template's tokens, which calibration could not measure)"
	}
	seen := make(map[int]bool)
	for _, l := range rep.Lengths {
		if seen[l] {
			continue
		}
		seen[l] = true
		if rep.ServerPromptTokens(l)+rep.MaxTokens > rep.ContextWindow {
			rep.TooLong = append(rep.TooLong, l)
		}
	}
	if len(rep.TooLong) > 0 {
		parts := make([]string, len(rep.TooLong))
		for i, l := range rep.TooLong {
			parts[i] = fmt.Sprintf("%d (about %d prompt tokens at the server)", l, rep.ServerPromptTokens(l))
		}
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s will not fit the %d-token context window with %d max_tokens%s: %s",
			preflightCount(len(rep.TooLong), "planned length"), rep.ContextWindow, rep.MaxTokens, overhead, strings.Join(parts, ", ")))
	}
}
