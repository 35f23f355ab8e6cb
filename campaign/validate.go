package campaign

import (
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/route"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/sim"
)

// checker collects the mistakes of one campaign with their places.
type checker struct {
	c    *Campaign
	errs Errors
}

// at records a mistake at field (such as "targets[1].kind"); when the field
// is not in the file (a missing one) the place is its nearest enclosing
// field that is.
func (v *checker) at(field, format string, args ...any) {
	e := &Error{File: v.c.File, Field: field, Msg: fmt.Sprintf(format, args...)}
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
	p, err := yaml.PathString("$." + field)
	if err != nil {
		return false
	}
	n, err := p.FilterFile(c.tree)
	return err == nil && n != nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// authHeaders are headers whose value is a secret; they must come from the
// environment as ${NAME}.
var authHeaders = map[string]bool{"authorization": true, "proxy-authorization": true, "x-api-key": true, "api-key": true, "openai-api-key": true}

var headerRef = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*\}$`)

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// Validate checks the campaign and fills in its defaults. Parse runs it; run
// it again after changing fields by hand. Every mistake is reported, each
// with its place in the file, as Errors.
func (c *Campaign) Validate() error {
	v := &checker{c: c}
	v.wholeNumbers()
	c.applyDefaults()
	v.targets()
	v.corpus()
	v.load()
	v.objectives()
	v.budget()
	if len(v.errs) == 0 {
		return nil
	}
	sortErrors(v.errs)
	return v.errs
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
	for i := range c.Load.Stages {
		s := &c.Load.Stages[i]
		if s.Kind == "" {
			s.Kind = loadgen.StageConstant
			if s.Concurrency > 0 && s.Rate == 0 {
				s.Kind = loadgen.StageConcurrency
			}
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
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

func (v *checker) targets() {
	c := v.c
	if len(c.TargetList) == 0 {
		if c.has("targets") {
			v.at("targets", "the list is empty: name at least one target, such as {name: local, kind: sim}")
		} else {
			v.at("targets", "missing: a campaign needs a list of targets, such as\n    targets:\n      - {name: local, kind: sim}")
		}
		return
	}
	seen := map[string]int{}
	currencies := map[string]string{}
	for i := range c.TargetList {
		t := &c.TargetList[i]
		f := fmt.Sprintf("targets[%d]", i)
		switch {
		case t.Name == "":
			v.at(f+".name", "missing: every target needs a name, used in records and reports")
		case strings.ContainsAny(t.Name, "/\\\n\r\t"):
			v.at(f+".name", "%q: a target name must not hold slashes, tabs or line breaks", t.Name)
		default:
			if j, dup := seen[t.Name]; dup {
				v.at(f+".name", "%q is already the name of targets[%d]: target names must be unique", t.Name, j)
			}
			seen[t.Name] = i
		}
		switch t.Kind {
		case "":
			v.at(f+".kind", "missing: give the target's kind: %s", orList(TargetKinds))
		case KindOpenAI, KindAnthropic:
			v.remoteTarget(f, t)
		case KindSim:
			v.simTarget(f, t)
		default:
			msg := fmt.Sprintf("%q is not a target kind; use %s", t.Kind, orList(TargetKinds))
			if s := closest(t.Kind, TargetKinds); s != "" {
				msg = fmt.Sprintf("%q is not a target kind; did you mean %s? (use %s)", t.Kind, s, orList(TargetKinds))
			}
			v.at(f+".kind", "%s", msg)
		}
		if t.APIKeyEnv != "" && !envName.MatchString(t.APIKeyEnv) {
			// The value may be the key itself: it is not repeated.
			v.secret(f+".api_key_env", "this is not an environment variable name: api_key_env names the variable that holds the key (such as OPENAI_API_KEY), never the key itself")
		}
		for name, val := range t.Headers {
			if strings.TrimSpace(name) == "" {
				v.at(f+".headers", "a header has an empty name")
			}
			if authHeaders[strings.ToLower(name)] && !headerRef.MatchString(strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(val, "Bearer "), "bearer "))) {
				v.secret(f+".headers", "header %s holds a secret written into the file: write its value as ${NAME} (or \"Bearer ${NAME}\") to read it from the environment variable NAME", name)
			}
		}
		if t.MaxTokens < 0 {
			v.at(f+".max_tokens", "%d is negative: give the cap on answer tokens, such as 256", t.MaxTokens)
		}
		if !finite(t.Temperature) || t.Temperature < 0 || t.Temperature > 2 {
			v.at(f+".temperature", "%g is outside 0..2 (0, the default, makes answers reproducible)", t.Temperature)
		}
		if t.ContextWindow < 0 {
			v.at(f+".context_window", "%d is negative: give the declared window in tokens, such as 32768", t.ContextWindow)
		}
		for _, p := range []struct {
			name string
			val  float64
		}{{"input", t.Prices.Input}, {"output", t.Prices.Output}, {"cached", t.Prices.Cached}} {
			if !finite(p.val) || p.val < 0 {
				v.at(f+".prices."+p.name, "%g: a price per million tokens must be 0 or more", p.val)
			}
		}
		if !currencyCode.MatchString(t.Currency) {
			v.at(f+".currency", "%q is not a currency code: write three capital letters such as USD or EUR", t.Currency)
		} else if priced(t) {
			for other, j := range currencies {
				if other != t.Currency {
					v.at(f+".currency", "%s differs from %s of %s: one report sums costs in one currency, so give every priced target the same currency", t.Currency, other, j)
				}
			}
			currencies[t.Currency] = f
		}
	}
}

// priced reports whether a target gives prices; zero for everything is none.
func priced(t *Target) bool { return t.Prices.Given() }

func (v *checker) remoteTarget(f string, t *Target) {
	if t.Model == "" {
		v.at(f+".model", "missing: a %s target needs the model name the server serves (such as gpt-4o-mini, or what /v1/models lists)", t.Kind)
	}
	if t.BaseURL != "" {
		u, err := url.Parse(t.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.at(f+".base_url", "not an http(s) URL: write the API root, such as http://127.0.0.1:8000/v1")
		} else if u.User != nil {
			v.secret(f+".base_url", "the URL holds a user name or password: put credentials in api_key_env or a ${NAME} header instead")
		}
	}
	for _, k := range []string{"sim_profile", "sim", "time_scale"} {
		if v.c.has(f + "." + k) {
			v.at(f+"."+k, "only for kind sim (this target is %s)", t.Kind)
		}
	}
}

func (v *checker) simTarget(f string, t *Target) {
	if t.BaseURL != "" {
		v.at(f+".base_url", "a sim target is started in-process on loopback and needs no base_url; to measure a simulator started with `needlestorm sim`, use kind openai with its URL")
	}
	cfg, err := sim.Profile(t.SimProfile)
	if err != nil {
		msg := fmt.Sprintf("%q is not a simulator profile; use %s", t.SimProfile, orList(sim.Profiles()))
		if s := closest(t.SimProfile, sim.Profiles()); s != "" {
			msg = fmt.Sprintf("%q is not a simulator profile; did you mean %s? (use %s)", t.SimProfile, s, orList(sim.Profiles()))
		}
		v.at(f+".sim_profile", "%s", msg)
		return
	}
	if err := t.Sim.apply(&cfg); err != nil {
		if e, ok := err.(*Error); ok {
			// The error holds its own place (a key or a value).
			e.File = v.c.File
			e.excerpt = excerpt(v.c.src, e.Line, e.Column)
			v.errs = append(v.errs, e)
		} else {
			v.at(f+".sim", "%v", err)
		}
		return
	}
	if t.TimeScale != nil {
		if !finite(*t.TimeScale) || *t.TimeScale < 0 {
			v.at(f+".time_scale", "%g: the time scale must be 0 or more (1 real time, 0.01 a hundred times faster, 0 never sleeps)", *t.TimeScale)
			return
		}
		cfg.TimeScale = *t.TimeScale
	}
	if err := cfg.Validate(); err != nil {
		field := f + ".sim"
		if !v.c.has(field) {
			field = f + ".sim_profile"
		}
		v.at(field, "the simulator settings are not valid: %v", err)
	}
}

func (v *checker) corpus() {
	c := v.c
	k := &c.Corpus
	if len(k.Lengths) == 0 {
		if c.has("corpus.lengths") {
			v.at("corpus.lengths", "the list is empty: give the prompt lengths to test, such as [1k, 8k, 32k]")
		} else {
			v.at("corpus.lengths", "missing: give the prompt lengths to test, such as lengths: [1k, 8k, 32k]")
		}
	}
	for i, t := range k.Tasks {
		if err := corpus.CheckTask(t); err != nil {
			msg := fmt.Sprintf("%q is not a task; use %s", t, orList(corpus.Tasks))
			if s := closest(t, corpus.Tasks); s != "" {
				msg = fmt.Sprintf("%q is not a task; did you mean %s? (use %s)", t, s, orList(corpus.Tasks))
			}
			v.at(fmt.Sprintf("corpus.tasks[%d]", i), "%s", msg)
		}
	}
	for i, d := range k.Depths {
		if !finite(d) || d < 0 || d > 100 {
			v.at(fmt.Sprintf("corpus.depths[%d]", i), "%g is outside 0..100: depths are percent of the haystack (0 the start, 100 the end)", d)
		}
	}
	if k.Samples < 0 {
		v.at("corpus.samples", "%d is negative: give the number of cases per (task, length, depth), such as 3", k.Samples)
	}
	if k.Repeats < 0 {
		v.at("corpus.repeats", "%d is negative: give how many times each case is sent, such as 2", k.Repeats)
	}
	if k.Keys < 0 {
		v.at("corpus.keys", "%d is negative", k.Keys)
	}
	if k.Haystack != "" {
		if err := corpus.CheckHaystack(k.Haystack); err != nil {
			v.at("corpus.haystack", "%q is not a haystack: use prose, noise, or dir:PATH for a folder of your own .txt and .md files", k.Haystack)
		} else if dir, ok := strings.CutPrefix(k.Haystack, corpus.HaystackDirPrefix); ok {
			abs := c.resolve(dir)
			if st, err := os.Stat(abs); err != nil || !st.IsDir() {
				v.at("corpus.haystack", "folder %s (read relative to the campaign file's folder) does not exist or is not a folder", abs)
			}
		}
	}
	if k.Encoding != "" && !contains(corpus.Encodings, k.Encoding) {
		v.at("corpus.encoding", "%q is not an encoding; use %s", k.Encoding, orList(corpus.Encodings))
	}
	if k.ValueKind != "" && !contains(corpus.ValueKinds, k.ValueKind) {
		msg := fmt.Sprintf("%q is not a value kind; use %s", k.ValueKind, orList(corpus.ValueKinds))
		if s := closest(k.ValueKind, corpus.ValueKinds); s != "" {
			msg = fmt.Sprintf("%q is not a value kind; did you mean %s?", k.ValueKind, s)
		}
		v.at("corpus.value_kind", "%s", msg)
	}
	if k.LengthBasis != "" && k.LengthBasis != BasisClient && k.LengthBasis != BasisServer {
		v.at("corpus.length_basis", "%q: use client (lengths count client tokens) or server (sized so the server counts the length)", k.LengthBasis)
	}
}

func (v *checker) load() {
	c := v.c
	l := &c.Load
	switch {
	case len(l.Stages) > 0 && l.Search != nil:
		v.at("load.search", "give load.stages or load.search, not both: stages run a fixed schedule, search looks for the highest rate that holds")
		return
	case len(l.Stages) == 0 && l.Search == nil:
		if c.has("load.stages") {
			v.at("load.stages", "the list is empty: give at least one stage, such as {rate: 2, duration: 30s}")
		} else {
			v.at("load", "missing: give load.stages (such as [{rate: 2, duration: 30s}]) or load.search")
		}
		return
	}
	for i := range l.Stages {
		s := &l.Stages[i]
		f := fmt.Sprintf("load.stages[%d]", i)
		if !contains(loadgen.StageKinds, s.Kind) {
			msg := fmt.Sprintf("%q is not a stage kind; use %s", s.Kind, orList(loadgen.StageKinds))
			if n := closest(s.Kind, loadgen.StageKinds); n != "" {
				msg = fmt.Sprintf("%q is not a stage kind; did you mean %s? (use %s)", s.Kind, n, orList(loadgen.StageKinds))
			}
			v.at(f+".kind", "%s", msg)
			continue
		}
		bad := false
		for _, n := range []struct {
			name string
			val  float64
		}{{"rate", s.Rate}, {"to_rate", s.ToRate}, {"amplitude", s.Amplitude}} {
			if !finite(n.val) || n.val < 0 {
				v.at(f+"."+n.name, "%g is negative: rates are requests per second, 0 or more", n.val)
				bad = true
			}
		}
		if s.Concurrency < 0 {
			v.at(f+".concurrency", "%d is negative: give the number of requests kept in flight, such as 8", s.Concurrency)
			bad = true
		}
		if s.Requests < 0 {
			v.at(f+".requests", "%d is negative", s.Requests)
			bad = true
		}
		if bad {
			continue
		}
		st := s.stage()
		if st.Duration == 0 && st.Requests == 0 {
			// Unbounded stages send every case `repeats` times.
			st.Requests = 1
		}
		if err := st.Validate(); err != nil {
			v.at(f, "%v", err)
			continue
		}
		v.stageRepeats(f, s.stage())
	}
	if l.Search != nil && c.RepeatsGiven() {
		v.at("corpus.repeats", "an envelope search sizes its own steps (load.search.step_duration, step_requests), so repeats cannot apply: drop corpus.repeats, or give explicit load.stages to measure consistency over repeats")
	}
	if s := l.Search; s != nil {
		f := "load.search"
		if !finite(s.StartRate) || s.StartRate < 0 {
			v.at(f+".start_rate", "%g is negative: give the first rate tried, in requests per second", s.StartRate)
		}
		switch {
		case !c.has(f + ".max_rate"):
			v.at(f+".max_rate", "missing: give the highest rate the search may try, in requests per second")
		case !finite(s.MaxRate) || s.MaxRate <= 0:
			v.at(f+".max_rate", "%g: give the highest rate to try, above 0 requests per second", s.MaxRate)
		case s.MaxRate < s.startRate():
			v.at(f+".max_rate", "%g is below start_rate %g", s.MaxRate, s.startRate())
		}
		if c.has(f+".resolution") && (!finite(s.Resolution) || s.Resolution <= 0 || s.Resolution >= 1) {
			v.at(f+".resolution", "%g is outside 0..1: give the relative precision of the rate found, such as 0.1 for 10%%", s.Resolution)
		}
		if s.StepRequests < 0 {
			v.at(f+".step_requests", "%d is negative", s.StepRequests)
		}
		if s.MaxSteps < 0 {
			v.at(f+".max_steps", "%d is negative", s.MaxSteps)
		}
	}
}

// stageRepeats refuses a stage that cannot send each case corpus.repeats
// times: one with its own request count (repeats set the same count), or
// an open-loop one whose duration ends it before cases × repeats requests.
func (v *checker) stageRepeats(f string, st loadgen.Stage) {
	c := v.c
	if !c.RepeatsGiven() {
		return
	}
	cases := c.cases()
	if cases == 0 {
		return // the corpus is reported on its own
	}
	want := cases * c.Repeats()
	if st.Requests > 0 {
		v.at(f+".requests", "%d requests, but corpus.repeats %d already sets every stage's count to cases × repeats (%d × %d = %d): drop one of them",
			st.Requests, c.Repeats(), cases, c.Repeats(), want)
		return
	}
	if st.Duration > 0 && st.OpenLoop() {
		sp := planStage(st, TargetSpec{}, nil)
		if sp.Requests < int64(want) {
			v.at(f+".duration", "in %s the stage (%s) sends about %d requests, fewer than cases × repeats (%d × %d = %d), so not every case would be sent %d times: lengthen it, or drop the duration (the stage then ends after its %d requests)",
				st.Duration.Duration(), st.Name(), sp.Requests, cases, c.Repeats(), want, c.Repeats(), want)
		}
	}
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
			if priced(&t) && t.Currency != "USD" {
				v.at(fmt.Sprintf("targets[%d].currency", i), "%s: budget.max_cost_usd is in US dollars, so priced targets must give prices in USD", t.Currency)
			}
		}
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
