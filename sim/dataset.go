package sim

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/probes"
)

// datasetCase is one case of the user's dataset the server knows: its
// message contents (to recognise the prompt), its task type, and the
// answers it gives when right and when wrong.
type datasetCase struct {
	contents []string
	taskType string
	open     bool
	right    string
	// wrong are an open case's other answers; wrongBy a scored case's
	// wrong answers by kind (WrongKinds order), empty where the case
	// allows none of the kind.
	wrong   []string
	wrongBy [4]string

	// pad is how its padded prompts hold it (see addPadded).
	pad *padForm
}

// datasetIndex finds a request's dataset case by its message contents.
type datasetIndex map[uint64][]*datasetCase

// loadDataset reads the dataset file Config.Dataset names and prepares
// every case's answers. A case whose right answer cannot be made from its
// matchers (a regex the generator cannot satisfy) is an error, so the
// simulator never claims a right answer it cannot give.
func loadDataset(path string) (datasetIndex, error) {
	d, err := corpus.LoadDataset(path)
	if err != nil {
		return nil, err
	}
	idx := datasetIndex{}
	for _, c := range d.Cases {
		dc, err := prepareCase(c)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: case %s: %w", path, c.Line, c.ID, err)
		}
		h := hashPrompt(dc.contents)
		idx[h] = append(idx[h], dc)
		idx.addPadded(c, dc)
	}
	return idx, nil
}

// lookup returns the dataset case whose contents are exactly contents, or
// whose content a padded prompt buries (see lookupPadded).
func (idx datasetIndex) lookup(contents []string) *datasetCase {
	for _, dc := range idx[hashPrompt(contents)] {
		if equalStrings(dc.contents, contents) {
			return dc
		}
	}
	return idx.lookupPadded(contents)
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// prepareCase makes a case's answers (see RightAnswer and wrongAnswers).
func prepareCase(c corpus.DatasetCase) (*datasetCase, error) {
	chat := c.Chat()
	dc := &datasetCase{taskType: c.TaskType, open: c.Open()}
	for _, m := range chat {
		dc.contents = append(dc.contents, m.Content)
	}
	if dc.open {
		dc.right = openAnswer(chat[len(chat)-1].Content, 0)
		dc.wrong = []string{openAnswer(chat[len(chat)-1].Content, 1), openAnswer(chat[len(chat)-1].Content, 2)}
		return dc, nil
	}
	right, err := RightAnswer(c.Expected)
	if err != nil {
		return nil, err
	}
	dc.right = right
	prompt := strings.Join(dc.contents, "\n")
	dc.wrongBy = wrongAnswers(c.Expected, prompt)
	for i, w := range dc.wrongBy {
		// Keep only answers the scorer finds wrong and of their kind, so
		// that the simulator's mix is what a report's miss split shows.
		f := probes.MissFacts{Answer: w, Matchers: c.Expected, Prompt: prompt}
		if w != "" && (probes.ScoreMatchers(c.Expected, w).Strict || string(probes.ClassifyMiss(f)) != WrongKinds[i]) {
			dc.wrongBy[i] = ""
		}
	}
	return dc, nil
}

// answerCase is the server's answer to a dataset case: right with
// probability TaskAccuracy of its task type (BaseAccuracy when the type
// has none) times the load factor of Accuracy, never when truncation cut
// part of the case (whole is false; cutting only a padded case's haystack
// leaves it whole, see readIn). An open-ended case's "right" answer is its canonical one (the
// same from every simulated target), a wrong one a variant.
func (c Config) answerCase(dc *datasetCase, whole bool, queued int, rnd *rng) answer {
	p := c.TaskAccuracyOf(dc.taskType)
	if queued > 0 {
		q := float64(queued)
		p *= 1 - c.LoadPenalty*q/(q+float64(c.MaxSeqs))
	}
	if !whole {
		p = 0
	}
	a := answer{asks: 1, accuracy: clamp01(p)}
	u, pick := rnd.float64(), rnd.next()
	if u < p {
		a.right, a.text = 1, dc.right
		return a
	}
	if dc.open {
		a.text = dc.wrong[int(pick%uint64(len(dc.wrong)))]
		return a
	}
	var allowed [4]bool
	for i, w := range dc.wrongBy {
		allowed[i] = w != ""
	}
	kind := c.wrongMix().pick(allowed, float64(pick>>11)/(1<<53))
	a.text = dc.wrongBy[slices.Index(WrongKinds, kind)]
	return a
}

// TaskAccuracyOf is the probability of a right answer to a dataset case
// of the task type on an idle server.
func (c Config) TaskAccuracyOf(taskType string) float64 {
	m, _ := c.TaskAccuracy.Parse() // Validate refused a bad one
	if p, ok := m[taskType]; ok {
		return p
	}
	return c.BaseAccuracy
}

// RightAnswer makes an answer that passes every matcher: an equals
// matcher's value when there is one (the answer must be it alone), else
// an anchored regex's sample, else the answers of each matcher (see
// matcherAnswer) on their own lines.
func RightAnswer(ms []corpus.Matcher) (string, error) {
	for _, m := range ms {
		if m.Kind() == corpus.MatchEquals {
			return *m.Equals, nil
		}
	}
	var parts []string
	for _, m := range ms {
		s, err := matcherAnswer(m)
		if err != nil {
			return "", err
		}
		if m.Kind() == corpus.MatchRegex && strings.HasPrefix(*m.Regex, "^") {
			return s, nil
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "\n"), nil
}

// matcherAnswer is the shortest honest answer that passes one matcher.
func matcherAnswer(m corpus.Matcher) (string, error) {
	switch m.Kind() {
	case corpus.MatchEquals:
		return *m.Equals, nil
	case corpus.MatchContains:
		if m.Match == corpus.ContainsAny {
			return m.Contains[0], nil
		}
		return strings.Join(m.Contains, ", "), nil
	case corpus.MatchRegex:
		return regexSample(*m.Regex)
	case corpus.MatchOneOf:
		return m.Label, nil
	case corpus.MatchNumber:
		return strconv.FormatFloat(*m.Number, 'f', -1, 64), nil
	case corpus.MatchJSON:
		obj, err := jsonAnswer(m.JSON)
		if err != nil {
			return "", err
		}
		return "```json\n" + obj + "\n```", nil
	}
	return "", fmt.Errorf("a matcher of no kind")
}

// jsonAnswer builds the object a json matcher's fields describe.
func jsonAnswer(fields map[string]json.RawMessage) (string, error) {
	root := map[string]any{}
	for path, raw := range fields {
		var v any
		if pat, ok := corpus.FieldRegex(raw); ok {
			s, err := regexSample(pat)
			if err != nil {
				return "", fmt.Errorf("json.%s: %w", path, err)
			}
			v = s
		} else if err := json.Unmarshal(raw, &v); err != nil {
			return "", fmt.Errorf("json.%s: %w", path, err)
		}
		if err := setPath(root, strings.Split(path, "."), v); err != nil {
			return "", fmt.Errorf("json.%s: %w", path, err)
		}
	}
	b, err := json.Marshal(root)
	return string(b), err
}

// setPath sets v at a path of keys in nested objects (an index counts as
// a key: the generator writes objects, which a numeric path into an
// array does not read, so such a matcher cannot be answered).
func setPath(obj map[string]any, path []string, v any) error {
	for _, k := range path[:len(path)-1] {
		if _, err := strconv.Atoi(k); err == nil {
			return fmt.Errorf("the simulator does not build arrays (path part %s)", k)
		}
		next, ok := obj[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			obj[k] = next
		}
		obj = next
	}
	obj[path[len(path)-1]] = v
	return nil
}

// wrongAnswers are the answers the server may give a case it gets wrong,
// by kind (WrongKinds order), each failing at least one matcher; a kind
// the case does not allow is empty. Every case can say the answer is not
// in the text (not_found). Its first matcher decides the others:
//
//   - one_of: another label (distractor);
//   - number: a number of the prompt other than the expected one
//     (distractor), and one off by a tenth (or by 7) that the prompt does
//     not hold (hallucinated);
//   - contains (all) of several values: the first alone (partial);
//   - json of several fields: the object with all but one field right
//     (partial, when the simulator can build it);
//   - equals, or contains, of digits or a uuid: an invented value of that
//     shape (hallucinated).
func wrongAnswers(ms []corpus.Matcher, prompt string) [4]string {
	var out [4]string
	set := func(kind, answer string) { out[slices.Index(WrongKinds, kind)] = answer }
	set(WrongNotFound, "I could not find the answer in the text.")
	m := ms[0]
	switch m.Kind() {
	case corpus.MatchOneOf:
		for _, l := range m.OneOf {
			if normalizeWords(l) != normalizeWords(m.Label) && !strings.Contains(" "+normalizeWords(l)+" ", " "+normalizeWords(m.Label)+" ") {
				set(WrongDistractor, l)
				break
			}
		}
	case corpus.MatchNumber:
		off := math.Max(math.Abs(*m.Number)*0.1, 7) + m.Tolerance
		if v := strconv.FormatFloat(*m.Number+off, 'f', -1, 64); !strings.Contains(prompt, v) {
			set(WrongHallucinated, v)
		}
		if d := otherNumber(prompt, *m.Number, m.Tolerance); d != "" {
			set(WrongDistractor, d)
		}
	case corpus.MatchContains:
		if m.Match != corpus.ContainsAny && len(m.Contains) > 1 {
			set(WrongPartial, m.Contains[0])
		}
		if len(m.Contains) > 0 {
			set(WrongHallucinated, inventLike(m.Contains[0], prompt))
		}
	case corpus.MatchEquals:
		set(WrongHallucinated, inventLike(*m.Equals, prompt))
	case corpus.MatchJSON:
		set(WrongNotFound, "```json\n{\"answer\": \"unknown\"}\n```")
		if len(m.JSON) > 1 {
			if obj, err := jsonAnswer(withoutOneField(m.JSON)); err == nil {
				set(WrongPartial, "```json\n"+obj+"\n```")
			}
		}
	}
	return out
}

// inventLike is an invented value shaped like v (digits of its count, or
// a uuid) that the prompt does not hold; "" for other values, whose
// invention could not be told from a paraphrase.
func inventLike(v, prompt string) string {
	lv := strings.ToLower(strings.TrimSpace(v))
	if !allDigitsString(lv) && !corpus.IsUUID(lv) {
		return ""
	}
	return invent([]string{lv}, nil, prompt, hashPrompt([]string{prompt, v}))
}

// otherNumber is the first number of the prompt that the answer want
// (within tol) is not and that is not part of a longer word, or "".
func otherNumber(prompt string, want, tol float64) string {
	for _, w := range strings.FieldsFunc(prompt, func(r rune) bool { return r != '.' && !unicode.IsDigit(r) && !unicode.IsLetter(r) }) {
		w = strings.TrimRight(w, ".")
		if !allDigitsString(strings.ReplaceAll(w, ".", "")) || strings.Count(w, ".") > 1 {
			continue
		}
		f, err := strconv.ParseFloat(w, 64)
		if err == nil && math.Abs(f-want) > max(tol, 1e-9*math.Max(1, math.Abs(want))) {
			return w
		}
	}
	return ""
}

// withoutOneField is a json matcher's fields with the first (by path)
// given a value no matcher expects.
func withoutOneField(fields map[string]json.RawMessage) map[string]json.RawMessage {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make(map[string]json.RawMessage, len(fields))
	for k, v := range fields {
		out[k] = v
	}
	out[keys[0]] = json.RawMessage(`"not this value"`)
	return out
}

// normalizeWords lower-cases s and keeps its letter and digit runs.
func normalizeWords(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}), " ")
}

// openAnswer is an answer to an open-ended prompt: variant 0 is its
// canonical answer (the first words of the prompt's last message, as a
// summary would start), others differ from it.
func openAnswer(prompt string, variant int) string {
	words := strings.Fields(prompt)
	if len(words) > 12 {
		words = words[:12]
	}
	base := strings.Join(words, " ")
	switch variant {
	case 0:
		return "In short: " + base
	case 1:
		return "A different take: " + reverseWords(base)
	}
	return "I am not sure what to say about this."
}

func reverseWords(s string) string {
	w := strings.Fields(s)
	for i, j := 0, len(w)-1; i < j; i, j = i+1, j-1 {
		w[i], w[j] = w[j], w[i]
	}
	return strings.Join(w, " ")
}

// regexSample makes a string that the pattern matches, from its syntax
// tree: the first choice of each alternation and class, the minimum of
// each repetition. It fails on patterns it cannot honour (such as a word
// boundary between two letters), checked by matching the result.
func regexSample(pattern string) (string, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := writeSample(&b, re.Simplify()); err != nil {
		return "", err
	}
	s := b.String()
	if cre, err := regexp.Compile(pattern); err != nil || !cre.MatchString(strings.TrimSpace(s)) {
		return "", fmt.Errorf("regex %q: the simulator cannot make an answer it matches", pattern)
	}
	return s, nil
}

func writeSample(b *strings.Builder, re *syntax.Regexp) error {
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if re.Flags&syntax.FoldCase != 0 {
				r = unicode.ToLower(r)
			}
			b.WriteRune(r)
		}
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return fmt.Errorf("an empty character class")
		}
		b.WriteRune(classSample(re.Rune))
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		b.WriteByte('x')
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
	case syntax.OpCapture:
		return writeSample(b, re.Sub[0])
	case syntax.OpStar, syntax.OpQuest:
	case syntax.OpPlus:
		return writeSample(b, re.Sub[0])
	case syntax.OpRepeat:
		for range re.Min {
			if err := writeSample(b, re.Sub[0]); err != nil {
				return err
			}
		}
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if err := writeSample(b, s); err != nil {
				return err
			}
		}
	case syntax.OpAlternate:
		return writeSample(b, re.Sub[0])
	case syntax.OpNoMatch:
		return fmt.Errorf("a pattern that matches nothing")
	}
	return nil
}

// classSample picks a readable rune of a class given as ranges: a letter
// or digit when the class holds one, else its first rune.
func classSample(ranges []rune) rune {
	for _, pref := range []func(rune) bool{unicode.IsDigit, unicode.IsLetter, unicode.IsPrint} {
		for i := 0; i+1 < len(ranges); i += 2 {
			lo, hi := ranges[i], min(ranges[i+1], ranges[i]+0x3000)
			for r := lo; r <= hi; r++ {
				if r < 0x80 && pref(r) {
					return r
				}
			}
		}
	}
	return ranges[0]
}

// TaskAccuracy is the probability of a right answer per dataset task
// type, written "extraction=0.9,code=0.6" (the form of a flag, and a
// string keeps Config comparable); a campaign's sim settings may give it
// as a mapping {extraction: 0.9, code: 0.6}, which is stored in that form,
// its types sorted.
type TaskAccuracy string

// UnmarshalJSON reads the string form or an object of probabilities.
func (t *TaskAccuracy) UnmarshalJSON(b []byte) error {
	s, err := weightsText(b, "task_accuracy: give a mapping of task type to probability, such as {extraction: 0.9}")
	*t = TaskAccuracy(s)
	return err
}

// Parse reads the probabilities by task type.
func (t TaskAccuracy) Parse() (map[string]float64, error) {
	m := map[string]float64{}
	if strings.TrimSpace(string(t)) == "" {
		return m, nil
	}
	for part := range strings.SplitSeq(string(t), ",") {
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q: write task types and probabilities as extraction=0.9,code=0.6", part)
		}
		p, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(p >= 0 && p <= 1) {
			return nil, fmt.Errorf("%s=%s: the probability must be a number in [0, 1]", k, strings.TrimSpace(v))
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("task type %q is given twice", k)
		}
		m[k] = p
	}
	return m, nil
}
