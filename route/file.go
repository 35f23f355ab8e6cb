package route

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/needlestorm/needlestorm/internal/termsafe"
)

// maxFileSize bounds a routing file; a real one is a few kilobytes.
const maxFileSize = 1 << 20

// File is a routing file: the jobs to route, and the tier of each measured
// target. See examples/routing/routing.yaml.
type File struct {
	// Targets gives measured targets, by name, their tier.
	Targets map[string]TargetInfo `yaml:"targets" json:"targets,omitempty"`
	// Jobs are routed in the order given.
	Jobs []Job `yaml:"jobs" json:"jobs"`
	// Path is the file it was read from, for messages.
	Path string `yaml:"-" json:"file,omitempty"`
}

// TargetInfo is what a routing file says about one measured target.
type TargetInfo struct {
	// Tier is the target's size class; a job of a tier is served only by
	// targets of that tier or larger.
	Tier Tier `yaml:"tier" json:"tier"`
}

// Error is a mistake in a routing file, at a line and column (0 when the
// mistake has no one place).
type Error struct {
	File   string
	Line   int
	Column int
	Msg    string
}

// Error writes "file:line:col: message".
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File + ":")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:%d:", e.Line, e.Column)
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors are every mistake found in one file, in file order.
type Errors []*Error

// Error writes one mistake per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Load reads and checks the routing file at path.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the routing file: %w", err)
	}
	return Parse(path, data)
}

// Parse reads and checks a routing file's contents; name names it in
// errors. Every error is an *Error or Errors with its line and column.
func Parse(name string, data []byte) (*File, error) {
	fail := func(e *Error) (*File, error) {
		e.File = name
		return nil, e
	}
	if len(data) > maxFileSize {
		return fail(&Error{Msg: fmt.Sprintf("the file is %d bytes; a routing file is at most %d", len(data), maxFileSize)})
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return fail(&Error{Line: 1, Column: 1, Msg: "the file is empty: a routing file needs jobs (see examples/routing/routing.yaml)"})
	}
	tree, err := parseYAML(data)
	if err != nil {
		return fail(yamlError(err, "not valid YAML"))
	}
	var body ast.Node
	for _, d := range tree.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		if _, comment := d.Body.(*ast.CommentNode); comment {
			continue
		}
		if body != nil {
			return fail(nodeError(d.Body, "a routing file holds one document: remove the second (after ---)"))
		}
		body = d.Body
	}
	if body == nil {
		return fail(&Error{Line: 1, Column: 1, Msg: "the file holds only comments: a routing file needs jobs (see examples/routing/routing.yaml)"})
	}
	if body.Type() != ast.MappingType && body.Type() != ast.MappingValueType {
		return fail(nodeError(body, "expected a mapping with jobs (and targets), got %s", describe(body)))
	}
	f := &File{Path: name}
	if err := decodeNode(body, f); err != nil {
		var own *Error
		if errors.As(err, &own) {
			return fail(own)
		}
		return fail(yamlError(err, "in the routing file"))
	}
	if errs := f.check(tree); len(errs) > 0 {
		for _, e := range errs {
			e.File = name
		}
		return nil, errs
	}
	return f, nil
}

// parseYAML parses data, turning a parser panic into an error: a routing
// file is outside input and must never crash the program.
func parseYAML(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("the YAML parser failed on this file: %v", r)
		}
	}()
	return parser.ParseBytes(data, 0)
}

func decodeNode(body ast.Node, f *File) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML decoder failed on this file: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(nil), yaml.DisallowUnknownField())
	return dec.DecodeFromNode(body, f)
}

// yamlError turns a goccy/go-yaml error into an *Error at its token.
func yamlError(err error, prefix string) *Error {
	var ye yaml.Error
	if !errors.As(err, &ye) || ye.GetToken() == nil || ye.GetToken().Position == nil {
		msg, _, _ := strings.Cut(err.Error(), "\n")
		return &Error{Msg: prefix + ": " + msg}
	}
	tk := ye.GetToken()
	msg := ye.GetMessage()
	var unknown *yaml.UnknownFieldError
	if errors.As(err, &unknown) {
		msg += ": the fields are targets and jobs; a job has name, tier or task, task_type, context, accuracy, ttft_p95, e2e_p95, rate, budget (per_request, per_month), prefer and fallbacks; a target has tier"
	}
	if strings.Contains(msg, "\t") || strings.HasPrefix(tk.Origin, "\t") {
		msg = "a tab in the indentation: YAML indents with spaces only (" + msg + ")"
	}
	return &Error{Line: tk.Position.Line, Column: tk.Position.Column, Msg: prefix + ": " + msg}
}

// check finds every semantic mistake, each at its place in tree.
func (f *File) check(tree *ast.File) Errors {
	at := func(path string) (int, int) {
		p, err := yaml.PathString(path)
		if err != nil {
			return 0, 0
		}
		n, err := p.FilterFile(tree)
		if err != nil || n == nil {
			return 0, 0
		}
		// A mapping is where its first key is, not its first colon.
		switch m := n.(type) {
		case *ast.MappingNode:
			if len(m.Values) > 0 {
				n = m.Values[0].Key
			}
		case *ast.MappingValueNode:
			n = m.Key
		}
		if n.GetToken() == nil || n.GetToken().Position == nil {
			return 0, 0
		}
		return n.GetToken().Position.Line, n.GetToken().Position.Column
	}
	var errs Errors
	add := func(path, format string, args ...any) {
		line, col := at(path)
		for line == 0 && strings.Contains(path, ".") { // fall back to the enclosing node
			path = path[:strings.LastIndex(path, ".")]
			line, col = at(path)
		}
		errs = append(errs, &Error{Line: line, Column: col, Msg: fmt.Sprintf(format, args...)})
	}
	if len(f.Jobs) == 0 {
		add("$.jobs", "no jobs: list at least one under jobs, each with a name and the context it needs")
	}
	names := make([]string, 0, len(f.Targets))
	for name := range f.Targets {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if f.Targets[name].Tier == "" {
			add("$.targets."+name, "target %s: give its tier (small, medium or large)", name)
		}
	}
	seen := map[string]int{}
	for i, j := range f.Jobs {
		p := fmt.Sprintf("$.jobs[%d]", i)
		switch {
		case j.Name == "":
			add(p, "job %d has no name: give each job a name (it becomes the model group applications ask for)", i+1)
		case !validName(j.Name):
			add(p+".name", "job name %q: use letters, digits, '.', '_' and '-' only (at most 64), as it becomes a LiteLLM model_name", j.Name)
		default:
			if k, dup := seen[j.Name]; dup {
				add(p+".name", "job name %q is also job %d's: give each job its own name", j.Name, k+1)
			}
			seen[j.Name] = i
		}
		if j.Context <= 0 {
			add(p, "job %s: give the context it needs in tokens, such as context: 8k", j.label(i))
		}
		if j.Tier != "" && j.Task != "" {
			if tt, _ := TaskTier(j.Task); tt != j.Tier {
				add(p+".task", "job %s: task %s is a %s job but tier says %s; give one of them", j.label(i), j.Task, tt, j.Tier)
			}
		}
		if j.TaskType != "" && (strings.TrimSpace(j.TaskType) != j.TaskType || termsafe.Line(j.TaskType) != j.TaskType) {
			add(p+".task_type", "job %s: task_type %q: write the task type as your dataset's cases give it, without surrounding spaces or control characters", j.label(i), j.TaskType)
		}
		if j.Budget.PerMonth > 0 && j.Rate <= 0 {
			add(p+".budget.per_month", "job %s: a budget per month needs the rate the job runs at (rate: requests per second)", j.label(i))
		}
		if n := j.Fallbacks; n != nil && (*n < 0 || *n > MaxFallbacks) {
			add(p+".fallbacks", "job %s: fallbacks %d: keep between 0 and %d", j.label(i), *n, MaxFallbacks)
		}
	}
	slices.SortStableFunc(errs, func(a, b *Error) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	return errs
}

// label names a job in messages: its name, else its place.
func (j Job) label(i int) string {
	if j.Name != "" {
		return j.Name
	}
	return fmt.Sprintf("%d", i+1)
}
