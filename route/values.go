package route

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/needlestorm/needlestorm/corpus"
)

// The scalar types of a routing file. Each reads itself from its YAML node
// (goccy/go-yaml's NodeUnmarshaler), so that a bad value is reported at its
// own line and column, with what to write instead.

// Tokens is a number of tokens, written 2000, 2k or 1.5m.
type Tokens int

// Seconds is a duration in seconds, written 2s, 500ms or 1.5 (seconds).
type Seconds float64

// Rate is requests per second, written 4 or 4/s.
type Rate float64

// Fraction is a share between 0 and 1, written 0.9 or 90%.
type Fraction float64

// Money is an amount in the currency of the targets' prices, such as 0.002.
type Money float64

// UnmarshalYAML reads a token count.
func (t *Tokens) UnmarshalYAML(node ast.Node) error {
	s, err := scalar(node, "a number of tokens such as 2000 or 32k")
	if err != nil {
		return err
	}
	ls, perr := corpus.ParseLengths(s)
	if perr != nil || len(ls) != 1 || ls[0] <= 0 {
		return nodeError(node, "%q is not a number of tokens: write 2000, 32k (32,000) or 1m", s)
	}
	*t = Tokens(ls[0])
	return nil
}

// UnmarshalYAML reads a duration.
func (d *Seconds) UnmarshalYAML(node ast.Node) error {
	s, err := scalar(node, "a duration such as 2s or 500ms")
	if err != nil {
		return err
	}
	v, perr := strconv.ParseFloat(s, 64)
	if perr != nil {
		dur, derr := time.ParseDuration(s)
		if derr != nil {
			return nodeError(node, "%q is not a duration: write 2s, 500ms or 1.5 (seconds)", s)
		}
		v = dur.Seconds()
	}
	if !finite(v) || v <= 0 {
		return nodeError(node, "%q: a latency objective must be above zero, such as 2s", s)
	}
	*d = Seconds(v)
	return nil
}

// UnmarshalYAML reads a rate.
func (r *Rate) UnmarshalYAML(node ast.Node) error {
	s, err := scalar(node, "requests per second such as 4 or 4/s")
	if err != nil {
		return err
	}
	v, perr := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "/s")), 64)
	if perr != nil || !finite(v) || v <= 0 {
		return nodeError(node, "%q is not a rate: write requests per second above zero, such as 4 or 0.5/s", s)
	}
	*r = Rate(v)
	return nil
}

// UnmarshalYAML reads a fraction.
func (f *Fraction) UnmarshalYAML(node ast.Node) error {
	s, err := scalar(node, "a fraction such as 0.9 or 90%")
	if err != nil {
		return err
	}
	num, scale := s, 1.0
	if strings.HasSuffix(s, "%") {
		num, scale = strings.TrimSpace(strings.TrimSuffix(s, "%")), 100
	}
	v, perr := strconv.ParseFloat(num, 64)
	v /= scale
	if perr != nil || !finite(v) || v <= 0 || v > 1 {
		return nodeError(node, "%q: give a fraction above 0 and at most 1, such as 0.9 (or 90%%)", s)
	}
	*f = Fraction(v)
	return nil
}

// UnmarshalYAML reads an amount.
func (m *Money) UnmarshalYAML(node ast.Node) error {
	s, err := scalar(node, "an amount such as 0.002")
	if err != nil {
		return err
	}
	v, perr := strconv.ParseFloat(strings.TrimPrefix(s, "$"), 64)
	if perr != nil || !finite(v) || v <= 0 {
		return nodeError(node, "%q is not an amount: write a number above zero in the prices' currency, such as 0.002", s)
	}
	*m = Money(v)
	return nil
}

// scalar returns the text of a scalar node, or an error saying what was
// expected.
func scalar(node ast.Node, want string) (string, error) {
	switch n := node.(type) {
	case *ast.IntegerNode, *ast.FloatNode, *ast.StringNode, *ast.LiteralNode:
		return strings.TrimSpace(n.GetToken().Value), nil
	case *ast.NullNode:
		return "", nodeError(node, "no value: give %s", want)
	}
	return "", nodeError(node, "expected %s, got %s", want, describe(node))
}

// describe names a node's kind for errors.
func describe(node ast.Node) string {
	switch node.Type() {
	case ast.MappingType, ast.MappingValueType:
		return "a mapping"
	case ast.SequenceType:
		return "a list"
	case ast.BoolType:
		return "true/false"
	}
	return strings.ToLower(node.Type().String())
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// String writes a token count as corpus.FormatLength does (32k).
func (t Tokens) String() string { return corpus.FormatLength(int(t)) }

// String writes the duration in Go's form (1.5s, 500ms).
func (d Seconds) String() string {
	return time.Duration(float64(d) * float64(time.Second)).String()
}

// String writes a rate as 4/s.
func (r Rate) String() string { return strconv.FormatFloat(float64(r), 'g', 4, 64) + "/s" }

// nodeError is an *Error at node's position.
func nodeError(node ast.Node, format string, args ...any) *Error {
	e := &Error{Msg: fmt.Sprintf(format, args...)}
	if tk := node.GetToken(); tk != nil && tk.Position != nil {
		e.Line, e.Column = tk.Position.Line, tk.Position.Column
	}
	return e
}
