package route

import "math"

// Routes is the answer to a routing file: for each job, the target that
// serves it, its fallbacks, and why every other target does not.
type Routes struct {
	File      *File
	Fleet     *Fleet
	Decisions []Decision
}

// Decide routes every job of file over fleet.
func Decide(file *File, fleet *Fleet) *Routes {
	r := &Routes{File: file, Fleet: fleet}
	for _, j := range file.Jobs {
		r.Decisions = append(r.Decisions, decide(j, file, fleet))
	}
	return r
}

// Uncovered names the jobs no target covers, in file order.
func (r *Routes) Uncovered() []string {
	var out []string
	for i := range r.Decisions {
		if !r.Decisions[i].Covered() {
			out = append(out, r.Decisions[i].Job.Name)
		}
	}
	return out
}

// Limits are the router limits a deployment gets from its measurements.
type Limits struct {
	// MaxInputTokens is the measured effective context length at the job's
	// accuracy: the longest prompt that still reads right, never the
	// claimed window.
	MaxInputTokens int `json:"max_input_tokens"`
	// RPM is requests per minute: the highest rate held at the job's
	// length, times 60, rounded down, so never above the rate held.
	RPM int `json:"rpm"`
	// RPMLowerBound is true when that rate was the highest tried (every
	// tested rate held): the real limit is higher.
	RPMLowerBound bool `json:"rpm_is_lower_bound"`
	// TPM is RPM times the measured tokens per request (prompt and
	// output) at that rate; 0 when no token counts were recorded.
	TPM int `json:"tpm,omitempty"`
}

// Limits returns the router limits of a covering candidate.
func (c *Candidate) Limits() Limits {
	l := Limits{MaxInputTokens: c.Judged.EffectiveContextLength, RPMLowerBound: c.Ceiling()}
	if c.Judged.MaxRate != nil {
		l.RPM = int(math.Floor(*c.Judged.MaxRate * 60))
	}
	if t := c.tokens(); t > 0 {
		l.TPM = int(math.Floor(float64(l.RPM) * t))
	}
	return l
}

// tokens is the measured tokens per request at the max rate held, else at
// the covering point; 0 when unknown.
func (c *Candidate) tokens() float64 {
	if el := c.Length(); el != nil && el.At != nil && el.At.Tokens != nil {
		return el.At.Tokens.Total()
	}
	if at := c.Judged.At; at != nil && at.Tokens != nil {
		return at.Tokens.Total()
	}
	return 0
}
