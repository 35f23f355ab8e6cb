package route

import (
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// Tier is a model size class, after the users' rule of thumb: small models
// for extraction, classification, tagging and routing; medium for code,
// reasoning and transformations; large for planning, multi-step logic and
// synthesis. A target of a tier serves jobs of its tier and below.
type Tier string

// The tiers, smallest first.
const (
	TierSmall  Tier = "small"
	TierMedium Tier = "medium"
	TierLarge  Tier = "large"
)

// Tiers lists the tiers, smallest first.
var Tiers = []Tier{TierSmall, TierMedium, TierLarge}

// rank orders tiers; 0 for none.
func (t Tier) rank() int { return slices.Index(Tiers, t) + 1 }

// Serves reports whether a target of tier t may serve a job of tier job.
func (t Tier) Serves(job Tier) bool { return t.rank() >= job.rank() }

// UnmarshalYAML reads a tier.
func (t *Tier) UnmarshalYAML(node ast.Node) error {
	s, err := scalar(node, "a tier: small, medium or large")
	if err != nil {
		return err
	}
	v := Tier(strings.ToLower(s))
	if v.rank() == 0 {
		return nodeError(node, "unknown tier %q: write small, medium or large", s)
	}
	*t = v
	return nil
}

// Task is a kind of job; each belongs to one tier (TaskTier).
type Task string

// The tasks, by tier.
var taskTiers = map[Task]Tier{
	"extraction": TierSmall, "classification": TierSmall, "tagging": TierSmall, "routing": TierSmall,
	"code": TierMedium, "reasoning": TierMedium, "transformation": TierMedium,
	"planning": TierLarge, "multi_step_logic": TierLarge, "synthesis": TierLarge,
}

// taskAliases are other spellings of the tasks.
var taskAliases = map[string]Task{
	"coding": "code", "transformations": "transformation", "transform": "transformation",
	"multi-step-logic": "multi_step_logic", "multi-step": "multi_step_logic", "multistep": "multi_step_logic",
	"multi_step": "multi_step_logic", "multi-step logic": "multi_step_logic",
}

// Tasks lists the task names a routing file accepts, by tier.
func Tasks() []Task {
	var out []Task
	for _, tier := range Tiers {
		var ts []Task
		for t, tt := range taskTiers {
			if tt == tier {
				ts = append(ts, t)
			}
		}
		slices.Sort(ts)
		out = append(out, ts...)
	}
	return out
}

// TaskTier returns the tier of a task.
func TaskTier(t Task) (Tier, bool) {
	tier, ok := taskTiers[t]
	return tier, ok
}

// UnmarshalYAML reads a task, by name or alias.
func (t *Task) UnmarshalYAML(node ast.Node) error {
	s, err := scalar(node, "a task such as tagging, code or planning")
	if err != nil {
		return err
	}
	v := Task(strings.ToLower(s))
	if a, ok := taskAliases[string(v)]; ok {
		v = a
	}
	if _, ok := taskTiers[v]; !ok {
		names := make([]string, 0, len(taskTiers))
		for _, x := range Tasks() {
			names = append(names, string(x))
		}
		return nodeError(node, "unknown task %q: write one of %s (or give tier: small, medium or large instead)", s, strings.Join(names, ", "))
	}
	*t = v
	return nil
}
