package campaign

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one mistake in a campaign file, with where it is:
//
//	campaign.yaml:12:5: targets[1].kind: "opanai" is not a target kind; use openai, anthropic or sim
//
// Line and Column are 1-based; they are 0 when the mistake has no place in
// the file (a flag override, say). Field is the dotted path of the field,
// such as "targets[1].kind", or empty for the file as a whole.
type Error struct {
	File   string
	Line   int
	Column int
	Field  string
	Msg    string
	// excerpt is the source line and a caret under the column; empty when
	// the line may hold a secret.
	excerpt string
}

// Error writes the mistake on one line: file:line:column: field: message.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Excerpt is the line of the file the mistake is on, with a caret under its
// column, ready to print under Error(); empty when there is none or when the
// line may hold a secret (an API key written into the file).
func (e *Error) Excerpt() string { return e.excerpt }

// Errors are every mistake found in one file, in the order they appear.
type Errors []*Error

// Error writes one mistake per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Detail writes every mistake followed by its excerpt, for a terminal.
func Detail(err error) string {
	var list Errors
	switch e := err.(type) {
	case Errors:
		list = e
	case *Error:
		list = Errors{e}
	default:
		return err.Error()
	}
	var b strings.Builder
	for _, e := range list {
		b.WriteString(e.Error())
		b.WriteByte('\n')
		if x := e.Excerpt(); x != "" {
			b.WriteString(x)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// sortErrors orders errors by position (those without one last, in the
// order found).
func sortErrors(es Errors) {
	slices.SortStableFunc(es, func(a, b *Error) int {
		if (a.Line == 0) != (b.Line == 0) {
			if a.Line == 0 {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

// excerpt renders source line `line` with a caret under column `col`.
func excerpt(src []byte, line, col int) string {
	if line < 1 {
		return ""
	}
	lines := strings.Split(string(src), "\n")
	if line > len(lines) {
		return ""
	}
	text := strings.TrimRight(lines[line-1], "\r")
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	num := fmt.Sprintf("%5d | ", line)
	pad := strings.Repeat(" ", len(num)-2) + "| "
	// Keep tabs as tabs under the caret so it lines up.
	var under strings.Builder
	for i, r := range text {
		if i >= col-1 {
			break
		}
		if r == '\t' {
			under.WriteByte('\t')
		} else {
			under.WriteByte(' ')
		}
	}
	return num + text + "\n" + pad + under.String() + "^\n"
}

// orList writes "a, b or c".
func orList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
