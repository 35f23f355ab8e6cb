package corpus

// Reading is what a perfect reader finds in a prompt's text: the keys its
// question asks for and, for each, the values the text states. The simulator
// uses it to answer only from what survived a server's truncation.
type Reading struct {
	// Asks are the question's keys in the order asked; empty when no question
	// survived.
	Asks []Ask
	// Distractors are values stated in the text for keys that were not asked.
	Distractors []string
}

// Ask is one asked key and what the text says about it.
type Ask struct {
	Key string
	// Values are the resolved values the text states for Key (for chain, the
	// value at the end of the chain); empty when the needle is not in the text.
	Values []string
	// Canary marks the head or tail marker facts.
	Canary bool
}

// ReadPrompt reads a prompt text (system and user contents joined by "\n")
// the way a perfect reader would. It runs in time linear in len(text).
//
// TODO(corpus): implemented with the task phrasing.
func ReadPrompt(text string) Reading {
	return Reading{}
}
