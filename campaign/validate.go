package campaign

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/needlestorm/needlestorm/endpoint"
	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/route"
	"github.com/needlestorm/needlestorm/run"
)

// checker collects the mistakes of one campaign with their places.
type checker struct {
	c    *Campaign
	errs Errors
}

// at records a mistake at field (such as "targets[1].kind"). A field a
// command-line flag set is named by the flag (see SetFrom); otherwise the
// place is the field's in the file or, when it is not in the file (a
// missing one), its nearest enclosing field's.
func (v *checker) at(field, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if flag := v.c.flagOf(field); flag != "" {
		v.errs = append(v.errs, &Error{Field: "--" + flag, Msg: msg})
		return
	}
	field = v.c.inFile(field)
	e := &Error{File: v.c.File, Field: field, Msg: msg}
	if node := v.c.node(field); node != nil {
		e.Line, e.Column = nodePos(node)
		if !secretLike(e) {
			e.excerpt = excerpt(v.c.src, e.Line, e.Column)
		}
	}
	v.errs = append(v.errs, e)
}

// secret records a mistake whose line may hold a secret: no excerpt.
func (v *checker) secret(field, format string, args ...any) {
	v.at(field, format, args...)
	v.errs[len(v.errs)-1].excerpt = ""
}

// engine records the mistake an engine type's Validate found (a
// loadgen.FieldError or an endpoint.ConfigError) at the field it names,
// below prefix (such as "load.stages[1]"; the whole prefix when it names
// none).
func (v *checker) engine(prefix string, err error) {
	field, msg := "", err.Error()
	var lf *loadgen.FieldError
	var ef *endpoint.ConfigError
	switch {
	case errors.As(err, &lf):
		field, msg = lf.Field, lf.Msg
	case errors.As(err, &ef):
		field, msg = ef.Field, ef.Msg
	}
	if field != "" {
		prefix += "." + field
	}
	v.at(prefix, "%s", msg)
}

// name is how a message names a field: by the flag that set it, or by
// its place in the file.
func (v *checker) name(field string) string {
	if flag := v.c.flagOf(field); flag != "" {
		return "--" + flag
	}
	return field
}

// node finds the node of a field, or of its nearest enclosing field that is
// in the file; nil when the campaign was not parsed from a file.
func (c *Campaign) node(field string) ast.Node {
	if c.tree == nil {
		return nil
	}
	path := "$"
	if field != "" {
		path = "$." + field
	}
	for {
		if p, err := yaml.PathString(path); err == nil {
			if n, err := p.FilterFile(c.tree); err == nil && n != nil {
				return n
			}
		}
		if path == "$" {
			break
		}
		path = parentPath(path)
	}
	for _, d := range c.tree.Docs {
		if d != nil && d.Body != nil {
			return d.Body
		}
	}
	return nil
}

// has reports whether the file gives field.
func (c *Campaign) has(field string) bool {
	if c.tree == nil {
		return false
	}
	p, err := yaml.PathString("$." + c.inFile(field))
	if err != nil {
		return false
	}
	n, err := p.FilterFile(c.tree)
	return err == nil && n != nil
}

// given reports whether the file or a flag gives field itself.
func (c *Campaign) given(field string) bool {
	_, flag := c.flags[anyIndex(field)]
	return flag || c.has(field)
}

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// Validate checks the campaign and fills in the campaign's own defaults
// (the name, the currency, the simulator profile); the engine's types keep
// theirs, applied where they run. Parse runs it; run it again after
// changing fields by hand. Every mistake is reported, each with its place
// in the file or the flag that set it, as Errors: everything a run would
// refuse is refused here, before anything is sent.
func (c *Campaign) Validate() error {
	v := &checker{c: c}
	v.wholeNumbers()
	c.applyDefaults()
	v.targets()
	v.corpus()
	v.load()
	v.objectives()
	v.budget()
	v.regression()
	v.runLimits()
	if len(v.errs) == 0 {
		return nil
	}
	sortErrors(v.errs)
	return slices.CompactFunc(v.errs, func(a, b *Error) bool { return a.Error() == b.Error() })
}

// applyDefaults fills what the file left out.
func (c *Campaign) applyDefaults() {
	if c.Name == "" && c.File != "" {
		c.Name = strings.TrimSuffix(filepath.Base(c.File), filepath.Ext(c.File))
	}
	for i := range c.TargetList {
		t := &c.TargetList[i]
		t.Kind = strings.ToLower(strings.TrimSpace(t.Kind))
		if t.Currency == "" {
			t.Currency = DefaultCurrency
		}
		if t.Kind == KindSim && t.SimProfile == "" {
			t.SimProfile = DefaultSimProfile
		}
	}
}

// wholeNumbers reports numbers with a fraction where a whole number is
// expected (the decoder would silently drop the fraction).
func (v *checker) wholeNumbers() {
	if v.c.tree == nil {
		return
	}
	for _, d := range v.c.tree.Docs {
		ast.Walk(visitFunc(func(n ast.Node) bool {
			f, ok := n.(*ast.FloatNode)
			if !ok {
				return true
			}
			if t := typeAt(f.GetPath()); t != nil && isInt(t) && f.Value != math.Trunc(f.Value) {
				v.at(fieldOf(f.GetPath()), "expected a whole number, got %s", f.GetToken().Value)
			}
			return true
		}), d)
	}
}

func isInt(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if engineDurations[t] {
		return false
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// givenDefaults refuses every field that the file or a flag gives as its
// zero value where the engine's defaults put another value instead (a
// max_tokens: 0 that would send 256, a resolution: 0 that would search to
// 10%): given is an engine type's value as decoded, defaulted the same
// value with the type's WithDefaults, and prefix given's place. Nested
// structs (early_stop) are checked field by field.
func (v *checker) givenDefaults(prefix string, given, defaulted any) {
	gv, dv := reflect.ValueOf(given), reflect.ValueOf(defaulted)
	t := gv.Type()
	for i := range t.NumField() {
		name := yamlName(t.Field(i))
		if name == "" {
			continue
		}
		field, g, d := prefix+"."+name, gv.Field(i), dv.Field(i)
		switch {
		case g.Kind() == reflect.Struct:
			v.givenDefaults(field, g.Interface(), d.Interface())
		case g.IsZero() && !d.IsZero() && v.c.given(field):
			v.at(field, "%s is the same as leaving the field out, which gives %s: leave it out, or give the value you mean", describeZero(g), describeValue(d))
		}
	}
}

// describeZero writes a zero value as a file would.
func describeZero(z reflect.Value) string {
	if z.Kind() == reflect.String {
		return `""`
	}
	return "0"
}

// describeValue writes a default as a file would.
func describeValue(d reflect.Value) string {
	switch x := d.Interface().(type) {
	case run.Seconds:
		return x.Duration().String()
	case time.Duration:
		return x.String()
	case string:
		return strconv.Quote(x)
	case float64:
		return strconv.FormatFloat(x, 'g', 4, 64)
	}
	return fmt.Sprint(d.Interface())
}

func (v *checker) objectives() {
	if v.c.Require != "" {
		if _, err := reports.ParseRequirement(v.c.Require); err != nil {
			v.at("require", "%v", err)
		}
	}
	v.routing()
	a := v.c.Accuracy
	if a.Threshold != nil && (!finite(*a.Threshold) || *a.Threshold <= 0 || *a.Threshold > 1) {
		v.at("accuracy.threshold", "%g is outside 0..1: give the share of right answers required, such as 0.85", *a.Threshold)
	}
}

func (v *checker) budget() {
	b := v.c.Budget
	if b.MaxCostUSD != nil {
		if !finite(*b.MaxCostUSD) || *b.MaxCostUSD < 0 {
			v.at("budget.max_cost_usd", "%g: a budget must be 0 or more US dollars", *b.MaxCostUSD)
		}
		for i, t := range v.c.TargetList {
			if t.Prices.Given() && t.Currency != "USD" {
				v.at(fmt.Sprintf("targets[%d].currency", i), "%s: budget.max_cost_usd is in US dollars, so priced targets must give prices in USD", t.Currency)
			}
		}
	}
}

// runLimits checks what only flags set (a file's durations are never
// negative): the warm-up, the time budget, the cap on requests in flight
// and the grace period.
func (v *checker) runLimits() {
	c := v.c
	for _, d := range []struct {
		field string
		val   time.Duration
	}{{"load.warmup", c.Load.Warmup.D()}, {"budget.max_duration", c.Budget.MaxDuration.D()}} {
		if d.val < 0 {
			v.at(d.field, "%s is negative", d.val)
		}
	}
	if c.MaxInFlight < 0 || (c.MaxInFlight == 0 && c.given(flagMaxInFlight)) {
		v.at(flagMaxInFlight, "%d: the cap on requests in flight must be at least 1", c.MaxInFlight)
	}
	if c.Grace != nil && *c.Grace < 0 {
		v.at(fieldGrace, "%s is negative: give how long requests in flight may finish after an interruption, 0 or more", *c.Grace)
	}
}

// resolve makes a path relative to the campaign file's folder absolute.
func (c *Campaign) resolve(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	base := c.BaseDir
	if base == "" {
		base = "."
	}
	abs, err := filepath.Abs(filepath.Join(base, p))
	if err != nil {
		return filepath.Join(base, p)
	}
	return abs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// routing reads the routing file the campaign names.
func (v *checker) routing() {
	v.c.routing = nil
	if v.c.Routing == "" {
		return
	}
	f, err := route.Load(v.c.resolve(v.c.Routing))
	if err != nil {
		v.at("routing", "%v", err)
		return
	}
	f.Path = v.c.Routing // as the campaign gives it, else as seen from its folder
	if !filepath.IsAbs(f.Path) && v.c.BaseDir != "" {
		f.Path = filepath.Join(v.c.BaseDir, f.Path)
	}
	v.c.routing = f
}
