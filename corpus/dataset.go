package corpus

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// TaskDataset is the Task of a Case from the user's own dataset; its
// TaskType says which task of the user's it is.
const TaskDataset = "dataset"

// DefaultTaskType is the task type of a dataset case that names none.
const DefaultTaskType = "general"

// Limits of a dataset.
const (
	// MaxDatasetCases bounds the cases of one dataset.
	MaxDatasetCases = 100_000
	// maxDatasetLine bounds one line, in bytes.
	maxDatasetLine = 64 << 20
	// maxDatasetErrors is how many bad lines one error lists.
	maxDatasetErrors = 20
	maxIDLength      = 200
	// MaxCaseTokens bounds a case's max_tokens.
	MaxCaseTokens = 1_000_000
)

// DatasetCase is one line of a dataset file (JSON Lines, one case per
// line; blank lines are skipped):
//
//	{"id": "inv-001", "task_type": "extraction",
//	 "messages": [{"role": "system", "content": "..."}, {"role": "user", "content": "..."}],
//	 "max_tokens": 64,
//	 "expected": [{"json": {"total": 1250.5}}, {"contains": ["EUR"]}]}
//
// id is required and unique within the file. task_type is free text
// (extraction, classification, code, summarization, planning, ...;
// default general); reports give each task type its own section.
// messages is an OpenAI-style list of {role, content} (roles system,
// user, assistant; the last one the user's), or prompt a single user
// message. max_tokens, when given, caps this case's answer. expected is
// one matcher or a list of them (see Matcher), all of which a correct
// answer passes; leave it out for an open-ended prompt, which is then
// compared between targets but not scored. Padding (see Padding) buries
// the last user message in a haystack, or only the part of it between
// <<< and >>> when it holds one such pair (the markers are never sent).
//
//	{"id": "memo-1", "prompt": "Read the memo.\n<<<Memo: the code is 7731.>>>\nWhat is the code?", "expected": {"equals": "7731"}}
type DatasetCase struct {
	ID        string    `json:"id"`
	TaskType  string    `json:"task_type,omitempty"`
	Messages  []Message `json:"messages,omitempty"`
	Prompt    string    `json:"prompt,omitempty"`
	MaxTokens int       `json:"max_tokens,omitempty"`
	// Expected is nil for an open-ended prompt.
	Expected Matchers `json:"expected,omitempty"`
	// Line is the case's line number in its file (1-based).
	Line int `json:"-"`
}

// Matchers is a case's expected answer: one matcher or a list of them.
type Matchers []Matcher

// UnmarshalJSON reads one matcher object or a list of them; null is no
// matcher. Unknown fields are refused, naming the field.
func (ms *Matchers) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*ms = nil
		return nil
	case len(b) > 0 && b[0] == '[':
		var raws []json.RawMessage
		if err := json.Unmarshal(b, &raws); err != nil {
			return err
		}
		out := make(Matchers, 0, len(raws))
		for i, r := range raws {
			m, err := decodeMatcher(r)
			if err != nil {
				return &matcherError{field: fmt.Sprintf("expected[%d]", i), err: err}
			}
			out = append(out, m)
		}
		*ms = out
		return nil
	case len(b) > 0 && b[0] == '{':
		m, err := decodeMatcher(b)
		if err != nil {
			return &matcherError{field: "expected", err: err}
		}
		*ms = Matchers{m}
		return nil
	}
	return &matcherError{field: "expected", err: errors.New(`must be a matcher object or a list of them, such as {"equals": "Paris"}`)}
}

// matcherError is a matcher that does not decode, with the field it is in.
type matcherError struct {
	field string
	err   error
}

func (e *matcherError) Error() string { return e.field + ": " + e.err.Error() }

func decodeMatcher(b []byte) (Matcher, error) {
	var m Matcher
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&m); err != nil {
		if f := jsonErrorField(err); f != "" {
			if strings.Contains(err.Error(), "unknown field") {
				return Matcher{}, fmt.Errorf("%s: unknown field (matchers: %s)", f, strings.Join(MatcherKinds, ", "))
			}
			return Matcher{}, fmt.Errorf("%s: %s", f, jsonErrorText(err))
		}
		return Matcher{}, fmt.Errorf("%s (matchers: %s)", jsonErrorText(err), strings.Join(MatcherKinds, ", "))
	}
	return m, nil
}

// Open reports whether the case is open-ended: no expected answer.
func (c DatasetCase) Open() bool { return len(c.Expected) == 0 }

// Chat is the case's messages as sent: Messages, or Prompt as one user
// message, the markers of a part to pad (PadOpen, PadClose) removed.
func (c DatasetCase) Chat() []Message {
	if len(c.Messages) > 0 {
		return unmarked(c.Messages)
	}
	return unmarked([]Message{{Role: "user", Content: c.Prompt}})
}

// Dataset is the user's own cases, read from one file.
type Dataset struct {
	// Path is the file it was read from.
	Path  string
	Cases []DatasetCase
}

// TaskTypes lists the dataset's task types in order of first appearance.
func (d *Dataset) TaskTypes() []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range d.Cases {
		if !seen[c.TaskType] {
			seen[c.TaskType] = true
			out = append(out, c.TaskType)
		}
	}
	return out
}

// LoadDataset reads a dataset file (see DatasetCase).
func LoadDataset(path string) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the dataset: %w", err)
	}
	defer f.Close()
	return ReadDataset(f, path)
}

// ReadDataset reads a dataset from r; name is the file name its errors
// give. Every bad line is reported (up to 20) as "name:LINE: field: what
// is wrong"; a dataset without a case, with a repeated id or with a case
// no answer could pass (see Matcher.Check) is refused.
func ReadDataset(r io.Reader, name string) (*Dataset, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxDatasetLine)
	d := &Dataset{Path: name}
	var errs []error
	fail := func(line int, field, format string, args ...any) {
		if field != "" {
			field += ": "
		}
		errs = append(errs, fmt.Errorf("%s:%d: %s%s", name, line, field, fmt.Sprintf(format, args...)))
	}
	ids := map[string]int{}
	line := 0
	for sc.Scan() {
		line++
		if len(errs) >= maxDatasetErrors {
			errs = append(errs, fmt.Errorf("%s: more bad lines after line %d not listed", name, line-1))
			break
		}
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		if len(d.Cases) >= MaxDatasetCases {
			fail(line, "", "more than %d cases: split the dataset", MaxDatasetCases)
			break
		}
		c, field, err := parseCaseLine(text)
		if err != nil {
			fail(line, field, "%v", err)
			continue
		}
		c.Line = line
		if first, dup := ids[c.ID]; dup {
			fail(line, "id", "%q is already the id of line %d: ids must be unique", c.ID, first)
			continue
		}
		ids[c.ID] = line
		d.Cases = append(d.Cases, c)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("line %d is longer than %d MiB", line+1, maxDatasetLine>>20)
		}
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(d.Cases) == 0 {
		return nil, fmt.Errorf("%s: the dataset holds no case: write one JSON object per line with id, messages (or prompt) and expected", name)
	}
	return d, nil
}

// parseCaseLine decodes and checks one line; field names what is wrong.
func parseCaseLine(text []byte) (DatasetCase, string, error) {
	var c DatasetCase
	if text[0] != '{' {
		return c, "", errors.New("not a JSON object: write one case per line as {\"id\": ..., ...}")
	}
	if !utf8.Valid(text) {
		return c, "", errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var me *matcherError
		if errors.As(err, &me) {
			return c, me.field, me.err
		}
		field := jsonErrorField(err)
		if strings.Contains(err.Error(), "unknown field") {
			return c, field, errors.New("unknown field: a case has id, task_type, messages, prompt, max_tokens and expected")
		}
		return c, field, errors.New(jsonErrorText(err))
	}
	if dec.More() {
		return c, "", errors.New("more than one JSON value on the line: one case per line")
	}
	switch {
	case strings.TrimSpace(c.ID) == "":
		return c, "id", errors.New("missing: every case needs a unique id")
	case len(c.ID) > maxIDLength:
		return c, "id", fmt.Errorf("%d bytes: use at most %d", len(c.ID), maxIDLength)
	case strings.ContainsAny(c.ID, "\n\r\t"):
		return c, "id", errors.New("holds a tab or line break")
	}
	c.TaskType = strings.TrimSpace(c.TaskType)
	if c.TaskType == "" {
		c.TaskType = DefaultTaskType
	}
	if field, err := checkChat(c); err != nil {
		return c, field, err
	}
	if c.MaxTokens < 0 || c.MaxTokens > MaxCaseTokens {
		return c, "max_tokens", fmt.Errorf("%d: use 1 to %d, or leave it out for the target's", c.MaxTokens, MaxCaseTokens)
	}
	if c.Expected != nil && len(c.Expected) == 0 {
		return c, "expected", errors.New("an empty list: give at least one matcher, or leave expected out for an open-ended prompt")
	}
	for i, m := range c.Expected {
		if err := m.Check(); err != nil {
			field := "expected"
			if len(c.Expected) > 1 {
				field = fmt.Sprintf("expected[%d]", i)
			}
			return c, field, err
		}
	}
	return c, "", nil
}

// checkChat checks messages or prompt.
func checkChat(c DatasetCase) (string, error) {
	switch {
	case len(c.Messages) > 0 && c.Prompt != "":
		return "prompt", errors.New("give messages or prompt, not both")
	case len(c.Messages) == 0 && strings.TrimSpace(c.Prompt) == "":
		return "messages", errors.New("missing: give messages (a list of {role, content}) or prompt (a string)")
	}
	for i, m := range c.Messages {
		field := fmt.Sprintf("messages[%d]", i)
		switch m.Role {
		case "system", "user", "assistant":
		case "":
			return field + ".role", errors.New("missing: use system, user or assistant")
		default:
			return field + ".role", fmt.Errorf("%q: use system, user or assistant", m.Role)
		}
		if strings.TrimSpace(m.Content) == "" {
			return field + ".content", errors.New("empty")
		}
		if m.Role == "system" && i > 0 {
			return field + ".role", errors.New("a system message comes first")
		}
	}
	if n := len(c.Messages); n > 0 && c.Messages[n-1].Role != "user" {
		return fmt.Sprintf("messages[%d].role", n-1), fmt.Errorf("%q: the last message is the user's, which the model answers", c.Messages[n-1].Role)
	}
	return "", nil
}

// jsonErrorField names the field a decoding error is about, if known.
func jsonErrorField(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return te.Field
	}
	msg := err.Error()
	if i := strings.Index(msg, "unknown field "); i >= 0 {
		return strings.Trim(msg[i+len("unknown field "):], `"`)
	}
	return ""
}

// jsonErrorText says what is wrong in words a dataset's author can act on.
func jsonErrorText(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return fmt.Sprintf("a JSON %s where %s belongs", te.Value, goTypeWords(te.Type.String()))
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se)
	case strings.Contains(err.Error(), "unknown field"):
		return "unknown field"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "invalid JSON: the line ends before the object closes"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func goTypeWords(t string) string {
	switch {
	case t == "string":
		return "a string"
	case t == "int" || t == "float64" || strings.HasPrefix(t, "*float"):
		return "a number"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case t == "corpus.Message" || strings.HasPrefix(t, "map"):
		return "an object"
	}
	return t
}

// Build turns the dataset into Cases for the load engine, in file order,
// counting each prompt's tokens in encoding ("" means cl100k_base). Task
// is TaskDataset; PromptTokens is the prompt's client token count (system
// and user contents, as the needle cases count them) and Length the
// longest prompt's, the same for every case of the dataset, so that its
// cases form one length in reports and searches; Expected
// the values of the equals and contains matchers (for the needle-era
// consumers of a Case; the matchers decide). A dataset prompt has no
// cache-busting preamble (SharedPrefix is true): repeats send it as written.
func (d *Dataset) Build(encoding string) ([]Case, error) {
	if encoding == "" {
		encoding = DefaultEncoding
	}
	tok, err := GetTokenizer(encoding)
	if err != nil {
		return nil, err
	}
	out := make([]Case, 0, len(d.Cases))
	longest := 0
	for _, dc := range d.Cases {
		msgs := dc.Chat()
		n := 0
		for _, m := range msgs {
			n += tok.Count(m.Content)
		}
		longest = max(longest, n)
		out = append(out, Case{
			Schema:       CaseSchema,
			ID:           dc.ID,
			Task:         TaskDataset,
			PromptTokens: n,
			Encoding:     encoding,
			Expected:     matcherValues(dc.Expected),
			Messages:     slices.Clone(msgs),
			Haystack:     "dataset:" + d.Path,
			SharedPrefix: true,
			TaskType:     dc.TaskType,
			Matchers:     slices.Clone(dc.Expected),
			MaxTokens:    dc.MaxTokens,
		})
	}
	for i := range out {
		out[i].Length = longest
	}
	return out, nil
}

// matcherValues are the literal values of equals, contains, one_of (its
// label) and number matchers: what a perfect answer holds.
func matcherValues(ms []Matcher) []string {
	var out []string
	for _, m := range ms {
		switch m.Kind() {
		case MatchEquals:
			out = append(out, *m.Equals)
		case MatchContains:
			if m.Match == ContainsAny {
				out = append(out, m.Contains[0])
			} else {
				out = append(out, m.Contains...)
			}
		case MatchOneOf:
			out = append(out, m.Label)
		case MatchNumber:
			out = append(out, strconv.FormatFloat(*m.Number, 'f', -1, 64))
		}
	}
	return out
}
