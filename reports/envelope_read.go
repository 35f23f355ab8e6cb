package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/needlestorm/needlestorm/run"
)

// maxEnvelopeSize bounds an envelope file read; a large campaign's is a
// few megabytes.
const maxEnvelopeSize = 256 << 20

// ReadEnvelope decodes an envelope in either schema, v2 (EnvelopeSchema)
// or v1 (EnvelopeSchemaV1). A v1 envelope is upgraded: per length its
// request counts, accuracy interval and ceiling are recomputed from its
// points, and UpgradedFrom says it was v1. In either schema a length's max
// rate, its point and its ceiling are recomputed from its points. What v1 never recorded (the run,
// kind, base URL, prices, measured window, tokens per request) stays empty.
func ReadEnvelope(r io.Reader) (*Envelope, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxEnvelopeSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the envelope: %w", err)
	}
	if len(b) > maxEnvelopeSize {
		return nil, fmt.Errorf("the envelope is over %d MiB: not an envelope.json", maxEnvelopeSize>>20)
	}
	var head struct {
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("not an envelope (invalid JSON): %w", err)
	}
	switch head.Schema {
	case EnvelopeSchema, EnvelopeSchemaV1:
	case "":
		return nil, fmt.Errorf("not an envelope: no \"schema\" field (want %q or %q)", EnvelopeSchema, EnvelopeSchemaV1)
	default:
		return nil, fmt.Errorf("envelope schema %q is not one this version reads (%q or %q)", head.Schema, EnvelopeSchema, EnvelopeSchemaV1)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var env Envelope
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("decoding the envelope: %w", err)
	}
	if env.Schema == EnvelopeSchemaV1 {
		upgradeV1(&env)
		return &env, nil
	}
	// Max rate, its point and ceiling follow from the points: recomputed,
	// so that a hand-edited file cannot claim a ceiling its points deny.
	for i := range env.Targets {
		for j := range env.Targets[i].Lengths {
			env.Targets[i].Lengths[j].setMaxRate()
		}
	}
	return &env, nil
}

// upgradeV1 fills what v2 adds and v1 points already imply.
func upgradeV1(env *Envelope) {
	env.UpgradedFrom, env.Schema = EnvelopeSchemaV1, EnvelopeSchema
	for i := range env.Targets {
		et := &env.Targets[i]
		for j := range et.Lengths {
			el := &et.Lengths[j]
			if len(el.Points) > 0 {
				el.Requests, el.AccuracyCI = el.Points[0].Requests, el.Points[0].AccuracyCI
			}
			el.setMaxRate()
		}
		switch {
		case len(et.Lengths) == 0:
			et.Limit = LimitNothingTested
		case strings.HasPrefix(et.LimitedBy, "accuracy") || strings.HasPrefix(et.LimitedBy, "no correct answer"):
			et.Limit = LimitAccuracy
		default:
			et.Limit = LimitTested
		}
		et.EffectiveContextRequests = et.requestsUpTo(et.EffectiveContextLength)
	}
}

// LoadEnvelope reads the envelope at path: an envelope.json file, or a run
// directory, whose envelope.json is read when it holds one and which is
// built from its manifest.json and records.jsonl (with the objectives and
// prices the run recorded) when not. An envelope upgraded from v1 inside a
// run directory gets the run's evidence from its manifest.
func LoadEnvelope(path string) (*Envelope, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading envelope %s: %w", path, err)
	}
	if !st.IsDir() {
		return readEnvelopeFile(path)
	}
	file := filepath.Join(path, EnvelopeFile)
	env, err := readEnvelopeFile(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return buildEnvelopeOf(path)
	case err != nil:
		return nil, err
	}
	if env.Run == nil {
		if m, err := run.ReadManifest(path); err == nil {
			withManifestEvidence(env, m, path)
		}
	}
	if env.Run != nil && env.Run.Dir == "" {
		env.Run.Dir = path
	}
	return env, nil
}

func readEnvelopeFile(path string) (*Envelope, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading envelope: %w", err)
	}
	defer f.Close()
	env, err := ReadEnvelope(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return env, nil
}

// buildEnvelopeOf builds a run directory's envelope from its records.
func buildEnvelopeOf(dir string) (*Envelope, error) {
	m, err := run.ReadManifest(dir)
	if err != nil {
		return nil, fmt.Errorf("%s holds neither %s nor a run to build one from: %w", dir, EnvelopeFile, err)
	}
	obj, err := DecodeObjectives(m.Objectives)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	prices, err := PricesFromManifest(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	s, err := Load(dir, Options{Objectives: obj, Prices: prices})
	if err != nil {
		return nil, err
	}
	return s.Envelope, nil
}

// withManifestEvidence adds a manifest's evidence to an envelope read
// without it (a v1 file beside its run's manifest).
func withManifestEvidence(env *Envelope, m *run.Manifest, dir string) {
	s := &Summary{Envelope: env, Run: RunInfo{Dir: dir}}
	addEvidence(s, m)
}
