package campaign

import (
	"context"
	"slices"
	"strings"

	"github.com/needlestorm/needlestorm/corpus"
)

// datasetState is the user's dataset a campaign names (corpus.dataset or
// --dataset), as Validate read it.
type datasetState struct {
	path  string
	set   *corpus.Dataset
	cases []corpus.Case
}

// DatasetPath is the dataset file the campaign names, made absolute
// against the campaign file's folder; "" when it names none.
func (c *Campaign) DatasetPath() string {
	if c.Corpus.Dataset == "" {
		return ""
	}
	return c.resolve(c.Corpus.Dataset)
}

// Dataset is the user's dataset as Validate read it; nil when the
// campaign names none (or before Validate).
func (c *Campaign) Dataset() *corpus.Dataset {
	if c.dataset == nil {
		return nil
	}
	return c.dataset.set
}

// DatasetCases are the dataset's Cases (see corpus.Dataset.Build; with
// corpus.pad_to, corpus.Dataset.BuildPadded: after them, their padded
// versions), in file order, sent after the matrix's cases in every stage; nil without a
// dataset.
func (c *Campaign) DatasetCases() []corpus.Case {
	if c.dataset == nil {
		return nil
	}
	return c.dataset.cases
}

// Padding is the padding of the dataset's cases corpus.pad_to and
// corpus.pad_depths ask for.
func (c *Campaign) Padding() corpus.Padding {
	p := corpus.Padding{Depths: slices.Clone(c.Corpus.PadDepths)}
	for _, l := range c.Corpus.PadTo {
		p.PadTo = append(p.PadTo, int(l))
	}
	return p
}

// corpusDataset reads and checks the dataset: every bad line is reported
// at corpus.dataset with its file and line; the padding's mistakes at
// corpus.pad_to or corpus.pad_depths.
func (v *checker) corpusDataset() {
	c := v.c
	c.dataset = nil
	pad := c.Padding()
	if err := pad.Check(); err != nil {
		field := "corpus.pad_to"
		if strings.Contains(err.Error(), "depth") {
			field = "corpus.pad_depths"
		}
		v.at(field, "%v", err)
		return
	}
	if c.Corpus.Dataset == "" {
		if pad.Enabled() {
			v.at("corpus.pad_to", "pads the cases of a dataset: give corpus.dataset (or --dataset) too")
		}
		return
	}
	path := c.DatasetPath()
	d, err := corpus.LoadDataset(path)
	if err != nil {
		v.at("corpus.dataset", "%v", err)
		return
	}
	var cases []corpus.Case
	if pad.Enabled() {
		m := c.Matrix()
		b, berr := corpus.NewBuilder(m.Haystack, m.Encoding, m.Seed)
		if berr != nil {
			v.at("corpus.haystack", "%v", berr)
			return
		}
		if cases, err = d.BuildPadded(context.Background(), b, pad); err != nil {
			v.at("corpus.pad_to", "%v", err)
			return
		}
	} else if cases, err = d.Build(c.Matrix().Encoding); err != nil {
		v.at("corpus.dataset", "%v", err)
		return
	}
	c.dataset = &datasetState{path: path, set: d, cases: cases}
}

// withDataset points a sim target's simulator at the campaign's dataset,
// unless its sim settings name one of their own, so that it knows the
// expected answers.
func (c *Campaign) withDataset(ts *TargetSpec) {
	if ts.Sim == nil || c.Corpus.Dataset == "" {
		return
	}
	if ts.Sim.Dataset == "" {
		ts.Sim.Dataset = c.DatasetPath()
	} else {
		ts.Sim.Dataset = c.resolve(ts.Sim.Dataset)
	}
}

// matrixSpecs are the matrix's specs: none when a campaign with a dataset
// gives no lengths (its cases are the dataset's alone).
func (c *Campaign) matrixSpecs(m corpus.Matrix) ([]corpus.Spec, error) {
	if len(m.Lengths) == 0 && c.Corpus.Dataset != "" {
		return nil, nil
	}
	return m.Specs()
}

// overridePadding lays --pad-to and --pad-depths over corpus.pad_to and
// corpus.pad_depths.
func (c *Campaign) overridePadding(o Overrides) {
	if o.PadTo != nil {
		c.Corpus.PadTo = make([]Length, len(o.PadTo))
		for i, l := range o.PadTo {
			c.Corpus.PadTo[i] = Length(l)
		}
		c.SetFrom("corpus.pad_to", "pad-to")
	}
	setFrom(c, &c.Corpus.PadDepths, o.PadDepths, o.PadDepths != nil, "corpus.pad_depths", "pad-depths")
}
