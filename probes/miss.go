package probes

import (
	"math"
	"strconv"
	"strings"

	"github.com/needlestorm/needlestorm/corpus"
)

// Miss is why the model missed: the kind of a wrong answer that
// attribution puts on the model (AttrModelMissed).
type Miss string

// Miss kinds, in order of precedence: an answer of several kinds is the
// first that fits.
const (
	// MissPartial: some but not all of several expected values (or, for a
	// dataset case, some of its matchers or of a matcher's parts).
	MissPartial Miss = "partial"
	// MissDistractor: the answer holds a value the prompt states for
	// another key (a confusion), or for a dataset case names another of
	// its labels or a value of the prompt that was not expected.
	MissDistractor Miss = "distractor"
	// MissNotFound: the model says it cannot find the answer, or answers
	// nothing.
	MissNotFound Miss = "not_found"
	// MissHallucinated: the answer holds a value of the asked kind (a
	// seven-digit number, a uuid, a word...) that appears nowhere in the
	// prompt.
	MissHallucinated Miss = "hallucinated"
	// MissOther: none of the above.
	MissOther Miss = "other"
)

// MissKinds lists the miss kinds in order of precedence.
var MissKinds = []Miss{MissPartial, MissDistractor, MissNotFound, MissHallucinated, MissOther}

// MissFacts is what classifying a miss rests on.
type MissFacts struct {
	Answer string
	// Expected are a needle's expected values; Matchers a dataset case's
	// (when set they are used instead).
	Expected []string
	Matchers []corpus.Matcher
	// Distractors are the values the prompt states for keys that were not
	// asked (corpus.ReadPrompt(text).Distractors).
	Distractors []string
	// Task is the Case's task: a cwe answer that lists more words than the
	// task allows (see capCWE) is MissOther, whatever it holds.
	Task string
	// Prompt is the prompt's text (its message contents joined by "\n").
	// Empty when unknown: nothing is then called hallucinated or, beyond
	// Distractors and labels, a distractor.
	Prompt string
}

// notFoundPhrases say the model found nothing, on normalised text: the
// phrases IsRefusal treats as a miss, and a few bare answers.
var notFoundPhrases = append(append([]string(nil), missPhrases...),
	"not available", "no answer", "no value", "no such value", "unknown", "none", "n a", "not found",
	"cannot tell", "can t tell", "unclear", "not clear",
	"no character", "no one", "nobody") // the latent task's "No character in the text has been to Paris."

// SaysNotFound reports whether answer is empty or says the answer could
// not be found ("I cannot find the number", "not mentioned", "unknown").
func SaysNotFound(answer string) bool {
	na := Normalize(answer)
	if na == "" {
		return true
	}
	na = " " + na + " "
	for _, p := range notFoundPhrases {
		if strings.Contains(na, " "+p+" ") {
			return true
		}
	}
	return false
}

// ClassifyMiss says why a wrong answer missed (see the Miss kinds; the
// first that fits wins). It does not judge whether the answer is wrong:
// call it on answers attributed AttrModelMissed.
//
// The asked kind of a needle is inferred from its expected values
// (numbers: seven digits, five for chain; uuids; words), and the answer's
// candidate values of that kind are those AnswerValues finds: whole
// numbers within two digits of the expected length, uuids, or (when the
// answer holds no expected value) its content words. A candidate that is
// neither expected nor anywhere in the prompt is a hallucination.
func ClassifyMiss(f MissFacts) Miss {
	if len(f.Matchers) > 0 {
		return classifyDatasetMiss(f)
	}
	if f.Task == corpus.TaskCWE && cweCandidates(f.Answer) > corpus.CWEMaxCandidates(len(f.Expected)) {
		return MissOther // lists rather than chooses
	}
	m := MatchAnswer(f.Expected, f.Answer)
	if len(f.Expected) > 1 && m.Any && !m.Strict {
		return MissPartial
	}
	na := " " + Normalize(f.Answer) + " "
	expected := normSet(f.Expected)
	for _, d := range f.Distractors {
		if nd := Normalize(d); !expected[nd] && containsNormalized(na, nd) {
			return MissDistractor
		}
	}
	if SaysNotFound(f.Answer) {
		return MissNotFound
	}
	if f.Prompt != "" {
		np := " " + normalizeText(f.Prompt) + " "
		for _, c := range AnswerValues(f.Answer, f.Expected, nil) {
			if !expected[c] && !containsNormalized(np, c) {
				return MissHallucinated
			}
		}
	}
	return MissOther
}

// classifyDatasetMiss classifies a wrong answer to a case of the user's
// dataset: partial when some matcher, or part of one, passed; distractor
// when it names another of a one_of matcher's labels, gives a number (or
// another expected value's kind) the prompt holds but that was not
// expected, or, for an equals matcher, is as a whole a phrase of the
// prompt; not_found; hallucinated when its number (uuid, digits) of the
// expected kind is nowhere in the prompt; other.
func classifyDatasetMiss(f MissFacts) Miss {
	m := ScoreMatchers(f.Matchers, f.Answer)
	if m.Any && !m.Strict {
		return MissPartial
	}
	for _, mt := range f.Matchers {
		if mt.Kind() == corpus.MatchOneOf {
			if l := labelOf(mt.OneOf, f.Answer); l != "" && l != Normalize(mt.Label) {
				return MissDistractor
			}
		}
	}
	na := Normalize(f.Answer)
	np := ""
	if f.Prompt != "" {
		np = " " + normalizeText(f.Prompt) + " "
	}
	// Values of a known shape the answer gives and the case did not expect:
	// in the prompt they are a confusion, nowhere in it an invention.
	invented := false
	if np != "" && !SaysNotFound(f.Answer) {
		for _, mt := range f.Matchers {
			if !promptHolds(mt, np) {
				continue
			}
			for _, v := range unexpectedValues(mt, f.Answer) {
				if containsNormalized(np, v) {
					return MissDistractor
				}
				invented = true
			}
			if mt.Kind() == corpus.MatchEquals && na != "" && len(strings.Fields(na)) <= 2*len(strings.Fields(Normalize(*mt.Equals)))+2 && containsNormalized(np, na) {
				return MissDistractor
			}
		}
	}
	switch {
	case SaysNotFound(f.Answer):
		return MissNotFound
	case invented:
		return MissHallucinated
	}
	return MissOther
}

// promptHolds reports whether the normalised, padded prompt np states
// what the matcher expects (its number, its equals value, every contains
// value): only then is the prompt where the answer's candidates come from,
// and a value elsewhere an invention rather than, say, a wrong sum.
func promptHolds(mt corpus.Matcher, np string) bool {
	switch mt.Kind() {
	case corpus.MatchNumber:
		return containsNormalized(np, Normalize(strconv.FormatFloat(*mt.Number, 'f', -1, 64)))
	case corpus.MatchEquals:
		return containsNormalized(np, Normalize(*mt.Equals))
	case corpus.MatchContains:
		for _, v := range mt.Contains {
			if !containsNormalized(np, Normalize(v)) {
				return false
			}
		}
		return len(mt.Contains) > 0
	}
	return false
}

// unexpectedValues are the normalised values of a matcher's kind in the
// answer that the matcher does not expect: numbers off a number matcher's
// target, or values shaped like an equals or contains matcher's values
// (digits of their length, uuids) that are not among them.
func unexpectedValues(mt corpus.Matcher, answer string) []string {
	switch mt.Kind() {
	case corpus.MatchNumber:
		var out []string
		for _, s := range numberPattern.FindAllString(answer, -1) {
			f, err := strconv.ParseFloat(strings.NewReplacer(",", "", "'", "", "_", "", " ", "", "\u00a0", "", "\u202f", "", "−", "-").Replace(s), 64)
			tol := mt.Tolerance
			if tol <= 0 {
				tol = 1e-9 * math.Max(1, math.Abs(*mt.Number))
			}
			if err == nil && math.Abs(math.Abs(f)-math.Abs(*mt.Number)) > tol {
				if n := Normalize(s); n != "" {
					out = append(out, n)
				}
			}
		}
		return out
	case corpus.MatchEquals, corpus.MatchContains:
		values := mt.Contains
		if mt.Equals != nil {
			values = []string{*mt.Equals}
		}
		for _, v := range values {
			if valueKind(Normalize(v)) == kindWord {
				return nil // free text: no telling a paraphrase from an invention
			}
		}
		expected := normSet(values)
		var out []string
		for _, c := range AnswerValues(answer, values, nil) {
			if !expected[c] {
				out = append(out, c)
			}
		}
		return out
	}
	return nil
}

// normalizeText is Normalize, with a fast path for ASCII text (prompts
// are long: 128k tokens of prose take Normalize about 7 ms, this loop a
// fraction of it). Both give the same result (a test checks).
func normalizeText(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return Normalize(s)
		}
	}
	b := make([]byte, 0, len(s))
	pending := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case (c == ',' || c == '\'' || c == '_') && i > 0 && s[i-1] >= '0' && s[i-1] <= '9' && threeDigitsAfter(s, i+1):
			continue
		default:
			pending = true
			continue
		}
		if pending && len(b) > 0 {
			b = append(b, ' ')
		}
		pending = false
		b = append(b, c)
	}
	return string(b)
}

// normSet is the set of the normalised values.
func normSet(values []string) map[string]bool {
	m := make(map[string]bool, len(values))
	for _, v := range values {
		m[Normalize(v)] = true
	}
	return m
}

// MissOf classifies the miss of an answer to c when v attributes it to
// the model (AttrModelMissed), reading the prompt c holds; "" otherwise.
// It is what the dispatcher calls as each request completes: reports
// re-score records without their prompts, and keep the Miss recorded.
func MissOf(c *corpus.Case, v Verdict, answer string) string {
	if c == nil || v.Attribution != AttrModelMissed {
		return ""
	}
	contents := make([]string, len(c.Messages))
	for i, m := range c.Messages {
		contents[i] = m.Content
	}
	text := strings.Join(contents, "\n")
	f := MissFacts{Answer: answer, Expected: c.Expected, Matchers: c.Matchers, Task: c.Task, Prompt: text}
	if len(c.Matchers) == 0 {
		f.Distractors = corpus.ReadPrompt(text).Distractors
	}
	return string(ClassifyMiss(f))
}
