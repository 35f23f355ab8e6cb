package campaign

import (
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

// DatasetCases are the dataset's Cases (see corpus.Dataset.Build), in
// file order, sent after the matrix's cases in every stage; nil without a
// dataset.
func (c *Campaign) DatasetCases() []corpus.Case {
	if c.dataset == nil {
		return nil
	}
	return c.dataset.cases
}

// corpusDataset reads and checks the dataset: every bad line is reported
// at corpus.dataset with its file and line.
func (v *checker) corpusDataset() {
	c := v.c
	c.dataset = nil
	if c.Corpus.Dataset == "" {
		return
	}
	path := c.DatasetPath()
	d, err := corpus.LoadDataset(path)
	if err != nil {
		v.at("corpus.dataset", "%v", err)
		return
	}
	cases, err := d.Build(c.Matrix().Encoding)
	if err != nil {
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
