package route

import (
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/needlestorm/needlestorm/reports"
)

// RoutesSchema names the version of the routes JSON format.
const RoutesSchema = "needlestorm.routes/v1"

// RoutesJSON is the routing answer for any router or gateway: per job the
// chosen target, its fallbacks, the evidence behind each (run, length,
// rate, accuracy with its interval) and why every other target does not
// cover the job.
type RoutesJSON struct {
	Schema string `json:"schema"`
	// RoutingFile is the routing file's path.
	RoutingFile string `json:"routing_file,omitempty"`
	// Sources are the envelopes read, in the order given.
	Sources []*Source `json:"sources"`
	// Superseded are older measurements replaced by newer ones.
	Superseded []Superseded `json:"superseded,omitempty"`
	Jobs       []JobJSON    `json:"jobs"`
	// Uncovered names the jobs no target covers.
	Uncovered []string `json:"uncovered"`
}

// JobJSON is one job's routing.
type JobJSON struct {
	Job Job `json:"job"`
	// Tier is the tier the job needs ("" for any).
	Tier    Tier   `json:"tier,omitempty"`
	Covered bool   `json:"covered"`
	Summary string `json:"summary"`
	// Route is the chosen target (null when uncovered) and Fallbacks the
	// ones behind it, in order.
	Route     *RouteJSON  `json:"route"`
	Fallbacks []RouteJSON `json:"fallbacks"`
	// Others are the remaining targets: covering ones beyond the fallback
	// count (Covers true), and those that do not cover the job, with why.
	Others   []OtherJSON `json:"others"`
	RankedBy string      `json:"ranked_by"`
}

// RouteJSON is one target serving a job, with its evidence and limits.
type RouteJSON struct {
	Target string `json:"target"`
	Model  string `json:"model,omitempty"`
	Kind   string `json:"kind,omitempty"`
	// BaseURL has no user, password or query.
	BaseURL   string `json:"base_url,omitempty"`
	APIKeyEnv string `json:"api_key_env,omitempty"`
	// Group is the LiteLLM model group it is written under.
	Group    string       `json:"group"`
	Rank     int          `json:"rank"`
	Source   *Source      `json:"source"`
	Evidence EvidenceJSON `json:"evidence"`
	Limits   Limits       `json:"limits"`
}

// EvidenceJSON is what a route rests on, from one run.
type EvidenceJSON struct {
	// Length is the tested length the job was judged at (the shortest at
	// or above its context where the target covers it).
	Length int `json:"length"`
	// Rate is the covering point's rate (requests per second) and Requests
	// the requests measured there.
	Rate     float64 `json:"rate"`
	Requests int     `json:"requests"`
	// Accuracy at the covering point, with its Wilson 95% interval.
	Accuracy   float64    `json:"accuracy"`
	AccuracyCI [2]float64 `json:"accuracy_ci95"`
	// TTFTP95 and E2EP95 are seconds at the covering point; null when not
	// observed.
	TTFTP95 *float64 `json:"ttft_p95"`
	E2EP95  *float64 `json:"e2e_p95"`
	// CostPerRequest and CostPerCorrect are null without a price.
	CostPerRequest *float64 `json:"cost_per_request"`
	CostPerCorrect *float64 `json:"cost_per_correct"`
	Currency       string   `json:"currency,omitempty"`
	// MaxRate is the highest rate held at Length; MaxRateIsLowerBound is
	// true when it was the highest rate tried (the envelope's ceiling).
	MaxRate             *float64 `json:"max_rate"`
	MaxRateIsLowerBound bool     `json:"max_rate_is_lower_bound"`
	MaxRateRequests     int      `json:"max_rate_requests"`
	// EffectiveContextLength is at the job's accuracy, capped by the
	// measured window; LimitedBy says what stopped it.
	EffectiveContextLength int                       `json:"effective_context_length"`
	LimitedBy              string                    `json:"limited_by,omitempty"`
	Window                 *reports.EnvelopeWindow   `json:"context_window,omitempty"`
	TokensPerRequest       *reports.TokensPerRequest `json:"tokens_per_request,omitempty"`
	// TaskType is the target's figures on the job's dataset task type,
	// when the job's accuracy was judged on them; AccuracyNote says what
	// the accuracy was judged on, when the job names a task type.
	TaskType     *reports.EnvelopeTaskType `json:"task_type,omitempty"`
	AccuracyNote string                    `json:"accuracy_note,omitempty"`
}

// OtherJSON is a target that is not a route of the job.
type OtherJSON struct {
	Target  string   `json:"target"`
	Covers  bool     `json:"covers"`
	Reasons []string `json:"reasons,omitempty"`
	Source  *Source  `json:"source"`
	// AccuracyNote is as in EvidenceJSON.
	AccuracyNote string `json:"accuracy_note,omitempty"`
}

// JSON builds the routes JSON.
func (r *Routes) JSON() *RoutesJSON {
	out := &RoutesJSON{Schema: RoutesSchema, Sources: r.Fleet.Sources, Superseded: r.Fleet.Superseded, Jobs: []JobJSON{}, Uncovered: []string{}}
	if r.File != nil {
		out.RoutingFile = r.File.Path
	}
	for i := range r.Decisions {
		d := &r.Decisions[i]
		j := JobJSON{Job: d.Job, Tier: d.Tier, Covered: d.Covered(), Summary: d.Summary(), Fallbacks: []RouteJSON{}, Others: []OtherJSON{}, RankedBy: d.RankedBy}
		used := map[string]bool{}
		if c := d.Chosen(); c != nil {
			rj := routeJSON(d.Job.Name, c)
			j.Route, used[c.Target] = &rj, true
		} else {
			out.Uncovered = append(out.Uncovered, d.Job.Name)
		}
		for _, c := range d.Fallbacks() {
			j.Fallbacks = append(j.Fallbacks, routeJSON(FallbackGroup(d.Job.Name, c.Target), c))
			used[c.Target] = true
		}
		for k := range d.Candidates {
			if c := &d.Candidates[k]; !used[c.Target] {
				j.Others = append(j.Others, OtherJSON{Target: c.Target, Covers: c.Covers, Reasons: c.Reasons, Source: c.Measurement.Source, AccuracyNote: c.AccuracyNote})
			}
		}
		out.Jobs = append(out.Jobs, j)
	}
	return out
}

func routeJSON(group string, c *Candidate) RouteJSON {
	et := &c.Measurement.Target
	ev := EvidenceJSON{
		Length: c.Judged.Length, MaxRate: c.Judged.MaxRate, MaxRateIsLowerBound: c.Ceiling(),
		EffectiveContextLength: c.Judged.EffectiveContextLength, LimitedBy: c.LimitedBy, Window: et.Window,
		Currency: et.Currency, TaskType: c.TaskType, AccuracyNote: c.AccuracyNote,
	}
	if el := c.Length(); el != nil {
		ev.MaxRateRequests = el.MaxRateRequests
	}
	if at := c.Judged.At; at != nil {
		ev.Rate, ev.Requests, ev.Accuracy, ev.AccuracyCI = at.Rate, at.Requests, at.Accuracy, at.AccuracyCI
		ev.TTFTP95, ev.E2EP95 = observed(at.TTFT), observed(at.E2E)
		ev.TokensPerRequest = at.Tokens
		if v, ok := c.CostPerRequest(); ok {
			ev.CostPerRequest = &v
		}
		if v, ok := c.CostPerCorrect(); ok {
			ev.CostPerCorrect = &v
		}
	}
	return RouteJSON{
		Target: c.Target, Model: c.Model, Kind: et.Kind, BaseURL: et.BaseURL, APIKeyEnv: et.APIKeyEnv,
		Group: group, Rank: c.Rank, Source: c.Measurement.Source, Evidence: ev, Limits: c.Limits(),
	}
}

// observed is a quantiles' p95, nil when nothing was observed.
func observed(q reports.Quantiles) *float64 {
	if q.N == 0 || math.IsNaN(q.P95) {
		return nil
	}
	v := q.P95
	return &v
}

// WriteJSON writes the routes JSON, indented.
func WriteJSON(w io.Writer, r *Routes) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r.JSON()); err != nil {
		return fmt.Errorf("writing the routes JSON: %w", err)
	}
	return nil
}
