package route

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/needlestorm/needlestorm/reports"
)

// Input is one envelope to route from, with the path it was read from.
type Input struct {
	// Path is the envelope.json or run directory given.
	Path     string
	Envelope *reports.Envelope
}

// Source is where one target's figures come from.
type Source struct {
	// Path is the envelope or run directory given on the command line.
	Path string `json:"path"`
	// Run is the run that measured them; nil for an envelope that does not
	// say (a v1 file outside its run directory).
	Run *reports.EnvelopeRun `json:"run,omitempty"`
	// Schema is the envelope's schema, and UpgradedFrom the older one it
	// was read in, if any.
	Schema       string `json:"schema"`
	UpgradedFrom string `json:"upgraded_from,omitempty"`
	// Status is the run's status: an interrupted run's envelope covers
	// only what was measured.
	Status string `json:"status"`
}

// Label names the source for people: the run directory, campaign and end
// time where known.
func (s *Source) Label() string {
	label := s.Path
	if s.Run != nil && s.Run.Dir != "" {
		label = s.Run.Dir
	}
	if s.Run != nil && s.Run.Campaign != "" {
		label += " (campaign " + s.Run.Campaign
		if w := s.Run.When(); !w.IsZero() {
			label += ", " + w.UTC().Format(time.RFC3339)
		}
		label += ")"
	} else if w := s.Run.When(); !w.IsZero() {
		label += " (" + w.UTC().Format(time.RFC3339) + ")"
	}
	return label
}

// Measurement is one target's envelope, judged by the objectives of the
// run that measured it.
type Measurement struct {
	Target           reports.EnvelopeTarget
	Objectives       reports.Objectives
	StagesMixLengths bool
	Source           *Source
}

// Superseded is an older measurement of a target that a newer one
// replaced.
type Superseded struct {
	Target string  `json:"target"`
	Source *Source `json:"source"`
	// By is the source whose measurement is used instead.
	By *Source `json:"by"`
}

// Fleet is the targets to route between: for each target name, the newest
// measurement among the envelopes given.
type Fleet struct {
	// Targets are sorted by name.
	Targets []Measurement
	// Sources are the envelopes given, in order.
	Sources []*Source
	// Superseded lists the measurements set aside for newer ones.
	Superseded []Superseded
}

// Merge makes a fleet of envelopes from several runs (different days,
// campaigns): a target measured in more than one keeps the newest
// measurement, by its run's end (else start) time; between runs of equal or
// unknown time the later input wins. It refuses an input without an
// envelope.
func Merge(inputs ...Input) (*Fleet, error) {
	f := &Fleet{}
	newest := map[string]int{} // target -> index in f.Targets
	for _, in := range inputs {
		env := in.Envelope
		if env == nil {
			return nil, fmt.Errorf("%s: no envelope", in.Path)
		}
		src := &Source{Path: in.Path, Run: env.Run, Schema: env.Schema, UpgradedFrom: env.UpgradedFrom, Status: env.Status}
		f.Sources = append(f.Sources, src)
		for _, et := range env.Targets {
			m := Measurement{Target: et, Objectives: env.Objectives, StagesMixLengths: env.StagesMixLengths, Source: src}
			i, seen := newest[et.Target]
			if !seen {
				newest[et.Target] = len(f.Targets)
				f.Targets = append(f.Targets, m)
				continue
			}
			old := f.Targets[i]
			if src.Run.When().Before(old.Source.Run.When()) {
				f.Superseded = append(f.Superseded, Superseded{Target: et.Target, Source: src, By: old.Source})
				continue
			}
			f.Superseded = append(f.Superseded, Superseded{Target: et.Target, Source: old.Source, By: src})
			f.Targets[i] = m
		}
	}
	slices.SortFunc(f.Targets, func(a, b Measurement) int { return cmp.Compare(a.Target.Target, b.Target.Target) })
	return f, nil
}
