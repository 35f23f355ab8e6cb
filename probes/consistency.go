package probes

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
)

// CaseAnswer is one answer to one Case.
type CaseAnswer struct {
	CaseID string
	Answer string
	// Expected are the Case's expected values; they decide which values
	// an answer is reduced to (see AnswerValues).
	Expected []string
	// Canaries are the Case's canary values, if any: left out of the
	// comparison, so an answer that drops a canary sentence still agrees.
	Canaries []string
	// Whole compares the whole normalised answer rather than its values:
	// for the user's own cases, whose answers are free text.
	Whole bool
}

// Consistency is how a model's answers to one Case agree over its repeats.
type Consistency struct {
	CaseID string `json:"case_id"`
	// Answers is the number of answers (repeats) seen.
	Answers int `json:"answers"`
	// Distinct is the number of different answer values (see
	// AnswerValues); an answer holding no value counts as one.
	Distinct int `json:"distinct"`
	// Agreement is the share of answers equal to the modal answer.
	Agreement float64 `json:"agreement"`
	// Modal is the most frequent answer value set, its values sorted and
	// joined by ", " (the lexically first among equally frequent ones;
	// empty for answers holding no value).
	Modal string `json:"modal"`
}

// ConsistencyOf groups answers by Case and measures their agreement,
// comparing the values the answers give (see AnswerValues) rather than their
// wording. The result is sorted by CaseID.
func ConsistencyOf(answers []CaseAnswer) []Consistency {
	counts := map[string]map[string]int{}
	for _, a := range answers {
		m := counts[a.CaseID]
		if m == nil {
			m = map[string]int{}
			counts[a.CaseID] = m
		}
		if a.Whole {
			m[Normalize(a.Answer)]++
			continue
		}
		m[strings.Join(AnswerValues(a.Answer, a.Expected, a.Canaries), ", ")]++
	}
	out := make([]Consistency, 0, len(counts))
	for id, m := range counts {
		c := Consistency{CaseID: id, Distinct: len(m)}
		best := -1
		for ans, n := range m {
			c.Answers += n
			if n > best || (n == best && ans < c.Modal) {
				best, c.Modal = n, ans
			}
		}
		c.Agreement = float64(best) / float64(c.Answers)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Consistency) int { return cmp.Compare(a.CaseID, b.CaseID) })
	return out
}

// Value kinds, as AnswerValues tells them apart from the expected values.
const (
	kindNumber = "number"
	kindUUID   = "uuid"
	kindWord   = "word"
)

// uuidWords is a UUID after Normalize: its five hex groups as words.
var uuidWords = regexp.MustCompile(`(?:^| )([0-9a-f]{8} [0-9a-f]{4} [0-9a-f]{4} [0-9a-f]{4} [0-9a-f]{12})(?: |$)`)

// AnswerValues reduces an answer to the values it gives, so that two
// answers with the same values agree however they are worded. The rule,
// on normalised text (see Normalize):
//
//   - every expected value the answer holds (as MatchAnswer finds it);
//   - plus the other candidate values of the same kind as the expected
//     ones: for numbers, every whole number whose digit count is within
//     two of an expected number's (a 7-digit value makes 5- to 9-digit
//     numbers candidates); for UUIDs, every UUID; for words, only when
//     the answer holds no expected value, its content words (letters
//     only, at least three, common English words left out), since a
//     wrong word answer names some other word;
//   - canary values are never values: an answer that adds or drops the
//     canary sentence gives the same values.
//
// The result is sorted and free of duplicates; nil when the answer gives
// no value (empty, or a refusal without any candidate).
func AnswerValues(answer string, expected, canaries []string) []string {
	na := Normalize(answer)
	if na == "" {
		return nil
	}
	padded := " " + na + " "
	canary := map[string]bool{}
	for _, c := range canaries {
		if nc := Normalize(c); nc != "" {
			canary[nc] = true
		}
	}
	set := map[string]bool{}
	kinds := map[string]bool{}
	var digits []int
	for _, e := range expected {
		ne := Normalize(e)
		if ne == "" || canary[ne] {
			continue
		}
		k := valueKind(ne)
		kinds[k] = true
		if k == kindNumber {
			digits = append(digits, len(ne))
		}
		if containsNormalized(padded, ne) {
			set[ne] = true
		}
	}
	add := func(v string) {
		if !canary[v] {
			set[v] = true
		}
	}
	words := strings.Fields(na)
	if kinds[kindNumber] {
		for _, w := range words {
			if isDigits(w) && slices.ContainsFunc(digits, func(n int) bool { return abs(len(w)-n) <= 2 }) {
				add(w)
			}
		}
	}
	if kinds[kindUUID] {
		// The pattern's surrounding spaces are consumed, so look for
		// overlapping matches one word at a time.
		for i := 0; i < len(na); {
			loc := uuidWords.FindStringSubmatchIndex(na[i:])
			if loc == nil {
				break
			}
			add(na[i+loc[2] : i+loc[3]])
			i += loc[3]
		}
	}
	if kinds[kindWord] && len(set) == 0 {
		for _, w := range words {
			if len(w) >= 3 && isLetters(w) && !stopWords[w] {
				add(w)
			}
		}
	}
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// valueKind tells a normalised expected value's kind.
func valueKind(nv string) string {
	switch {
	case isDigits(nv):
		return kindNumber
	case uuidWords.MatchString(nv):
		return kindUUID
	}
	return kindWord
}

func isDigits(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	return w != ""
}

// isLetters reports whether w has no ASCII digit and no space (Normalize
// leaves only letters and digits in a word).
func isLetters(w string) bool {
	return !strings.ContainsAny(w, "0123456789 ")
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// stopWords are common words of answers that name no value.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for w := range strings.FieldsSeq(`the and for are was were has had have this that these those with from into
		what which who whom whose where when why how not but can could cannot would should will shall may might
		must does did done its they them their there here you your our his her she him any all some none
		one two three value values answer answers word words number numbers special magic key keys text
		passage document context given find found provided mentioned say says said sorry unable able
		opening closing passphrase passphrases is of to in on at by as or an be if so no yes also only`) {
		m[w] = true
	}
	return m
}()
