package reports

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/run"
)

// EnvelopeRun says which run an envelope's measurements come from.
type EnvelopeRun struct {
	// Dir is the run directory the envelope was built from, as given.
	Dir string `json:"dir,omitempty"`
	// Campaign names the campaign that ran (empty for a run from flags).
	Campaign string `json:"campaign,omitempty"`
	// Tool and Version name the program that measured.
	Tool    string `json:"tool,omitempty"`
	Version string `json:"version,omitempty"`
	// StartedAt and EndedAt bound the run (EndedAt zero while running).
	StartedAt time.Time `json:"started_at,omitzero"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
}

// When is the run's time for telling newer measurements from older: its
// end, else its start; zero when unknown.
func (r *EnvelopeRun) When() time.Time {
	if r == nil {
		return time.Time{}
	}
	if !r.EndedAt.IsZero() {
		return r.EndedAt
	}
	return r.StartedAt
}

// EnvelopeWindow is a target's context window as preflight found it.
type EnvelopeWindow struct {
	// Tokens is the window prompts were checked against: the server's when
	// it published one, else the one the campaign declared.
	Tokens int `json:"tokens"`
	// Source says where Tokens was read, such as "max_model_len in
	// /v1/models (vLLM)" or "declared in the campaign".
	Source string `json:"source"`
	// Assumed is true when Tokens is a default the server is known to use
	// rather than a figure it published (Ollama).
	Assumed bool `json:"assumed,omitempty"`
	// Declared is the campaign's declared window, 0 when none.
	Declared int `json:"declared,omitempty"`
}

// TokensPerRequest are the mean token counts of a point's successful
// requests: prompt tokens as the server counted them (the client's count
// where the server gave none) and output tokens.
type TokensPerRequest struct {
	Prompt float64 `json:"prompt"`
	Output float64 `json:"output"`
}

// Total is the prompt and output tokens of one request.
func (t *TokensPerRequest) Total() float64 {
	if t == nil {
		return 0
	}
	return t.Prompt + t.Output
}

// What stopped an effective context length (EnvelopeTarget.Limit).
const (
	// LimitTested: the longest tested length held; a longer one might too.
	LimitTested = "longest_tested_length"
	// LimitAccuracy: accuracy fell below the threshold at the next length.
	LimitAccuracy = "accuracy"
	// LimitWindow: the measured context window is shorter than the next
	// length that read right.
	LimitWindow = "context_window"
	// LimitNothingTested: no length was tested.
	LimitNothingTested = "nothing_tested"
)

// EffectiveAt returns the target's effective context length at an
// accuracy threshold, what limited it in words, and as a Limit code. It is
// EffectiveLength over the tested lengths, capped at the longest of them
// that fits the measured window.
func (et *EnvelopeTarget) EffectiveAt(threshold float64) (int, string, string) {
	lengths := make([]int, len(et.Lengths))
	accs := make([]float64, len(et.Lengths))
	for i, el := range et.Lengths {
		lengths[i], accs[i] = el.Length, el.Accuracy
	}
	eff, why := EffectiveLength(lengths, accs, threshold)
	limit := LimitTested
	switch {
	case len(lengths) == 0:
		limit = LimitNothingTested
	case eff < lengths[len(lengths)-1]:
		limit = LimitAccuracy
	}
	w := et.Window
	if w == nil || w.Tokens <= 0 || eff <= w.Tokens {
		return eff, why, limit
	}
	capped := 0
	for _, l := range lengths {
		if l <= eff && l <= w.Tokens {
			capped = l
		}
	}
	return capped, fmt.Sprintf("the context window is %d tokens (%s): a longer prompt does not fit whole", w.Tokens, w.Source), LimitWindow
}

// setMaxRate sets MaxRate, At, Ceiling and MaxRateRequests from Points.
func (el *EnvelopeLength) setMaxRate() {
	el.MaxRate, el.At, el.Ceiling, el.MaxRateRequests, el.Unresolved = nil, nil, false, 0, ""
	j := HighestPassing(el.Points)
	if k := j + 1; k < len(el.Points) && len(el.Points[k].Unresolved) > 0 {
		el.Unresolved = fmt.Sprintf("%s unresolved (counted neither as held nor as failed): %s", formatRate(el.Points[k].Rate), strings.Join(el.Points[k].Unresolved, "; "))
	}
	if j < 0 {
		return
	}
	at := el.Points[j]
	el.MaxRate, el.At = &at.Rate, &at
	el.Ceiling = j == len(el.Points)-1
	el.MaxRateRequests = at.Requests
}

// requestsUpTo is the number of requests behind the accuracy of every
// tested length up to length.
func (et *EnvelopeTarget) requestsUpTo(length int) int {
	n := 0
	for _, el := range et.Lengths {
		if el.Length <= length {
			n += el.Requests
		}
	}
	return n
}

// addEvidence fills in what envelope v2 records beside the measurements:
// the run, each target's kind, base URL, key variable, prices and measured
// window (from the manifest), the effective context capped at that window,
// and each point's tokens per request (from the records).
func addEvidence(s *Summary, m *run.Manifest) {
	env := s.Envelope
	addTokens(env, s.records)
	if m == nil {
		return
	}
	env.Run = &EnvelopeRun{Dir: s.Run.Dir, Campaign: m.Campaign, Tool: m.Tool, Version: m.Version, StartedAt: m.StartedAt, EndedAt: m.EndedAt}
	targets := manifestTargetsOf(m)
	windows := preflightWindowsOf(m)
	for i := range env.Targets {
		et := &env.Targets[i]
		mt := targets[et.Target]
		et.Kind, et.BaseURL, et.APIKeyEnv = mt.Kind, SafeURL(mt.BaseURL), mt.APIKeyEnv
		if mt.Prices != nil && mt.Prices.Given() {
			pr := *mt.Prices
			et.Prices, et.Currency = &pr, mt.Currency
		}
		if w, ok := windows[et.Target]; ok {
			et.Window = &w
		} else if mt.ContextWindow > 0 {
			et.Window = &EnvelopeWindow{Tokens: mt.ContextWindow, Source: "declared in the campaign (no preflight)", Declared: mt.ContextWindow}
		}
		if et.Window != nil && et.EffectiveContextLength > et.Window.Tokens {
			et.EffectiveContextLength, et.LimitedBy, et.Limit = et.EffectiveAt(et.AccuracyThreshold)
			et.EffectiveContextRequests = et.requestsUpTo(et.EffectiveContextLength)
		}
	}
}

// evidenceTarget is what addEvidence reads of one manifest target.
type evidenceTarget struct {
	Name          string `json:"name"`
	Kind          string `json:"kind"`
	BaseURL       string `json:"base_url"`
	APIKeyEnv     string `json:"api_key_env"`
	Prices        *Price `json:"prices"`
	Currency      string `json:"currency"`
	ContextWindow int    `json:"context_window"`
}

// manifestTargetsOf reads the manifest's targets by name; an unreadable
// list gives none (the envelope then lacks only this evidence).
func manifestTargetsOf(m *run.Manifest) map[string]evidenceTarget {
	out := map[string]evidenceTarget{}
	var list []evidenceTarget
	if len(m.Targets) == 0 || json.Unmarshal(m.Targets, &list) != nil {
		return out
	}
	for _, t := range list {
		out[t.Name] = t
	}
	return out
}

// preflightWindowsOf reads the window preflight found for each target.
func preflightWindowsOf(m *run.Manifest) map[string]EnvelopeWindow {
	out := map[string]EnvelopeWindow{}
	var list []struct {
		Target   string `json:"target"`
		Window   int    `json:"context_window"`
		Server   int    `json:"context_window_server"`
		Source   string `json:"context_window_source"`
		Assumed  bool   `json:"context_window_assumed"`
		Declared int    `json:"context_window_declared"`
	}
	if len(m.Preflight) == 0 || json.Unmarshal(m.Preflight, &list) != nil {
		return out
	}
	for _, p := range list {
		if p.Window <= 0 {
			continue
		}
		w := EnvelopeWindow{Tokens: p.Window, Source: p.Source, Assumed: p.Assumed, Declared: p.Declared}
		if p.Server <= 0 || w.Source == "" {
			w.Source = "declared in the campaign"
		}
		out[p.Target] = w
	}
	return out
}

// addTokens sets each point's mean tokens per successful request.
func addTokens(env *Envelope, recs []scored) {
	type sum struct {
		prompt, output, n int
	}
	sums := map[pointKey]*sum{}
	for _, sc := range recs {
		r := sc.rec
		if r.Warmup || r.ErrorClass != "" || r.Task == corpus.TaskDataset {
			continue // the envelope's points are the needles'
		}
		k := pointKey{stageKey{r.Target, r.Stage}, r.Length}
		t := sums[k]
		if t == nil {
			t = &sum{}
			sums[k] = t
		}
		prompt := r.PromptTokensServer
		if prompt <= 0 {
			prompt = r.PromptTokensClient
		}
		t.prompt, t.output, t.n = t.prompt+prompt, t.output+r.OutputTokens, t.n+1
	}
	for i := range env.Targets {
		et := &env.Targets[i]
		for j := range et.Lengths {
			el := &et.Lengths[j]
			for p := range el.Points {
				pt := &el.Points[p]
				if t := sums[pointKey{stageKey{et.Target, pt.Stage}, el.Length}]; t != nil && t.n > 0 {
					pt.Tokens = &TokensPerRequest{Prompt: float64(t.prompt) / float64(t.n), Output: float64(t.output) / float64(t.n)}
				}
			}
			el.setMaxRate()
		}
	}
}

// SafeURL returns u without user, password, query and fragment: what may
// be shown of a base URL. A URL that does not parse gives "" (it might
// hold anything).
func SafeURL(u string) string {
	if u == "" {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return ""
	}
	p.User, p.RawQuery, p.ForceQuery, p.Fragment, p.RawFragment = nil, "", false, "", ""
	return p.String()
}

// MaxRateText writes a length's max rate for people: "4/s", "≥32/s" when
// it is a ceiling (every rate tried held: a lower bound), "none".
func (el *EnvelopeLength) MaxRateText() string {
	s := formatMaxRate(el.MaxRate)
	if el.Ceiling && el.MaxRate != nil {
		s = "≥" + s
	}
	return s
}
