package campaign

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/internal/suggest"
)

func (v *checker) corpus() {
	before := len(v.errs)
	v.corpusLists()
	v.corpusCounts()
	v.corpusNames()
	v.corpusDataset()
	if len(v.errs) == before && len(v.c.Corpus.Lengths) > 0 {
		v.corpusFits()
	}
}

// corpusLists checks the lists of the matrix: lengths given, no list given
// empty (an empty depths would silently mean five depths), no entry twice
// (it would be sent once, and the plan would count it twice), and each
// entry valid.
func (v *checker) corpusLists() {
	c := v.c
	k := &c.Corpus
	if len(k.Lengths) == 0 && !c.given("corpus.lengths") && k.Dataset == "" {
		v.at("corpus.lengths", "missing: give the prompt lengths to test, such as lengths: [1k, 8k, 32k]")
	}
	for _, l := range []struct {
		field, example string
		n              int
	}{{"lengths", "[1k, 8k, 32k]", len(k.Lengths)}, {"depths", "[0, 50, 100], or leave it out for 0, 25, 50, 75 and 100", len(k.Depths)}, {"tasks", "[single], or leave it out for single", len(k.Tasks)}} {
		if l.n == 0 && c.given("corpus."+l.field) {
			v.at("corpus."+l.field, "the list is empty: give %s", l.example)
		}
	}
	lengths := make([]string, len(k.Lengths))
	for i, l := range k.Lengths {
		lengths[i] = corpus.FormatLength(int(l))
		if l <= 0 || int(l) > corpus.MaxLength {
			v.at(fmt.Sprintf("corpus.lengths[%d]", i), "%d is outside 1..%d tokens", l, corpus.MaxLength)
		}
	}
	v.duplicates("corpus.lengths", lengths)
	v.duplicates("corpus.tasks", k.Tasks)
	depths := make([]string, len(k.Depths))
	for i, d := range k.Depths {
		depths[i] = fmtFloat(d)
		if !finite(d) || d < 0 || d > 100 {
			v.at(fmt.Sprintf("corpus.depths[%d]", i), "%g is outside 0..100: depths are percent of the haystack (0 the start, 100 the end)", d)
		}
	}
	v.duplicates("corpus.depths", depths)
	for i, t := range k.Tasks {
		if err := corpus.CheckTask(t); err != nil {
			msg := fmt.Sprintf("%q is not a task; use %s", t, orList(corpus.Tasks))
			if s := suggest.Closest(t, corpus.Tasks); s != "" {
				msg = fmt.Sprintf("%q is not a task; did you mean %s? (use %s)", t, s, orList(corpus.Tasks))
			}
			v.at(fmt.Sprintf("corpus.tasks[%d]", i), "%s", msg)
		}
	}
}

// duplicates refuses an entry of list (at field) that an earlier one
// already gives.
func (v *checker) duplicates(field string, list []string) {
	for i, x := range list {
		if j := slices.Index(list, x); j < i {
			v.at(fmt.Sprintf("%s[%d]", field, i), "%s is already %s[%d]: give each entry once (a case is sent once per stage, as many times as repeats says)", x, v.name(field), j)
		}
	}
}

// corpusCounts checks the counts: none negative, and none given as 0,
// which would silently mean the default.
func (v *checker) corpusCounts() {
	k := &v.c.Corpus
	for _, n := range []struct {
		field, zero string
		val         int
	}{
		{"samples", "1 case per (task, length, depth)", k.Samples},
		{"repeats", "each case sent once per stage", k.Repeats},
		{"keys", "the task's own number of keys", k.Keys},
	} {
		f := "corpus." + n.field
		switch {
		case n.val < 0:
			v.at(f, "%d is negative: give a number of 1 or more", n.val)
		case n.val == 0 && v.c.given(f):
			v.at(f, "0 is the same as leaving it out, which gives %s: leave it out, or give 1 or more", n.zero)
		}
	}
}

// corpusNames checks the names: haystack, encoding, value kind, basis.
func (v *checker) corpusNames() {
	c := v.c
	k := &c.Corpus
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
		if s := suggest.Closest(k.ValueKind, corpus.ValueKinds); s != "" {
			msg = fmt.Sprintf("%q is not a value kind; did you mean %s?", k.ValueKind, s)
		}
		v.at("corpus.value_kind", "%s", msg)
	}
	if k.LengthBasis != "" && k.LengthBasis != BasisClient && k.LengthBasis != BasisServer {
		v.at("corpus.length_basis", "%q: use client (lengths count client tokens) or server (sized so the server counts the length)", k.LengthBasis)
	}
}

// corpusFits builds, for each length from the shortest, the first case of
// every task (a short prompt each, nothing sent) until one length holds
// them all: a length too short for a task is refused here rather than
// after preflight. Longer lengths hold what a shorter one holds.
func (v *checker) corpusFits() {
	m := v.c.Matrix()
	b, err := m.Builder()
	if err != nil {
		v.at("corpus", "%v", err)
		return
	}
	lengths := slices.Clone(m.Lengths)
	slices.Sort(lengths)
	for _, l := range slices.Compact(lengths) {
		err := b.Fit(context.Background(), m, l)
		if err == nil {
			return
		}
		if !errors.Is(err, corpus.ErrTooShort) {
			v.at("corpus", "%v", err)
			return
		}
		for i, given := range m.Lengths {
			if given == l {
				v.at(fmt.Sprintf("corpus.lengths[%d]", i), "%v", err)
			}
		}
	}
}
