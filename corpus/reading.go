package corpus

import "strings"

// Reading is what a perfect reader finds in a prompt's text: the keys its
// question asks for and, for each, the values the text states. The simulator
// uses it to answer only from what survived a server's truncation.
type Reading struct {
	// Asks are the question's keys in the order asked; empty when no question
	// survived.
	Asks []Ask
	// Distractors are values stated in the text for keys that were not asked.
	Distractors []string
	// Task is TaskLatent or TaskCWE when the question is one of theirs,
	// empty for the other needle tasks (and when no question survived).
	Task string
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
// the way a perfect reader would. It runs in time linear in len(text) and
// never panics, whatever the text.
//
// The question follows the last "Question: " (normally at a line start, but
// a middle cut may have removed the newline); it counts only when its
// sentence is complete (a question cut off by truncation asks
// nothing, so Asks is empty). Statements are read from the text before the
// question (the whole text when there is none):
//
//   - needles: "... special magic numbers for KEY is: VALUE." (also uuids,
//     words), read even when the sentence's start was cut;
//   - chain assignments: "VAR NAME = 12345." and "VAR NAME = VAR OTHER.",
//     resolved by following the assignments (an asked chain whose start is
//     missing has no Values);
//   - canaries: "The opening passphrase is: WORD." and "The closing
//     passphrase is: WORD.".
//
// Asks follow the question's order, the canaries (Canary true, keys
// CanaryHeadKey and CanaryTailKey) last. Values keep text order without
// repeats. Distractors are the values of every key not asked (chain: the
// numbers of other chains), in text order without repeats.
func ReadPrompt(text string) Reading {
	body := text
	var q question
	if qi := strings.LastIndex(text, questionLead); qi >= 0 {
		body = text[:qi]
		line := text[qi+len(questionLead):]
		if nl := strings.IndexByte(line, '\n'); nl >= 0 {
			line = line[:nl]
		}
		q = parseQuestion(line)
	}

	var r Reading
	switch q.task {
	case TaskLatent:
		r = readLatent(body, q.keys[0])
	case TaskCWE:
		r = readCWE(body, q.words)
	}
	if q.task != "" {
		r.Task = q.task
		if q.canaries {
			r.Asks = append(r.Asks, readCanaries(body)...)
		}
		return r
	}

	st := scanStatements(body)
	asked := make(map[string]bool, len(q.keys))
	if q.chain {
		name := q.keys[0]
		ask := Ask{Key: name}
		v, ok := st.resolve(name)
		if ok {
			ask.Values = []string{v}
		}
		r.Asks = append(r.Asks, ask)
		seen := map[string]bool{}
		if ok {
			seen[v] = true
		}
		for _, n := range st.numbers {
			if !seen[n] {
				seen[n] = true
				r.Distractors = append(r.Distractors, n)
			}
		}
	} else {
		for _, k := range q.keys {
			asked[k] = true
			r.Asks = append(r.Asks, Ask{Key: k, Values: st.values(k)})
		}
		seen := map[string]bool{}
		for _, nd := range st.needles {
			if asked[nd.key] || seen[nd.value] {
				continue
			}
			seen[nd.value] = true
			r.Distractors = append(r.Distractors, nd.value)
		}
		if len(q.keys) == 0 {
			// No question: every stated chain number is unasked too.
			for _, n := range st.numbers {
				if !seen[n] {
					seen[n] = true
					r.Distractors = append(r.Distractors, n)
				}
			}
		}
	}
	if q.canaries {
		r.Asks = append(r.Asks, canaryAsks(st.head, st.tail)...)
	}
	return r
}

// canaryAsks are the canary asks with the values read (none when empty).
func canaryAsks(headValue, tailValue string) []Ask {
	head := Ask{Key: CanaryHeadKey, Canary: true}
	if headValue != "" {
		head.Values = []string{headValue}
	}
	tail := Ask{Key: CanaryTailKey, Canary: true}
	if tailValue != "" {
		tail.Values = []string{tailValue}
	}
	return []Ask{head, tail}
}

// readCanaries reads only the canaries of text.
func readCanaries(text string) []Ask {
	return canaryAsks(canaryValue(text, headCanaryLead), canaryValue(text, tailCanaryLead))
}

type question struct {
	keys     []string
	chain    bool
	canaries bool
	// task is TaskLatent or TaskCWE for their questions; words is the
	// number of words a cwe question asks for.
	task  string
	words int
}

// parseQuestion parses one question line (after "Question: "). A sentence
// that is not complete yields no keys.
func parseQuestion(line string) question {
	var q question
	rest := ""
	switch {
	case strings.HasPrefix(line, latentAskLead):
		s := line[len(latentAskLead):]
		end := strings.IndexByte(s, '?')
		if end <= 0 || end > 64 {
			return q
		}
		q.keys = []string{s[:end]}
		q.task = TaskLatent
		rest = s[end+1:]
	case strings.HasPrefix(line, cweAskLead), strings.HasPrefix(line, cweAskOne):
		n, r, ok := parseCWEQuestion(line)
		if !ok {
			return q
		}
		q.keys = []string{CWEKey}
		q.task, q.words = TaskCWE, n
		rest = r
	case strings.HasPrefix(line, chainAskLead):
		s := line[len(chainAskLead):]
		n := upperRun(s)
		if n == 0 || n >= len(s) || s[n] != '?' {
			return q
		}
		q.keys = []string{s[:n]}
		q.chain = true
		rest = s[n+1:]
	case strings.HasPrefix(line, askOneLead), strings.HasPrefix(line, askAllLead):
		s := strings.TrimPrefix(line, askOneLead)
		all := false
		if len(s) == len(line) {
			s = line[len(askAllLead):]
			all = true
		}
		noun, ok := cutNoun(s)
		if !ok {
			return q
		}
		s = s[len(noun):]
		if all {
			if !strings.HasPrefix(s, "s") {
				return q
			}
			s = s[1:]
		}
		if !strings.HasPrefix(s, needleFor) {
			return q
		}
		s = s[len(needleFor):]
		end := strings.Index(s, askTail)
		if end < 0 {
			return q
		}
		keys := splitKeys(s[:end])
		if keys == nil || (!all && len(keys) != 1) {
			return q
		}
		q.keys = keys
		rest = s[end+len(askTail):]
	default:
		return q
	}
	q.canaries = strings.HasPrefix(rest, canaryAsk)
	return q
}

// cutNoun returns the kind noun s starts with.
func cutNoun(s string) (string, bool) {
	for _, n := range [...]string{"number", "uuid", "word"} {
		if strings.HasPrefix(s, n) {
			return n, true
		}
	}
	return "", false
}

// splitKeys splits "a, b and c" into keys; nil when a part is not a key.
func splitKeys(s string) []string {
	var keys []string
	if i := strings.LastIndex(s, " and "); i >= 0 {
		last := s[i+len(" and "):]
		for _, k := range strings.Split(s[:i], ", ") {
			keys = append(keys, k)
		}
		keys = append(keys, last)
	} else {
		keys = []string{s}
	}
	for _, k := range keys {
		if k == "" || keyRun(k) != len(k) {
			return nil
		}
	}
	return keys
}

// keyRun is the length of the key ([a-z-]) run s starts with.
func keyRun(s string) int {
	i := 0
	for i < len(s) && i < 64 && (s[i] >= 'a' && s[i] <= 'z' || s[i] == '-') {
		i++
	}
	return i
}

// upperRun is the length of the variable name ([A-Z]) run s starts with.
func upperRun(s string) int {
	i := 0
	for i < len(s) && i < 16 && s[i] >= 'A' && s[i] <= 'Z' {
		i++
	}
	return i
}

// valueRun is the length of the value ([0-9a-z-]) run s starts with.
func valueRun(s string) int {
	i := 0
	for i < len(s) && i < 64 && (s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'z' || s[i] == '-') {
		i++
	}
	return i
}

type needleStmt struct{ key, value string }

type statements struct {
	needles []needleStmt
	// chain assignments: name -> number or "VAR OTHER"
	vars    map[string]string
	numbers []string // chain numbers in text order
	head    string
	tail    string
}

// values returns the distinct values stated for key, in text order.
func (st *statements) values(key string) []string {
	var out []string
	for _, nd := range st.needles {
		if nd.key != key {
			continue
		}
		dup := false
		for _, v := range out {
			if v == nd.value {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, nd.value)
		}
	}
	return out
}

// resolve follows the chain from name to a number.
func (st *statements) resolve(name string) (string, bool) {
	for steps := 0; steps <= len(st.vars); steps++ {
		src, ok := st.vars[name]
		if !ok {
			return "", false
		}
		if !strings.HasPrefix(src, varLead) {
			return src, true
		}
		name = src[len(varLead):]
	}
	return "", false // a cycle
}

// scanStatements finds every needle, chain assignment and canary in text.
func scanStatements(text string) statements {
	var st statements
	const magic = "special magic "
	for pos := 0; ; {
		i := strings.Index(text[pos:], magic)
		if i < 0 {
			break
		}
		pos += i + len(magic)
		if nd, ok := parseNeedle(text[pos:]); ok {
			st.needles = append(st.needles, nd)
		}
	}
	for pos := 0; ; {
		i := strings.Index(text[pos:], varLead)
		if i < 0 {
			break
		}
		pos += i + len(varLead)
		name, src, ok := parseAssignment(text[pos:])
		if !ok {
			continue
		}
		if st.vars == nil {
			st.vars = map[string]string{}
		}
		if _, dup := st.vars[name]; !dup {
			st.vars[name] = src
		}
		if !strings.HasPrefix(src, varLead) {
			st.numbers = append(st.numbers, src)
		}
	}
	st.head = canaryValue(text, headCanaryLead)
	st.tail = canaryValue(text, tailCanaryLead)
	return st
}

// parseNeedle parses "numbers for KEY is: VALUE." (after "special magic ").
func parseNeedle(s string) (needleStmt, bool) {
	noun, ok := cutNoun(s)
	if !ok {
		return needleStmt{}, false
	}
	s = s[len(noun):]
	if !strings.HasPrefix(s, "s"+needleFor) {
		return needleStmt{}, false
	}
	s = s[len("s"+needleFor):]
	n := keyRun(s)
	if n == 0 || !strings.HasPrefix(s[n:], needleIs) {
		return needleStmt{}, false
	}
	key := s[:n]
	s = s[n+len(needleIs):]
	m := valueRun(s)
	if m == 0 || m >= len(s) || s[m] != '.' {
		return needleStmt{}, false
	}
	value := s[:m]
	if !validValue(noun, value) {
		return needleStmt{}, false
	}
	return needleStmt{key: key, value: value}, true
}

// validValue checks a value's shape against its kind noun.
func validValue(noun, v string) bool {
	switch noun {
	case "number":
		return len(v) == 7 && allDigits(v)
	case "uuid":
		return IsUUID(v)
	default:
		for i := 0; i < len(v); i++ {
			if v[i] < 'a' || v[i] > 'z' {
				return false
			}
		}
		return true
	}
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsUUID reports whether s has the 8-4-4-4-12 lower-case hex form of the
// uuid value kind.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// parseAssignment parses "NAME = 12345." or "NAME = VAR OTHER." (after
// "VAR ").
func parseAssignment(s string) (name, src string, ok bool) {
	n := upperRun(s)
	if n == 0 || !strings.HasPrefix(s[n:], " = ") {
		return "", "", false
	}
	name = s[:n]
	s = s[n+len(" = "):]
	if strings.HasPrefix(s, varLead) {
		t := s[len(varLead):]
		m := upperRun(t)
		if m == 0 || m >= len(t) || t[m] != '.' {
			return "", "", false
		}
		return name, varLead + t[:m], true
	}
	m := 0
	for m < len(s) && m < 16 && s[m] >= '0' && s[m] <= '9' {
		m++
	}
	if m == 0 || m >= len(s) || s[m] != '.' {
		return "", "", false
	}
	return name, s[:m], true
}

// canaryValue is the word of the first complete "LEAD WORD." in text.
func canaryValue(text, lead string) string {
	for pos := 0; ; {
		i := strings.Index(text[pos:], lead)
		if i < 0 {
			return ""
		}
		pos += i + len(lead)
		s := text[pos:]
		m := 0
		for m < len(s) && m < 32 && s[m] >= 'a' && s[m] <= 'z' {
			m++
		}
		if m > 0 && m < len(s) && s[m] == '.' {
			return s[:m]
		}
	}
}
