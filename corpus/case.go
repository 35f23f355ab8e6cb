package corpus

// CaseSchema names the version of the Case JSON format.
const CaseSchema = "needlestorm.case/v1"

// Message is one chat message of a prompt.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Case is one needle-in-a-haystack prompt with everything needed to score the
// answer to it. A Case is reproducible from (seed, task, length, depth,
// haystack, encoding).
type Case struct {
	Schema string `json:"schema"`
	// ID is unique within a matrix and stable for the same recipe.
	ID   string `json:"id"`
	Task string `json:"task"`
	// Length is the requested prompt length in client tokens.
	Length int `json:"length"`
	// PromptTokens is the client token count of all message contents; it
	// equals Length.
	PromptTokens int    `json:"prompt_tokens"`
	Encoding     string `json:"encoding"`
	// Depth is the requested needle depth in percent (0 = start of the
	// haystack, 100 = end); ActualDepth is where the needle landed.
	Depth       float64 `json:"depth"`
	ActualDepth float64 `json:"actual_depth"`
	// NeedleTokenIndex is the index of the needle sentence's first token
	// among the client tokens of all message contents in order (the system
	// content's tokens, then the user content's), each content counted on
	// its own as PromptTokens counts them. A server that dropped its first k
	// prompt tokens dropped the needle when NeedleTokenIndex < k (template
	// tokens aside).
	NeedleTokenIndex int `json:"needle_token_index"`
	// Expected holds the values a correct answer contains.
	Expected []string `json:"expected"`
	// Canaries, when enabled, are marker facts at the very start (head) and
	// end (tail) of the haystack; their values are asked for too, so an answer
	// that lacks one shows which end of the prompt a server dropped.
	Canaries *Canaries `json:"canaries,omitempty"`
	Messages []Message `json:"messages"`
	Sample   int       `json:"sample"`
	Seed     int64     `json:"seed"`
	Haystack string    `json:"haystack"`
	// SharedPrefix is true when the cache-busting preamble was left out.
	// Otherwise the user content starts with the preamble "Archive
	// reference w-w-w-w-w.\n\n", and WithNonce gives each request its own.
	SharedPrefix bool `json:"shared_prefix,omitempty"`

	// A case of the user's own dataset (Task TaskDataset; see
	// DatasetCase): its task type, the matchers a correct answer passes
	// (nil for an open-ended prompt; Expected is then empty too), and its
	// own cap on the answer's tokens (0: the target's).
	TaskType  string    `json:"task_type,omitempty"`
	Matchers  []Matcher `json:"matchers,omitempty"`
	MaxTokens int       `json:"max_tokens,omitempty"`
	// PadTo is the length a dataset case was padded to (see Padding; its
	// Depth says where its content went); 0 for a case as written.
	PadTo int `json:"pad_to,omitempty"`
}

// Canaries are the expected values of the head and tail marker facts.
type Canaries struct {
	Head string `json:"head"`
	Tail string `json:"tail"`
}
