package run

// The results of an envelope search are part of the run: campaigns keep them
// in the manifest (each target's entry) and reports read them back.

// SearchStepResult is one probed step, as the manifest and report show it.
type SearchStepResult struct {
	Index      int    `json:"index"`
	Stage      int    `json:"stage"`
	StageLabel string `json:"stage_label"`
	Phase      string `json:"phase"`
	// Rate is the rate probed, in requests per second.
	Rate float64 `json:"rate"`
	// Requests is the number of requests the step sent (and recorded);
	// Errors how many of them failed.
	Requests int `json:"requests"`
	Errors   int `json:"errors"`
	// Pass says whether the step held; Reason says why it failed.
	Pass   bool   `json:"pass"`
	Reason string `json:"reason,omitempty"`
	// EndedEarly is true when EarlyStop ended the step (a fail).
	EndedEarly bool `json:"ended_early,omitempty"`
	// Unresolved is true when the step's records could not tell (too few
	// requests, a client behind its schedule): neither held nor failed,
	// it ended its length's search unresolved; Reason says why.
	Unresolved bool `json:"unresolved,omitempty"`
	// Duration is the step's wall time, from its first send to its last
	// completion (the drain included).
	Duration Seconds `json:"duration"`
}

// SearchResult is one length's search.
type SearchResult struct {
	Length int `json:"length"`
	// Found is the highest rate that passed, in requests per second; 0 when
	// none did.
	Found float64 `json:"found"`
	// FirstFail is the lowest rate that failed above Found; 0 when none did
	// (Found is then MaxRate).
	FirstFail float64 `json:"first_fail,omitempty"`
	// Resolved is true when Found was pinned down to the resolution (or is
	// MaxRate); false when the search ran out of steps, found nothing, or
	// was interrupted.
	Resolved bool `json:"resolved"`
	// Reason says how the search ended.
	Reason string `json:"reason"`
	// Requests is the number of requests sent for this length, warm-up
	// included.
	Requests int `json:"requests"`
	// Steps are every step probed, warm-up first when there was one, in
	// order.
	Steps []SearchStepResult `json:"steps"`
}
