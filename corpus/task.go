package corpus

import (
	"fmt"
	"strings"
)

// Task names (RULER's names where one exists).
const (
	// TaskSingle: one key, one value (RULER niah_single).
	TaskSingle = "single"
	// TaskMultiKey: the real key among distractor keys stated with the same
	// phrasing (RULER niah_multikey).
	TaskMultiKey = "multikey"
	// TaskMultiValue: one key stated with several values, all asked for
	// (RULER niah_multivalue).
	TaskMultiValue = "multivalue"
	// TaskMultiQuery: several keys, each with one value, asked at once
	// (RULER niah_multiquery).
	TaskMultiQuery = "multiquery"
	// TaskChain: variable tracking (RULER vt). A chain of N assignments
	// "VAR A = 12345." "VAR B = VAR A." ... and a distractor chain of the
	// same shape with another value; the question asks for the number held by
	// the last variable of the real chain.
	TaskChain = "chain"
	// TaskLatent: a needle that shares no content word with its question
	// (after NoLiMa). The needle says a character lives next to a landmark
	// ("Actually, Yuki lives next to the Eiffel Tower."); the question asks
	// which character has been to the landmark's place ("Which character
	// has been to Paris?"), so only a reader that knows the association
	// finds it. Distractor needles say other characters live next to
	// landmarks of other countries' places. The value is the character's
	// name, whatever the value kind.
	TaskLatent = "latent"
	// TaskCWE: common words extraction (RULER cwe). A numbered list of
	// words is spread through the haystack in chunks; Keys words occur
	// much more often than the others (see cwe.go), and the question asks
	// for those most common words. An answer is scored by recall; one that
	// lists more than twice as many list words as asked is wrong (see
	// CWEMaxCandidates).
	TaskCWE = "cwe"
)

// Tasks lists the task names in a stable order.
var Tasks = []string{TaskSingle, TaskMultiKey, TaskMultiValue, TaskMultiQuery, TaskChain, TaskLatent, TaskCWE}

// Value kinds of the single, multikey, multivalue and multiquery tasks.
const (
	KindNumber = "number" // seven digits, such as 4829173
	KindUUID   = "uuid"   // a version 4 UUID in lower case
	KindWord   = "word"   // one lower-case English word
)

// ValueKinds lists the value kinds in a stable order.
var ValueKinds = []string{KindNumber, KindUUID, KindWord}

// kindName is the value kind of the latent task: a character's name. It is
// not a kind users choose; latent uses it whatever the spec's kind.
const kindName = "name"

// taskDefaultKeys is each task's default for Matrix.Keys / Spec.Keys: the
// number of distractor keys (multikey), values (multivalue), keys
// (multiquery), hops (chain), distractor characters (latent) or common
// words (cwe, RULER's 10). single ignores it.
var taskDefaultKeys = map[string]int{
	TaskSingle:     1,
	TaskMultiKey:   3,
	TaskMultiValue: 4,
	TaskMultiQuery: 4,
	TaskChain:      4,
	TaskLatent:     3,
	TaskCWE:        10,
}

// maxKeys bounds Keys so prompts stay needle-in-a-haystack rather than lists.
const maxKeys = 32

// CheckTask returns an error naming the valid tasks when name is not one.
func CheckTask(name string) error {
	if _, ok := taskDefaultKeys[name]; ok {
		return nil
	}
	return fmt.Errorf("unknown task %q: use one of %s", name, strings.Join(Tasks, ", "))
}

// checkValueKind validates a value kind; "" means number. Chain values are
// always numbers, latent values names and cwe values words, whatever the
// kind.
func checkValueKind(task, kind string) (string, error) {
	if kind == "" {
		return taskKind(task, KindNumber), nil
	}
	for _, k := range ValueKinds {
		if k == kind {
			return taskKind(task, kind), nil
		}
	}
	return "", fmt.Errorf("unknown value kind %q: use one of %s", kind, strings.Join(ValueKinds, ", "))
}

// taskKind is the value kind a task uses when asked for kind.
func taskKind(task, kind string) string {
	switch task {
	case TaskChain:
		return KindNumber
	case TaskLatent:
		return kindName
	case TaskCWE:
		return KindWord
	}
	return kind
}

// resolveKeys applies the task default and bounds to a Keys setting.
func resolveKeys(task string, keys int) (int, error) {
	if keys < 0 {
		return 0, fmt.Errorf("keys must be 0 (the task default) or more, not %d", keys)
	}
	if task == TaskSingle {
		return 1, nil
	}
	if keys == 0 {
		return taskDefaultKeys[task], nil
	}
	if keys > maxKeys {
		return 0, fmt.Errorf("keys %d is too many for task %s: use at most %d", keys, task, maxKeys)
	}
	if task == TaskChain && keys < 2 {
		return 0, fmt.Errorf("task chain needs at least 2 hops, not %d", keys)
	}
	if (task == TaskMultiValue || task == TaskMultiQuery) && keys < 2 {
		return 0, fmt.Errorf("task %s needs at least 2 %s, not %d", task, map[string]string{TaskMultiValue: "values", TaskMultiQuery: "keys"}[task], keys)
	}
	return keys, nil
}

// The fixed phrasing. ReadPrompt parses exactly these forms, so change them
// together.
const (
	// SystemPrompt is the system message of every Case.
	SystemPrompt = "You are a careful reader. Answer the question at the end of the user's text using only that text. Reply with the requested values only, without explanation."

	needleLead     = "One of the special magic "
	needleFor      = " for "
	needleIs       = " is: "
	questionLead   = "Question: "
	answerLead     = "Answer: "
	askOneLead     = "What is the special magic "
	askAllLead     = "What are all the special magic "
	askTail        = " mentioned in the provided text?"
	chainAskLead   = "Following the VAR assignments in the text, what is the number held by VAR "
	chainAnsLead   = "The number held by VAR "
	varLead        = "VAR "
	headCanaryLead = "The opening passphrase is: "
	tailCanaryLead = "The closing passphrase is: "
	canaryAsk      = " Also, what are the opening passphrase and the closing passphrase?"
	// CanaryHeadKey and CanaryTailKey are the Ask keys of the canaries.
	CanaryHeadKey = "opening passphrase"
	CanaryTailKey = "closing passphrase"
)

// kindNoun is the noun a value kind is called by in needles and questions.
func kindNoun(kind string) string {
	switch kind {
	case KindUUID:
		return "uuid"
	case KindWord:
		return "word"
	default:
		return "number"
	}
}

// needleText is one needle sentence without leading space or trailing
// separator: "One of the special magic numbers for happy-falcon is: 4829173."
func needleText(kind, key, value string) string {
	return needleLead + kindNoun(kind) + "s" + needleFor + key + needleIs + value + "."
}

// chainText is one chain assignment: "VAR ABCDE = 12345." or
// "VAR FGHIJ = VAR ABCDE."
func chainText(name, source string) string {
	return varLead + name + " = " + source + "."
}

// joinKeys lists keys as "a", "a and b", "a, b and c".
func joinKeys(keys []string) string {
	switch len(keys) {
	case 0:
		return ""
	case 1:
		return keys[0]
	}
	return strings.Join(keys[:len(keys)-1], ", ") + " and " + keys[len(keys)-1]
}

// questionText returns the question and the answer prefix for a task.
// askKeys are the keys asked (chain: the one variable name; latent: the
// place; cwe: the number of words asked for).
func questionText(task, kind string, askKeys []string, canaries bool) (question, answer string) {
	noun := kindNoun(kind)
	switch task {
	case TaskChain:
		question = chainAskLead + askKeys[0] + "?"
		answer = chainAnsLead + askKeys[0] + " is"
	case TaskMultiValue, TaskMultiQuery:
		question = askAllLead + noun + "s" + needleFor + joinKeys(askKeys) + askTail
		answer = "The special magic " + noun + "s" + needleFor + joinKeys(askKeys) + " mentioned in the provided text are"
	case TaskLatent:
		question = latentAskLead + askKeys[0] + "?"
		answer = latentAnsLead + askKeys[0] + " is"
	case TaskCWE:
		question, answer = cweQuestion(askKeys[0])
	default:
		question = askOneLead + noun + needleFor + askKeys[0] + askTail
		answer = "The special magic " + noun + needleFor + askKeys[0] + " mentioned in the provided text is"
	}
	if canaries {
		question += canaryAsk
	}
	return question, answer
}
