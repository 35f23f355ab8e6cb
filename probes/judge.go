package probes

import "github.com/needlestorm/needlestorm/corpus"

// ResponseFacts is what a target observed about one response, as far as
// scoring needs it.
type ResponseFacts struct {
	Answer       string
	FinishReason string
	// ErrorClass is loadgen's error class; empty for a successful request.
	ErrorClass string
	// Error is the error message, if any.
	Error string
	// Status is the HTTP status; 0 when no response arrived.
	Status             int
	PromptTokensClient int
	// PromptTokensServer is the server's count from usage; 0 when unknown.
	PromptTokensServer int
	// Calibration is the target's token accounting as known so far. While a
	// run is live the overhead is provisional (or unknown); reports
	// re-attribute every record with the overhead measured over the run.
	Calibration Calibration
}

// Judge scores one response to c and attributes a wrong answer. It is what
// the dispatcher calls as each request completes.
func Judge(c *corpus.Case, r ResponseFacts) Verdict {
	return Assess(ObservationOf(c, r)).Verdict
}

// ObservationOf combines a Case and the facts of its response.
func ObservationOf(c *corpus.Case, r ResponseFacts) Observation {
	o := Observation{
		Expected:         c.Expected,
		NeedleTokenIndex: c.NeedleTokenIndex,
		Matchers:         c.Matchers,
		Open:             c.Task == corpus.TaskDataset && len(c.Matchers) == 0,
		Task:             c.Task,
		ResponseFacts:    r,
	}
	if o.PromptTokensClient == 0 {
		o.PromptTokensClient = c.PromptTokens
	}
	if c.Canaries != nil {
		o.CanaryHead, o.CanaryTail = c.Canaries.Head, c.Canaries.Tail
	}
	return o
}
