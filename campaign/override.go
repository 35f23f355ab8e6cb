package campaign

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/reports"
)

// Overrides are command-line flags that replace campaign values. A nil or
// empty field leaves the campaign's value. Each value is validated once, by
// Validate, with the campaign's: a mistake names the flag.
type Overrides struct {
	// Only keeps the named targets, in file order (--targets a,b).
	Only []string
	// Lengths, Depths and Tasks replace the corpus lists (--lengths,
	// --depths, --task).
	Lengths []int
	Depths  []float64
	Tasks   []string
	// Samples and Repeats replace corpus.samples and corpus.repeats
	// (--samples, --repeats); Seed corpus.seed (--seed).
	Samples, Repeats *int
	Seed             *int64
	// Canaries and SharedPrefix replace corpus.canaries and
	// corpus.shared_prefix when set.
	Canaries, SharedPrefix *bool
	// Haystack replaces corpus.haystack; a relative dir: path is relative to
	// the working directory, as on the command line.
	Haystack string
	// Dataset replaces corpus.dataset (--dataset); a relative path is
	// relative to the working directory.
	Dataset string
	// PadTo and PadDepths replace corpus.pad_to and corpus.pad_depths
	// (--pad-to, --pad-depths).
	PadTo     []int
	PadDepths []float64
	// SLO replaces the latency and error-rate objectives (--slo form,
	// "ttft_p95=2s,error_rate=0.01").
	SLO *string
	// Accuracy replaces accuracy.threshold.
	Accuracy *float64
	// TimeScale replaces every sim target's time scale.
	TimeScale *float64
	// Warmup replaces load.warmup.
	Warmup *time.Duration
	// OutputDir replaces output.dir.
	OutputDir string
	// MaxCostUSD and MaxDuration replace the budget.
	MaxCostUSD  *float64
	MaxDuration *time.Duration
	// MaxInFlight and Grace set the campaign's MaxInFlight and Grace
	// (--max-in-flight, --grace).
	MaxInFlight *int
	Grace       *time.Duration
	// Require replaces require (--require), AccuracyRelative
	// accuracy.relative (--accuracy-relative).
	Require          *string
	AccuracyRelative *bool
}

// The fields of a Campaign that no file gives, as a mistake names them
// when no flag set them.
const (
	flagMaxInFlight = "max_in_flight"
	fieldGrace      = "grace"
)

// Override applies flags on top of the campaign and validates the result.
// Errors name the flag (as --name) rather than a place in the file.
func (c *Campaign) Override(o Overrides) error {
	if errs := c.keepTargets(o.Only); len(errs) > 0 {
		return errs
	}
	c.overrideCorpus(o)
	if errs := c.overrideObjectives(o); len(errs) > 0 {
		return errs
	}
	c.overrideRun(o)
	return c.Validate()
}

// SetFrom records that field (such as "targets[0].model" or "load.stages";
// an index may be written []) was set by the command-line flag named flag
// (without dashes), so that a mistake in it, or in a field below it,
// names the flag instead of a place in the file. A field below a flag's
// with a flag of its own names its own.
func (c *Campaign) SetFrom(field, flag string) {
	if c.flags == nil {
		c.flags = map[string]string{}
	}
	c.flags[anyIndex(field)] = flag
}

// flagOf is the flag that set field or the nearest field above it, or "".
func (c *Campaign) flagOf(field string) string {
	f := anyIndex(field)
	for f != "" {
		if flag, ok := c.flags[f]; ok {
			return flag
		}
		f = f[:max(strings.LastIndexAny(f, ".["), 0)]
	}
	return ""
}

var fieldIndex = regexp.MustCompile(`\[\d+\]`)

// anyIndex writes every index of a field as [].
func anyIndex(field string) string { return fieldIndex.ReplaceAllString(field, "[]") }

// keepTargets keeps the named targets (--targets), in file order.
func (c *Campaign) keepTargets(only []string) Errors {
	if len(only) == 0 {
		return nil
	}
	names := make([]string, len(c.TargetList))
	for i, t := range c.TargetList {
		names[i] = t.Name
	}
	var errs Errors
	for _, name := range only {
		if !contains(names, name) {
			errs = append(errs, &Error{Field: "--targets", Msg: fmt.Sprintf("no target is named %q; the campaign has %s", name, orList(names))})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	var kept []Target
	var index []int
	for i, t := range c.TargetList {
		if contains(only, t.Name) {
			kept = append(kept, t)
			index = append(index, c.fileTarget(i))
		}
	}
	c.TargetList, c.fileTargets = kept, index
	return nil
}

var targetField = regexp.MustCompile(`^targets\[(\d+)\]`)

// inFile is field as the file writes it: after --targets kept some of the
// targets, targets[i] is the file's targets[j].
func (c *Campaign) inFile(field string) string {
	m := targetField.FindStringSubmatch(field)
	if m == nil || c.fileTargets == nil {
		return field
	}
	i, _ := strconv.Atoi(m[1])
	return fmt.Sprintf("targets[%d]", c.fileTarget(i)) + field[len(m[0]):]
}

// fileTarget is the file's index of target i.
func (c *Campaign) fileTarget(i int) int {
	if c.fileTargets == nil || i >= len(c.fileTargets) {
		return i
	}
	return c.fileTargets[i]
}

// overrideCorpus lays the corpus flags over corpus.
func (c *Campaign) overrideCorpus(o Overrides) {
	k := &c.Corpus
	if o.Lengths != nil {
		k.Lengths = make([]Length, len(o.Lengths))
		for i, l := range o.Lengths {
			k.Lengths[i] = Length(l)
		}
		c.SetFrom("corpus.lengths", "lengths")
	}
	setFrom(c, &k.Depths, o.Depths, o.Depths != nil, "corpus.depths", "depths")
	setFrom(c, &k.Tasks, o.Tasks, o.Tasks != nil, "corpus.tasks", "task")
	setPtr(c, &k.Samples, o.Samples, "corpus.samples", "samples")
	setPtr(c, &k.Repeats, o.Repeats, "corpus.repeats", "repeats")
	setPtr(c, &k.Canaries, o.Canaries, "corpus.canaries", "canaries")
	setPtr(c, &k.SharedPrefix, o.SharedPrefix, "corpus.shared_prefix", "shared-prefix")
	if o.Seed != nil {
		s := *o.Seed
		k.Seed = &s
		c.SetFrom("corpus.seed", "seed")
	}
	if o.Haystack != "" {
		h := o.Haystack
		if dir, ok := strings.CutPrefix(h, corpus.HaystackDirPrefix); ok && dir != "" {
			// Relative to the working directory, not the file.
			h = corpus.HaystackDirPrefix + (&Campaign{BaseDir: "."}).resolve(dir)
		}
		setFrom(c, &k.Haystack, h, true, "corpus.haystack", "haystack")
	}
	if o.Dataset != "" {
		setFrom(c, &k.Dataset, (&Campaign{BaseDir: "."}).resolve(o.Dataset), true, "corpus.dataset", "dataset")
	}
	c.overridePadding(o)
}

// overrideObjectives lays --slo, --accuracy, --accuracy-relative and
// --require over the objectives.
func (c *Campaign) overrideObjectives(o Overrides) Errors {
	if o.SLO != nil {
		obj, err := reports.ParseSLO(*o.SLO)
		if err != nil {
			return Errors{{Field: "--slo", Msg: err.Error()}}
		}
		// The flag's objectives replace the file's, gate: false with
		// them: what the command line asks gates.
		c.SLO.Latency, c.SLO.ErrorRate, c.SLO.SendLag, c.SLO.Ungated = obj.Latency, obj.ErrorRate, obj.SendLag, nil
		c.SetFrom("slo", "slo")
	}
	if o.Accuracy != nil {
		a := *o.Accuracy
		setFrom(c, &c.Accuracy.Threshold, &a, true, "accuracy.threshold", "accuracy")
	}
	setPtr(c, &c.Accuracy.Relative, o.AccuracyRelative, "accuracy.relative", "accuracy-relative")
	setPtr(c, &c.Require, o.Require, "require", "require")
	return nil
}

// overrideRun lays the flags of the run's conduct over the campaign: the
// simulators' time scale, the warm-up, the output, the budget, the cap on
// requests in flight and the grace period.
func (c *Campaign) overrideRun(o Overrides) {
	if o.TimeScale != nil {
		for i := range c.TargetList {
			if c.TargetList[i].Kind == KindSim {
				ts := *o.TimeScale
				c.TargetList[i].TimeScale = &ts
			}
		}
		c.SetFrom("targets[].time_scale", "sim-time-scale")
	}
	if o.Warmup != nil {
		setFrom(c, &c.Load.Warmup, Duration(*o.Warmup), true, "load.warmup", "warmup")
	}
	setFrom(c, &c.Output.Dir, o.OutputDir, o.OutputDir != "", "output.dir", "out")
	if o.MaxCostUSD != nil {
		m := *o.MaxCostUSD
		setFrom(c, &c.Budget.MaxCostUSD, &m, true, "budget.max_cost_usd", "max-cost")
	}
	if o.MaxDuration != nil {
		setFrom(c, &c.Budget.MaxDuration, Duration(*o.MaxDuration), true, "budget.max_duration", "max-duration")
	}
	setPtr(c, &c.MaxInFlight, o.MaxInFlight, flagMaxInFlight, "max-in-flight")
	if o.Grace != nil {
		g := *o.Grace
		setFrom(c, &c.Grace, &g, true, fieldGrace, "grace")
	}
}

// setFrom sets *dst to v when ok, recording the flag that set field.
func setFrom[T any](c *Campaign, dst *T, v T, ok bool, field, flag string) {
	if ok {
		*dst = v
		c.SetFrom(field, flag)
	}
}

// setPtr sets *dst to *v when v is given, recording the flag that set field.
func setPtr[T any](c *Campaign, dst *T, v *T, field, flag string) {
	if v != nil {
		setFrom(c, dst, *v, true, field, flag)
	}
}
