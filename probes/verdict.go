package probes

// Verdict is the score of one answer.
type Verdict struct {
	// Correct is the strict match: every expected value is present.
	Correct bool `json:"correct"`
	// Recall is the fraction of expected values present (RULER's match-all).
	Recall float64 `json:"recall"`
	// Any is true when at least one expected value is present (match-part).
	Any bool `json:"any"`
	// Null is true when the answer was empty.
	Null bool `json:"null"`
	// Attribution is "correct" or the failure label (see Attribution*).
	Attribution string `json:"attribution"`
	// Miss is why the model missed (see Miss), set only when Attribution
	// is AttrModelMissed and the prompt was at hand to read (at run time).
	Miss string `json:"miss,omitempty"`
}

// Attribution labels.
const (
	AttrCorrect         = "correct"
	AttrServerTruncated = "server_truncated"
	AttrRejected        = "rejected"
	AttrCutOff          = "cut_off"
	AttrRefused         = "refused"
	AttrError           = "error"
	AttrModelMissed     = "model_missed"
	// AttrUnscored is a successful answer to an open-ended case of the
	// user's dataset (no expected answer): neither right nor wrong, and
	// left out of accuracy.
	AttrUnscored = "unscored"
)
