package campaign

import (
	"fmt"
	"strings"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/reports"
)

// Overrides are command-line flags that replace campaign file values. A nil
// or empty field leaves the file's value.
type Overrides struct {
	// Only keeps the named targets, in file order (--targets a,b).
	Only []string
	// Lengths, Depths and Tasks replace the corpus lists.
	Lengths []int
	Depths  []float64
	Tasks   []string
	Samples int
	Repeats int
	Seed    *int64
	// Canaries and SharedPrefix replace corpus.canaries and
	// corpus.shared_prefix when set.
	Canaries, SharedPrefix *bool
	// Haystack replaces corpus.haystack; a relative dir: path is relative to
	// the working directory, as on the command line.
	Haystack string
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
}

// Override applies flags on top of the file and checks the result. Errors
// name the flag (as --name) rather than a place in the file.
func (c *Campaign) Override(o Overrides) error {
	var errs Errors
	bad := func(flag, format string, args ...any) {
		errs = append(errs, &Error{Field: "--" + flag, Msg: fmt.Sprintf(format, args...)})
	}
	if len(o.Only) > 0 {
		var kept []Target
		for _, name := range o.Only {
			found := false
			for _, t := range c.TargetList {
				if t.Name == name {
					found = true
				}
			}
			if !found {
				names := make([]string, len(c.TargetList))
				for i, t := range c.TargetList {
					names[i] = t.Name
				}
				bad("targets", "no target is named %q; the campaign has %s", name, orList(names))
			}
		}
		for _, t := range c.TargetList {
			if contains(o.Only, t.Name) {
				kept = append(kept, t)
			}
		}
		if len(errs) == 0 {
			c.TargetList = kept
		}
	}
	if o.Lengths != nil {
		c.Corpus.Lengths = c.Corpus.Lengths[:0]
		for _, l := range o.Lengths {
			if l <= 0 || l > corpus.MaxLength {
				bad("lengths", "%d is outside 1..%d tokens", l, corpus.MaxLength)
			}
			c.Corpus.Lengths = append(c.Corpus.Lengths, Length(l))
		}
	}
	if o.Depths != nil {
		c.Corpus.Depths = o.Depths
	}
	if o.Tasks != nil {
		c.Corpus.Tasks = o.Tasks
	}
	if o.Samples != 0 {
		c.Corpus.Samples = o.Samples
	}
	if o.Repeats != 0 {
		c.Corpus.Repeats = o.Repeats
	}
	if o.Seed != nil {
		s := *o.Seed
		c.Corpus.Seed = &s
	}
	if o.Canaries != nil {
		c.Corpus.Canaries = *o.Canaries
	}
	if o.SharedPrefix != nil {
		c.Corpus.SharedPrefix = *o.SharedPrefix
	}
	if o.Haystack != "" {
		h := o.Haystack
		if dir, ok := strings.CutPrefix(h, corpus.HaystackDirPrefix); ok && dir != "" {
			// Relative to the working directory, not the file.
			h = corpus.HaystackDirPrefix + absOrSame(dir)
		}
		c.Corpus.Haystack = h
	}
	if o.SLO != nil {
		obj, err := reports.ParseSLO(*o.SLO)
		if err != nil {
			bad("slo", "%v", err)
		} else {
			c.SLO.Latency, c.SLO.ErrorRate = obj.Latency, obj.ErrorRate
		}
	}
	if o.Accuracy != nil {
		a := *o.Accuracy
		c.Accuracy.Threshold = &a
	}
	if o.TimeScale != nil {
		for i := range c.TargetList {
			if c.TargetList[i].Kind == KindSim {
				ts := *o.TimeScale
				c.TargetList[i].TimeScale = &ts
			}
		}
	}
	if o.Warmup != nil {
		if *o.Warmup < 0 {
			bad("warmup", "%s is negative", *o.Warmup)
		} else {
			c.Load.Warmup = Duration(*o.Warmup)
		}
	}
	if o.OutputDir != "" {
		c.Output.Dir = o.OutputDir
	}
	if o.MaxCostUSD != nil {
		m := *o.MaxCostUSD
		c.Budget.MaxCostUSD = &m
	}
	if o.MaxDuration != nil {
		if *o.MaxDuration < 0 {
			bad("max-duration", "%s is negative", *o.MaxDuration)
		} else {
			c.Budget.MaxDuration = Duration(*o.MaxDuration)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return c.Validate()
}

func absOrSame(p string) string {
	c := &Campaign{BaseDir: "."}
	return c.resolve(p)
}
