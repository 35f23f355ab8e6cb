package campaign

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/needlestorm/needlestorm/internal/suggest"
)

// maxFileSize bounds a campaign file; a real one is a few kilobytes.
const maxFileSize = 1 << 20

// Load reads, parses and validates the campaign file at path.
func Load(path string) (*Campaign, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the campaign file: %w", err)
	}
	return Parse(path, data)
}

// Parse parses and validates a campaign file's contents. filename names the
// file in error messages, and its folder is the base of a relative dir:
// haystack. Every error is an *Error or Errors, naming the file, line and
// column.
func Parse(filename string, data []byte) (*Campaign, error) {
	c, err := decode(filename, data)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// decode parses the YAML and decodes it into a Campaign, without the
// semantic checks.
func decode(filename string, data []byte) (*Campaign, error) {
	c := &Campaign{File: filename, BaseDir: filepath.Dir(filename), src: data}
	fail := func(e *Error) (*Campaign, error) {
		e.File = filename
		if e.excerpt == "" && !secretLike(e) {
			e.excerpt = excerpt(data, e.Line, e.Column)
		}
		return nil, e
	}
	if len(data) > maxFileSize {
		return fail(&Error{Msg: fmt.Sprintf("the file is %d bytes; a campaign file is at most %d", len(data), maxFileSize)})
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return fail(&Error{Line: 1, Column: 1, Msg: "the file is empty: a campaign needs at least targets, corpus and load (see examples/campaigns/sim.yaml)"})
	}
	tree, err := parseYAML(data)
	if err != nil {
		return fail(syntaxError(err))
	}
	c.tree = tree
	var body ast.Node
	docs := 0
	for _, d := range tree.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		if _, isComment := d.Body.(*ast.CommentNode); isComment {
			continue
		}
		docs++
		if docs > 1 {
			return fail(nodeError(d.Body, "a campaign file holds one campaign: remove the second document (after ---)"))
		}
		body = d.Body
	}
	if body == nil {
		return fail(&Error{Line: 1, Column: 1, Msg: "the file holds no campaign, only comments: it needs at least targets, corpus and load (see examples/campaigns/sim.yaml)"})
	}
	if _, ok := mappingEntries(body); !ok {
		return fail(nodeError(body, "expected a mapping of campaign fields (name, targets, corpus, load, ...), got %s", describeNode(body)))
	}
	if e := checkDurations(tree); e != nil {
		return fail(e)
	}
	dec := yaml.NewDecoder(bytes.NewReader(nil), append(durationDecoders(), yaml.DisallowUnknownField())...)
	if err := decodeNode(dec, body, c); err != nil {
		return fail(decodeError(err, tree))
	}
	return c, nil
}

// parseYAML parses data, turning a panic in the parser into an error: a
// campaign file is outside input and must never crash the program.
func parseYAML(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("the YAML parser failed on this file: %v", r)
		}
	}()
	return parser.ParseBytes(data, 0)
}

func decodeNode(dec *yaml.Decoder, body ast.Node, c *Campaign) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML decoder failed on this file: %v", r)
		}
	}()
	return dec.DecodeFromNode(body, c)
}

// syntaxError turns a parser error into an *Error.
func syntaxError(err error) *Error {
	var ye yaml.Error
	if !errors.As(err, &ye) || ye.GetToken() == nil || ye.GetToken().Position == nil {
		return &Error{Msg: "not valid YAML: " + firstLine(err.Error())}
	}
	tk := ye.GetToken()
	msg := ye.GetMessage()
	switch {
	case strings.Contains(msg, "'\t'") || strings.Contains(msg, "\\t") || tk.Value == "\t" || strings.HasPrefix(tk.Origin, "\t"):
		msg = "a tab in the indentation: YAML indents with spaces only (" + msg + ")"
	default:
		msg = "not valid YAML: " + msg
	}
	return &Error{Line: tk.Position.Line, Column: tk.Position.Column, Msg: msg}
}

// decodeError turns a decoder error into an *Error naming the field and
// what was expected.
func decodeError(err error, tree *ast.File) *Error {
	var own *Error
	if errors.As(err, &own) {
		return own
	}
	var ye yaml.Error
	if !errors.As(err, &ye) || ye.GetToken() == nil || ye.GetToken().Position == nil {
		return &Error{Msg: firstLine(err.Error())}
	}
	tk := ye.GetToken()
	e := &Error{Line: tk.Position.Line, Column: tk.Position.Column}
	node := nodeByToken(tree, tk)
	var path string
	if node != nil {
		path = node.GetPath()
		e.Field = fieldOf(path)
	}
	var (
		unknown    *yaml.UnknownFieldError
		typeErr    *yaml.TypeError
		nodeType   *yaml.UnexpectedNodeTypeError
		overflow   *yaml.OverflowError
		duplicated *yaml.DuplicateKeyError
	)
	switch {
	case errors.As(err, &unknown):
		name := tk.Value
		if looksLikeSecretField(name) {
			e.Msg = fmt.Sprintf("%q: never write an API key into a campaign file; set api_key_env to the NAME of the environment variable that holds it (such as OPENAI_API_KEY)", name)
			e.excerpt = ""
			return e
		}
		known := knownFields(parentPath(path))
		e.Msg = fmt.Sprintf("unknown field %q", name)
		if c := suggest.Closest(name, known); c != "" {
			e.Msg += fmt.Sprintf("; did you mean %s?", c)
		} else if len(known) > 0 {
			e.Msg += "; known fields here are " + orList(known)
		}
	case errors.As(err, &typeErr):
		e.Msg = fmt.Sprintf("expected %s, got %s", describeType(typeErr.DstType), describeNodeOrToken(node, tk))
	case errors.As(err, &nodeType):
		e.Msg = fmt.Sprintf("expected %s, got %s", describeNodeType(nodeType.Expected), describeNodeOrToken(node, tk))
	case errors.As(err, &overflow):
		e.Msg = fmt.Sprintf("%s is out of range for %s", overflow.SrcNum, describeType(overflow.DstType))
		if strings.HasPrefix(overflow.SrcNum, "-") {
			e.Msg = fmt.Sprintf("%s is negative; expected %s of 0 or more", overflow.SrcNum, describeType(overflow.DstType))
		}
	case errors.As(err, &duplicated):
		e.Msg = ye.GetMessage()
	default:
		e.Msg = ye.GetMessage()
	}
	return e
}

func describeNodeOrToken(node ast.Node, tk *token.Token) string {
	if node != nil {
		return describeNode(node)
	}
	return strconv.Quote(tk.Value)
}

func describeNodeType(t ast.NodeType) string {
	switch t {
	case ast.MappingType, ast.MappingValueType:
		return "a mapping"
	case ast.SequenceType:
		return "a list"
	case ast.IntegerType:
		return "a whole number"
	case ast.FloatType:
		return "a number"
	case ast.StringType:
		return "text"
	case ast.BoolType:
		return "true or false"
	}
	return t.YAMLName()
}

// nodeByToken finds the node a token belongs to.
func nodeByToken(tree *ast.File, tk *token.Token) ast.Node {
	var found ast.Node
	for _, d := range tree.Docs {
		ast.Walk(visitFunc(func(n ast.Node) bool {
			if found != nil {
				return false
			}
			if n.GetToken() == tk {
				if _, isMV := n.(*ast.MappingValueNode); !isMV {
					found = n
					return false
				}
			}
			return true
		}), d)
	}
	if found != nil {
		return found
	}
	// Fall back to the position.
	for _, d := range tree.Docs {
		ast.Walk(visitFunc(func(n ast.Node) bool {
			if found != nil {
				return false
			}
			if t := n.GetToken(); t != nil && t.Position != nil && tk.Position != nil &&
				t.Position.Line == tk.Position.Line && t.Position.Column == tk.Position.Column {
				if _, isMV := n.(*ast.MappingValueNode); !isMV {
					found = n
					return false
				}
			}
			return true
		}), d)
	}
	return found
}

type visitFunc func(ast.Node) bool

func (f visitFunc) Visit(n ast.Node) ast.Visitor {
	if n == nil || !f(n) {
		return nil
	}
	return f
}

// parentPath drops the last element of a YAML path.
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i <= 0 {
		return "$"
	}
	return path[:i]
}

var pathElem = regexp.MustCompile(`\.('[^']*'|"[^"]*"|[^.\[]+)|\[(\d+)\]`)

// typeAt returns the Go type a YAML path of a campaign file decodes into,
// or nil when the path leaves the campaign's structs.
func typeAt(path string) reflect.Type {
	t := reflect.TypeFor[Campaign]()
	rest := strings.TrimPrefix(path, "$")
	for _, m := range pathElem.FindAllStringSubmatch(rest, -1) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if m[2] != "" {
			if t.Kind() != reflect.Slice {
				return nil
			}
			t = t.Elem()
			continue
		}
		name := strings.Trim(m[1], `'"`)
		switch t.Kind() {
		case reflect.Map:
			t = t.Elem()
		case reflect.Struct:
			f, ok := fieldByYAML(t, name)
			if !ok {
				return nil
			}
			t = f
		default:
			return nil
		}
	}
	return t
}

// knownFields lists the YAML field names of the struct at path (those of
// an inline struct in its place).
func knownFields(path string) []string {
	t := typeAt(path)
	if t == nil {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeFor[SLO]() || t == reflect.TypeFor[SimOverrides]() {
		return nil
	}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if inline(f) {
			names = append(names, knownFieldsOf(f.Type)...)
		} else if n := yamlName(f); n != "" {
			names = append(names, n)
		}
	}
	return names
}

func knownFieldsOf(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if n := yamlName(t.Field(i)); n != "" {
			names = append(names, n)
		}
	}
	return names
}

// fieldByYAML is the type of the field of struct t that the YAML name
// decodes into, looking into inline structs.
func fieldByYAML(t reflect.Type, name string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if inline(f) {
			if ft, ok := fieldByYAML(f.Type, name); ok {
				return ft, true
			}
			continue
		}
		if yamlName(f) == name {
			return f.Type, true
		}
	}
	return nil, false
}

// inline reports whether a struct field is decoded in place of its parent
// (yaml:",inline").
func inline(f reflect.StructField) bool {
	_, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return f.Anonymous && opts == "inline" && f.Type.Kind() == reflect.Struct
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() || inline(f) {
		return ""
	}
	tag := f.Tag.Get("yaml")
	if tag == "" {
		tag = f.Tag.Get("json")
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

// looksLikeSecretField reports whether a field name suggests a literal
// secret (api_key: sk-...).
func looksLikeSecretField(name string) bool {
	n := strings.ToLower(strings.NewReplacer("-", "_", " ", "_").Replace(name))
	switch n {
	case "api_key", "apikey", "key", "token", "api_token", "access_token", "secret", "api_secret",
		"password", "bearer", "auth_token", "openai_api_key", "anthropic_api_key", "x_api_key":
		return true
	}
	return false
}
