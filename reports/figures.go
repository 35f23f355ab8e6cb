package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/needlestorm/needlestorm/run"
)

// Figures are what a baseline comparison reads of one run: its envelope,
// and where known the run's status and corpus recipe.
type Figures struct {
	// Source is the path the figures were read from.
	Source string `json:"source"`
	// Kind says what Source was: run (a run directory, re-judged from its
	// records), summary (summary.json) or envelope (envelope.json).
	Kind string   `json:"kind"`
	Run  RunInfo  `json:"run"`
	Env  Envelope `json:"-"`
	// Corpus is the corpus recipe the run recorded; nil when unknown (an
	// envelope file carries none).
	Corpus json.RawMessage `json:"-"`
}

// Kinds of Figures source.
const (
	FiguresRun      = "run"
	FiguresSummary  = "summary"
	FiguresEnvelope = "envelope"
)

// LoadFigures reads the figures of a run from path: a run directory (its
// manifest.json and records.jsonl, judged by the objectives and prices the
// run recorded, as `needlestorm report` does), a folder holding a
// summary.json (such as one `report --out` wrote), a summary.json, or an
// envelope.json.
func LoadFigures(path string) (*Figures, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w (give a run directory, a summary.json or an envelope.json)", path, err)
	}
	if !info.IsDir() {
		return figuresFromFile(path)
	}
	if _, err := os.Stat(filepath.Join(path, run.ManifestFile)); err == nil {
		return figuresFromRun(path)
	}
	for _, name := range []string{JSONFile, EnvelopeFile} {
		if _, err := os.Stat(filepath.Join(path, name)); err == nil {
			return figuresFromFile(filepath.Join(path, name))
		}
	}
	return nil, fmt.Errorf("%s holds neither %s nor %s nor %s: give a run directory, a summary.json or an envelope.json", path, run.ManifestFile, JSONFile, EnvelopeFile)
}

// figuresFromRun judges a run directory as `needlestorm report DIR` does.
func figuresFromRun(dir string) (*Figures, error) {
	m, err := run.ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	var opts Options
	if opts.Objectives, err = DecodeObjectives(m.Objectives); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if opts.Prices, err = PricesFromManifest(m); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	s, err := Load(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return &Figures{Source: dir, Kind: FiguresRun, Run: s.Run, Env: *s.Envelope, Corpus: m.Corpus}, nil
}

// figuresFromFile reads a summary.json or an envelope.json, told apart by
// their schema.
func figuresFromFile(path string) (*Figures, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var head struct {
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("%s is not JSON: %w (give a run directory, a summary.json or an envelope.json)", path, err)
	}
	switch {
	case head.Schema == SummarySchema:
		var s Summary
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if s.Envelope == nil {
			return nil, fmt.Errorf("%s has no envelope", path)
		}
		return &Figures{Source: path, Kind: FiguresSummary, Run: s.Run, Env: *s.Envelope, Corpus: s.Run.Corpus}, nil
	case strings.HasPrefix(head.Schema, "needlestorm.envelope/"):
		var env Envelope
		if err := json.Unmarshal(b, &env); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return &Figures{Source: path, Kind: FiguresEnvelope, Run: RunInfo{Status: env.Status, Complete: env.Status == run.StatusComplete}, Env: env}, nil
	}
	return nil, fmt.Errorf("%s has schema %q: give a run directory, a summary.json (%s) or an envelope.json (%s)", path, head.Schema, SummarySchema, EnvelopeSchema)
}

// Differences lists what makes two runs' figures not comparable, one line
// each: a different corpus recipe (where both are known), different
// lengths tested, different objectives. Nil when they are comparable.
func Differences(base, cur *Figures) []string {
	var out []string
	out = append(out, corpusDifferences(base.Corpus, cur.Corpus)...)
	if b, c := testedLengths(&base.Env), testedLengths(&cur.Env); !slices.Equal(b, c) {
		out = append(out, fmt.Sprintf("lengths tested: %s in the baseline, %s in the current run", joinInts(b), joinInts(c)))
	}
	if b, c := comparableObjectives(base.Env.Objectives), comparableObjectives(cur.Env.Objectives); !reflect.DeepEqual(b, c) {
		out = append(out, fmt.Sprintf("objectives: %s in the baseline, %s in the current run", b.Describe(), c.Describe()))
	}
	return out
}

// comparableObjectives are the objectives that shape the figures: the
// requirement and what gates do not.
func comparableObjectives(o Objectives) Objectives {
	o.Requirement, o.Ungated = nil, nil
	o.Accuracy = o.AccuracyThreshold()
	if len(o.Latency) == 0 {
		o.Latency = nil
	}
	return o
}

// corpusDifferences compares two corpus recipes field by field; nothing
// when either is unknown.
func corpusDifferences(base, cur json.RawMessage) []string {
	if len(base) == 0 || len(cur) == 0 {
		return nil
	}
	var b, c map[string]any
	if json.Unmarshal(base, &b) != nil || json.Unmarshal(cur, &c) != nil {
		if !bytes.Equal(base, cur) {
			return []string{"corpus recipe differs"}
		}
		return nil
	}
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range c {
		keys[k] = true
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if !reflect.DeepEqual(b[k], c[k]) {
			out = append(out, fmt.Sprintf("corpus %s: %s in the baseline, %s in the current run", k, jsonText(b[k]), jsonText(c[k])))
		}
	}
	return out
}

func jsonText(v any) string {
	if v == nil {
		return "unset"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// testedLengths are the lengths an envelope holds, over all targets.
func testedLengths(env *Envelope) []int {
	var out []int
	for _, et := range env.Targets {
		for _, el := range et.Lengths {
			if !slices.Contains(out, el.Length) {
				out = append(out, el.Length)
			}
		}
	}
	slices.Sort(out)
	return out
}

func joinInts(xs []int) string {
	if len(xs) == 0 {
		return "none"
	}
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = formatLength(x)
	}
	return strings.Join(parts, ", ")
}

// NotComparableError is CompareRuns' refusal of runs that differ in what
// they measured.
type NotComparableError struct {
	Differences []string
}

func (e *NotComparableError) Error() string {
	return "the runs are not comparable: " + strings.Join(e.Differences, "; ") + " (give --force to compare them anyway)"
}

// IsNotComparable reports whether err is a NotComparableError.
func IsNotComparable(err error) bool {
	var nc *NotComparableError
	return errors.As(err, &nc)
}
