package campaign

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/internal/suggest"
	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
	"github.com/needlestorm/needlestorm/sim"
)

// Duration is a length of time written as "10s", "2m" or "1h30m" (0 alone
// needs no unit).
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML reads a duration, naming its place when it is not one.
func (d *Duration) UnmarshalYAML(node ast.Node) error {
	v, err := durationAt(node)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// durationAt reads the duration a node holds, or says at its place why it
// holds none.
func durationAt(node ast.Node) (time.Duration, *Error) {
	text, scalar := scalarText(node)
	if !scalar {
		return 0, nodeError(node, "expected a duration such as 10s, 2m or 1h30m, got %s", describeNode(node))
	}
	v, msg := parseDuration(text)
	if msg != "" {
		return 0, nodeError(node, "%s", msg)
	}
	return v, nil
}

// parseDuration reads "10s", "2m" or "1h30m" (0 alone needs no unit), or
// says why text is not one.
func parseDuration(text string) (time.Duration, string) {
	if n, err := strconv.ParseFloat(text, 64); err == nil {
		if n == 0 {
			return 0, ""
		}
		return 0, fmt.Sprintf("%s has no unit: write a duration such as %ss or %sm", text, text, text)
	}
	v, err := time.ParseDuration(text)
	if err != nil {
		return 0, fmt.Sprintf("%q is not a duration: write it like 10s, 2m or 1h30m (units ns, us, ms, s, m, h)", text)
	}
	if v < 0 {
		return 0, fmt.Sprintf("%s is negative: a duration must be 0 or more", text)
	}
	return v, ""
}

// engineDurations are the duration types of the engine's own types a
// campaign decodes into (loadgen's run.Seconds, endpoint's time.Duration).
// They know no YAML: the decoder reads them with durationDecoders, and
// checkDurations reports a bad one at its place before decoding (the
// decoder's custom readers get bytes, not places).
var engineDurations = map[reflect.Type]bool{reflect.TypeFor[run.Seconds](): true, reflect.TypeFor[time.Duration](): true}

// durationDecoders read the engine's durations as campaign files write
// them (see parseDuration).
func durationDecoders() []yaml.DecodeOption {
	read := func(b []byte) (time.Duration, error) {
		var text string
		if err := yaml.Unmarshal(b, &text); err != nil {
			return 0, err
		}
		v, msg := parseDuration(strings.TrimSpace(text))
		if msg != "" {
			return 0, errors.New(msg)
		}
		return v, nil
	}
	return []yaml.DecodeOption{
		yaml.CustomUnmarshaler(func(d *run.Seconds, b []byte) error {
			v, err := read(b)
			*d = run.Seconds(v)
			return err
		}),
		yaml.CustomUnmarshaler(func(d *time.Duration, b []byte) error {
			v, err := read(b)
			*d = v
			return err
		}),
	}
}

// checkDurations reports the first value in the file that should be one
// of the engine's durations and is not, at its place.
func checkDurations(tree *ast.File) *Error {
	var found *Error
	for _, d := range tree.Docs {
		ast.Walk(visitFunc(func(n ast.Node) bool {
			mv, ok := n.(*ast.MappingValueNode)
			if found != nil || !ok || mv.Value == nil {
				return found == nil
			}
			if t := typeAt(mv.Value.GetPath()); t != nil && engineDurations[t] && mv.Value.Type() != ast.NullType {
				if _, err := durationAt(mv.Value); err != nil {
					found = err
				}
			}
			return true
		}), d)
	}
	return found
}

// Length is a prompt length in client tokens, written 8000, "8k", "1.5k" or
// "1m".
type Length int

// UnmarshalYAML reads a length, naming its place when it is not one.
func (l *Length) UnmarshalYAML(node ast.Node) error {
	text, scalar := scalarText(node)
	if !scalar {
		return nodeError(node, "expected a length such as 8000, 8k or 1m, got %s", describeNode(node))
	}
	if strings.Contains(text, ",") {
		return nodeError(node, "%q holds several lengths: write one per list item, such as [1k, 8k, 32k]", text)
	}
	n, err := corpus.ParseLengths(text)
	if err != nil || len(n) != 1 {
		return nodeError(node, "%q is not a length: write tokens as 8000, 8k (8,000), 1.5k or 1m (1,000,000), at most %s",
			text, corpus.FormatLength(corpus.MaxLength))
	}
	*l = Length(n[0])
	return nil
}

// SLO holds the latency and error-rate objectives, written as a mapping of
// objective names to bounds: {ttft_p95: 2s, e2e_p99: 30s, error_rate: 0.01}.
// Any <metric>_p<NN> works for metric ttft, tpot, e2e or chunk_gap and
// percentile 50, 90, 95 or 99. Parsing is reports.ParseSLO's. A bound may
// also be a mapping {max: 30s, gate: false}: gate: false makes the
// objective report only (shown, never failing the run; Objectives.Ungated).
type SLO struct {
	reports.Objectives
}

// UnmarshalYAML reads the objectives in order, naming the place of a bad one.
func (s *SLO) UnmarshalYAML(node ast.Node) error {
	entries, ok := mappingEntries(node)
	if !ok {
		return nodeError(node, "expected a mapping of objectives such as {ttft_p95: 2s, error_rate: 0.01}, got %s", describeNode(node))
	}
	var out reports.Objectives
	for _, e := range entries {
		key := keyText(e.Key)
		valNode, gate, err := sloBound(e.Value)
		if err != nil {
			return err
		}
		val, scalar := scalarText(valNode)
		if !scalar || val == "" {
			return nodeError(valNode, "expected a bound such as 2s (latency) or 0.01 (error_rate), or {max: 2s, gate: false}, got %s", describeNode(valNode))
		}
		o, err := reports.ParseSLO(key + "=" + val)
		if err != nil {
			// Blame the key when the name alone is wrong, the value otherwise.
			at := valNode
			if _, kerr := reports.ParseSLO(key + "=1s"); kerr != nil && strings.ToLower(key) != "error_rate" {
				at = e.Key
			}
			return nodeError(at, "%s", err.Error())
		}
		out.Latency = append(out.Latency, o.Latency...)
		if o.SendLag > 0 {
			out.SendLag = o.SendLag
			continue // the client's bound, no objective of the server's to gate
		}
		name := "error_rate"
		if o.ErrorRate != nil {
			out.ErrorRate = o.ErrorRate
		} else if len(o.Latency) > 0 {
			name = o.Latency[0].Name()
		}
		if !gate && !slices.Contains(out.Ungated, name) {
			out.Ungated = append(out.Ungated, name)
		}
	}
	s.Latency, s.ErrorRate, s.SendLag, s.Ungated = out.Latency, out.ErrorRate, out.SendLag, out.Ungated
	return nil
}

// sloBound reads one objective's value: a bound (gating), or a mapping
// {max: BOUND, gate: BOOL}, returning the bound's node.
func sloBound(node ast.Node) (ast.Node, bool, error) {
	entries, ok := mappingEntries(node)
	if !ok {
		return node, true, nil
	}
	var bound ast.Node
	gate := true
	for _, e := range entries {
		switch k := keyText(e.Key); k {
		case "max":
			bound = e.Value
		case "gate":
			g, err := gateValue(e.Value)
			if err != nil {
				return nil, false, err
			}
			gate = g
		default:
			return nil, false, nodeError(e.Key, "unknown field %q of an objective: write {max: 2s, gate: false} (max the bound, gate false for report only)", k)
		}
	}
	if bound == nil {
		return nil, false, nodeError(node, "the objective has no max: write {max: 2s, gate: false}")
	}
	return bound, gate, nil
}

// gateValue reads a gate: true or false.
func gateValue(node ast.Node) (bool, error) {
	if b, ok := node.(*ast.BoolNode); ok {
		return b.Value, nil
	}
	return false, nodeError(node, "gate: expected true (the objective decides the exit status) or false (report only), got %s", describeNode(node))
}

// SimOverrides are fields of a simulator profile (sim.Config) set by their
// JSON names, such as {context_window: 4096, overflow: truncate_left}.
type SimOverrides struct {
	entries []simEntry
}

type simEntry struct {
	key      string
	value    any
	keyNode  ast.Node
	valueNod ast.Node
}

// Keys are the overridden field names, in file order.
func (s SimOverrides) Keys() []string {
	out := make([]string, len(s.entries))
	for i, e := range s.entries {
		out[i] = e.key
	}
	return out
}

// UnmarshalYAML keeps the overrides and their places; they are checked
// against the profile when the campaign is validated.
func (s *SimOverrides) UnmarshalYAML(node ast.Node) error {
	entries, ok := mappingEntries(node)
	if !ok {
		return nodeError(node, "expected a mapping of simulator settings such as {context_window: 4096, overflow: truncate_left}, got %s", describeNode(node))
	}
	s.entries = nil
	for _, e := range entries {
		var v any
		if err := yaml.NodeToValue(e.Value, &v); err != nil {
			return nodeError(e.Value, "cannot read this value: %s", firstLine(err.Error()))
		}
		s.entries = append(s.entries, simEntry{key: keyText(e.Key), value: v, keyNode: e.Key, valueNod: e.Value})
	}
	return nil
}

// simFields maps sim.Config's JSON names to their Go types.
func simFields() (names []string, types map[string]reflect.Type) {
	t := reflect.TypeFor[sim.Config]()
	types = map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		names = append(names, name)
		types[name] = f.Type
	}
	return names, types
}

// apply sets the overrides on cfg; the error names the bad entry's place.
func (s SimOverrides) apply(cfg *sim.Config) error {
	names, types := simFields()
	for _, e := range s.entries {
		typ, ok := types[e.key]
		if !ok {
			msg := fmt.Sprintf("%q is not a simulator setting", e.key)
			if c := suggest.Closest(e.key, names); c != "" {
				msg += fmt.Sprintf("; did you mean %s?", c)
			} else {
				msg += "; see needlestorm sim --help for the settings"
			}
			return nodeError(e.keyNode, "%s", msg)
		}
		b, err := json.Marshal(map[string]any{e.key: e.value})
		if err == nil {
			err = json.Unmarshal(b, cfg)
		}
		if err != nil {
			return nodeError(e.valueNod, "expected %s, got %s", describeType(typ), describeNode(e.valueNod))
		}
	}
	return nil
}

// nodeError makes a positioned error at node.
func nodeError(node ast.Node, format string, args ...any) *Error {
	line, col := nodePos(node)
	return &Error{Line: line, Column: col, Field: fieldOf(node.GetPath()), Msg: fmt.Sprintf(format, args...)}
}

// nodePos is where a node starts: a mapping at its first key.
func nodePos(node ast.Node) (line, col int) {
	switch n := node.(type) {
	case nil:
		return 0, 0
	case *ast.MappingNode:
		if len(n.Values) > 0 && !n.IsFlowStyle {
			return nodePos(n.Values[0])
		}
	case *ast.MappingValueNode:
		return nodePos(n.Key)
	case *ast.DocumentNode:
		return nodePos(n.Body)
	}
	tk := node.GetToken()
	if tk == nil || tk.Position == nil {
		return 0, 0
	}
	return tk.Position.Line, tk.Position.Column
}

// fieldOf turns a YAML path ("$.targets[1].kind") into a field name
// ("targets[1].kind").
func fieldOf(path string) string {
	path = strings.TrimPrefix(path, "$")
	return strings.TrimPrefix(path, ".")
}

// mappingEntries returns a mapping node's entries (a one-entry block
// mapping parses as a lone MappingValueNode).
func mappingEntries(node ast.Node) ([]*ast.MappingValueNode, bool) {
	switch n := node.(type) {
	case *ast.MappingNode:
		return n.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{n}, true
	}
	return nil, false
}

// keyText is a mapping key's text without quotes.
func keyText(k ast.Node) string {
	if tk := k.GetToken(); tk != nil {
		return tk.Value
	}
	return k.String()
}

// scalarText is a scalar node's text without quotes; false for mappings,
// lists and the like.
func scalarText(node ast.Node) (string, bool) {
	switch node.(type) {
	case *ast.StringNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode, *ast.LiteralNode:
		if tk := node.GetToken(); tk != nil {
			return strings.TrimSpace(tk.Value), true
		}
	case *ast.TagNode:
		return scalarText(node.(*ast.TagNode).Value)
	}
	return "", false
}

// describeNode says what a node is, for "got ..." in messages.
func describeNode(node ast.Node) string {
	switch node.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.NullNode, nil:
		return "nothing"
	case *ast.BoolNode:
		return node.GetToken().Value
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return node.GetToken().Value
	}
	if s, ok := scalarText(node); ok {
		return strconv.Quote(s)
	}
	return "a " + strings.ToLower(node.Type().String())
}

// describeType says what a Go type holds, for "expected ..." in messages.
func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[Duration](), reflect.TypeFor[time.Duration](), reflect.TypeFor[run.Seconds]():
		return "a duration such as 10s or 2m"
	case reflect.TypeFor[Length]():
		return "a length such as 8000, 8k or 1m"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "text"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// finite reports whether f is neither NaN nor infinite.
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
