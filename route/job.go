package route

import (
	"fmt"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/needlestorm/needlestorm/reports"
)

// SecondsPerMonth is the month a per-month budget is reckoned over: 30
// days of the job's rate, sustained.
const SecondsPerMonth = 30 * 24 * 3600

// DefaultFallbacks is how many fallbacks a job keeps when its routing file
// does not say.
const DefaultFallbacks = 1

// MaxFallbacks bounds a job's fallbacks (LiteLLM tries at most 5 by
// default: router_settings.max_fallbacks).
const MaxFallbacks = 5

// Job is one kind of request an application sends, and what it needs.
type Job struct {
	// Name names the job; it becomes the LiteLLM model group (model_name)
	// the application asks for. Letters, digits, '.', '_' and '-'.
	Name string `yaml:"name" json:"name"`
	// Tier, or Task (which implies a tier), says which size of model may
	// serve it: a target of that tier or a larger one. Neither: any target.
	Tier Tier `yaml:"tier" json:"tier,omitempty"`
	Task Task `yaml:"task" json:"task,omitempty"`
	// TaskType names a task type of the user's dataset (free text, as the
	// cases' task_type gives it) whose measured accuracy the job's
	// accuracy is judged by; empty: the Task's name. It implies no tier.
	TaskType string `yaml:"task_type" json:"task_type,omitempty"`
	// Context is the prompt length the job needs, in tokens; required.
	Context Tokens `yaml:"context" json:"context"`
	// Accuracy is the share of right answers it needs at that length (0:
	// the run's own accuracy threshold).
	Accuracy Fraction `yaml:"accuracy" json:"accuracy,omitempty"`
	// TTFTP95 and E2EP95 are its latency objectives (0: none beyond the
	// run's own).
	TTFTP95 Seconds `yaml:"ttft_p95" json:"ttft_p95,omitempty"`
	E2EP95  Seconds `yaml:"e2e_p95" json:"e2e_p95,omitempty"`
	// Rate is the request rate it must sustain (0: any tested rate).
	Rate Rate `yaml:"rate" json:"rate,omitempty"`
	// Budget bounds what it may cost.
	Budget Budget `yaml:"budget" json:"budget,omitzero"`
	// Prefer ranks the covering targets: cheapest (default) or fastest.
	Prefer Preference `yaml:"prefer" json:"prefer,omitempty"`
	// Fallbacks is how many covering targets to keep behind the chosen one
	// (nil: DefaultFallbacks).
	Fallbacks *int `yaml:"fallbacks" json:"fallbacks,omitempty"`
}

// Budget is what a job may cost: per request, and per month at its rate.
// Amounts are in the currency of the targets' prices.
type Budget struct {
	PerRequest Money `yaml:"per_request" json:"per_request,omitempty"`
	PerMonth   Money `yaml:"per_month" json:"per_month,omitempty"`
}

// Preference is how covering targets are ranked.
type Preference string

// Preferences.
const (
	// PreferCheapest ranks by cost per correct answer, then latency.
	PreferCheapest Preference = "cheapest"
	// PreferFastest ranks by latency, then cost per correct answer.
	PreferFastest Preference = "fastest"
)

// UnmarshalYAML reads a preference.
func (p *Preference) UnmarshalYAML(node ast.Node) error {
	s, err := scalar(node, "cheapest or fastest")
	if err != nil {
		return err
	}
	v := Preference(strings.ToLower(s))
	if v != PreferCheapest && v != PreferFastest {
		return nodeError(node, "unknown preference %q: write cheapest (cost per correct answer, then latency) or fastest (latency, then cost)", s)
	}
	*p = v
	return nil
}

// JobTier is the tier the job needs: its Tier, else its Task's; "" when
// it names neither.
func (j Job) JobTier() Tier {
	if j.Tier != "" {
		return j.Tier
	}
	t, _ := TaskTier(j.Task)
	return t
}

// DatasetTaskType is the dataset task type the job's accuracy is judged
// by where a target measured it: TaskType, else the Task's name ("" when
// the job names neither).
func (j Job) DatasetTaskType() string {
	if j.TaskType != "" {
		return j.TaskType
	}
	return string(j.Task)
}

// FallbackCount is the number of fallbacks the job keeps.
func (j Job) FallbackCount() int {
	if j.Fallbacks == nil {
		return DefaultFallbacks
	}
	return *j.Fallbacks
}

// Preference is the job's ranking, cheapest by default.
func (j Job) Preference() Preference {
	if j.Prefer == "" {
		return PreferCheapest
	}
	return j.Prefer
}

// Requirement is the job as the reports package judges envelopes by: its
// context, rate, latency objectives and accuracy.
func (j Job) Requirement() reports.Requirement {
	req := reports.Requirement{Length: int(j.Context), Rate: float64(j.Rate), Accuracy: float64(j.Accuracy)}
	if j.TTFTP95 > 0 {
		req.Latency = append(req.Latency, reports.LatencyObjective{Metric: reports.MetricTTFT, Percentile: 95, Max: float64(j.TTFTP95)})
	}
	if j.E2EP95 > 0 {
		req.Latency = append(req.Latency, reports.LatencyObjective{Metric: reports.MetricE2E, Percentile: 95, Max: float64(j.E2EP95)})
	}
	return req
}

// Describe says the job's needs in one line: "small, 2k, accuracy >= 0.90,
// ttft_p95 <= 500ms, 4/s, <= 0.001/request".
func (j Job) Describe() string {
	var parts []string
	switch {
	case j.Task != "":
		parts = append(parts, fmt.Sprintf("%s (%s)", j.Task, j.JobTier()))
	case j.Tier != "":
		parts = append(parts, string(j.Tier))
	}
	if j.TaskType != "" {
		parts = append(parts, "task type "+j.TaskType)
	}
	parts = append(parts, "context "+j.Context.String())
	if j.Accuracy > 0 {
		parts = append(parts, fmt.Sprintf("accuracy >= %.2f", float64(j.Accuracy)))
	}
	if j.TTFTP95 > 0 {
		parts = append(parts, "ttft_p95 <= "+j.TTFTP95.String())
	}
	if j.E2EP95 > 0 {
		parts = append(parts, "e2e_p95 <= "+j.E2EP95.String())
	}
	if j.Rate > 0 {
		parts = append(parts, "at "+j.Rate.String())
	}
	if j.Budget.PerRequest > 0 {
		parts = append(parts, fmt.Sprintf("<= %g/request", float64(j.Budget.PerRequest)))
	}
	if j.Budget.PerMonth > 0 {
		parts = append(parts, fmt.Sprintf("<= %g/month", float64(j.Budget.PerMonth)))
	}
	return strings.Join(parts, ", ")
}

// validName reports whether a job name can be a LiteLLM model group name
// and a file-friendly label.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}
