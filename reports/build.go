package reports

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/probes"
	"github.com/needlestorm/needlestorm/run"
)

// Build scores and aggregates records. It re-attributes every record with
// each target's template overhead measured over the whole run: the report's
// verdicts (in records.csv, the figures and the wrong answers shown) are its
// own, and the Verdict written live in each record, with a provisional
// overhead, is left as it was. m may be nil.
//
// Build never changes records, and the same records give the same Summary.
// The Summary refers to the records rather than copying them: they must
// not be changed while it is in use.
func Build(m *run.Manifest, records []run.Record, opts Options) (*Summary, error) {
	opts, err := opts.resolved()
	if err != nil {
		return nil, err
	}
	s := &Summary{Schema: SummarySchema, Objectives: opts.Objectives, Run: runInfo(m)}
	s.Run.Records, s.Run.Warmup = len(records), countWarmup(records)
	checkRecordCount(&s.Run, m, len(records))

	t := newTally(records)
	t.calibrate(records, opts.Tolerance)
	s.records = t.assess(records, opts)
	t.group(s.records, opts.Objectives.SendLagLimit())

	s.Cells = t.cells(opts)
	s.Points = t.points(opts)
	s.DatasetPoints = t.datasetPoints(opts)
	s.Targets = t.targetSummaries(opts, askedCorpusOf(m))
	s.TaskTypes = taskTypeSummaries(s.records, t.stages, opts)
	s.AB = abPairs(s.records, t.targets)
	s.Misses = missSplits(s.records, t.targets, t.stages)
	s.Tasks = taskAccuracies(s.records, opts)
	judge(s, m, opts)
	answerRequirement(s, opts.Requirement)
	return s, nil
}

// resolved checks the options Build was given and fills in the requirement
// from the objectives when none was given on its own.
func (o Options) resolved() (Options, error) {
	if o.Objectives.Accuracy < 0 || o.Objectives.Accuracy > 1 {
		return o, fmt.Errorf("accuracy threshold %v: give a fraction between 0 and 1, such as 0.85", o.Objectives.Accuracy)
	}
	if o.Requirement == nil {
		o.Requirement = o.Objectives.Requirement
	}
	if o.Requirement != nil {
		if err := o.Requirement.Validate(); err != nil {
			return o, err
		}
	}
	return o, nil
}

// countWarmup is the number of warm-up records.
func countWarmup(records []run.Record) int {
	n := 0
	for i := range records {
		if records[i].Warmup {
			n++
		}
	}
	return n
}

// tally is what Build learns from the records before it summarises them.
// Each step fills in its own fields: newTally the targets, calibrate their
// calibration, group the groups and the stages.
type tally struct {
	// targets are the target names, sorted; byTarget the indices of each
	// one's records (warm-up included), in the order read.
	targets  []string
	byTarget map[string][]int
	cal      map[string]probes.Calibration

	// models is each target's model, from its first record that names one.
	models map[string]string
	stages stageInfos
	// byCell, byPoint and measured are the non-warm-up records per
	// (target, stage, length, depth), per (target, stage, length) and per
	// target, each in the order read.
	byCell   map[cellKey][]*scored
	byPoint  map[pointKey][]*scored
	measured map[string][]*scored
	// byDatasetStage are the scored dataset records per (target, stage).
	byDatasetStage map[stageKey][]*scored
}

func newTally(records []run.Record) *tally {
	t := &tally{byTarget: map[string][]int{}}
	for i := range records {
		t.byTarget[records[i].Target] = append(t.byTarget[records[i].Target], i)
	}
	for name := range t.byTarget {
		t.targets = append(t.targets, name)
	}
	slices.Sort(t.targets)
	return t
}

// calibrate measures each target's template overhead over all its
// records.
func (t *tally) calibrate(records []run.Record, tolerance int) {
	t.cal = make(map[string]probes.Calibration, len(t.targets))
	for _, name := range t.targets {
		samples := make([]probes.OverheadSample, 0, len(t.byTarget[name]))
		for _, i := range t.byTarget[name] {
			r := &records[i]
			samples = append(samples, probes.OverheadSample{Length: r.Length, Client: r.PromptTokensClient, Server: r.PromptTokensServer, OK: r.ErrorClass == ""})
		}
		c, _ := probes.MeasureOverhead(samples)
		c.Tolerance = tolerance
		t.cal[name] = c
	}
}

// assess scores every record against its target's calibration, then
// learns which end each target's server cuts and re-assesses the
// truncated prompts whose cut end was unknown.
func (t *tally) assess(records []run.Record, opts Options) []scored {
	out := make([]scored, len(records))
	for i := range records {
		out[i] = assessRecord(&records[i], t.cal[records[i].Target], opts)
	}
	t.learnCutEnds(out)
	return out
}

// assessRecord scores one record and prices it.
func assessRecord(r *run.Record, c probes.Calibration, opts Options) scored {
	sc := scored{rec: r, a: probes.Assess(observation(r, c)), good: meetsLatency(r, opts.Objectives.Latency)}
	if sc.a.Attribution == probes.AttrModelMissed {
		sc.a.Miss = r.Miss // found live from the prompt, which records do not hold
	}
	if price, ok := opts.Prices.lookup(r.Target); ok {
		sc.cost = price.cost(r.PromptTokensClient, r.PromptTokensServer, r.CachedTokens, r.OutputTokens, r.ErrorClass != "")
		sc.priced = true
	}
	return sc
}

// learnCutEnds: a server cuts prompts the same way every time, so where
// some answers' canaries show which end it drops, that names the end for
// truncated prompts whose answers do not.
func (t *tally) learnCutEnds(recs []scored) {
	for _, name := range t.targets {
		c := t.cal[name]
		if c.CutEnd = learnCutEnd(recs, t.byTarget[name]); c.CutEnd == "" {
			continue
		}
		t.cal[name] = c
		for _, i := range t.byTarget[name] {
			if recs[i].a.Cut == probes.CutUnknown {
				recs[i].a = probes.Assess(observation(recs[i].rec, c))
			}
		}
	}
}

// group sorts the non-warm-up records into cells, points and targets,
// measures each stage, and notes each target's model. Dataset records
// count for their target and stage, not for the needle cells and points.
func (t *tally) group(recs []scored, lagLimit time.Duration) {
	t.models = map[string]string{}
	t.stages = stageInfos{}
	t.byCell = map[cellKey][]*scored{}
	t.byPoint = map[pointKey][]*scored{}
	t.measured = map[string][]*scored{}
	t.byDatasetStage = map[stageKey][]*scored{}
	for i := range recs {
		sc := &recs[i]
		r := sc.rec
		if t.models[r.Target] == "" {
			t.models[r.Target] = r.Model
		}
		if r.Warmup {
			continue
		}
		t.stages.add(sc)
		if r.Open() {
			// An open-ended dataset case is neither right nor wrong: it
			// stays out of the cells' accuracy (see TaskTypes and AB).
			continue
		}
		t.measured[r.Target] = append(t.measured[r.Target], sc)
		if r.Task == corpus.TaskDataset {
			// The user's own cases have their own sections (TaskTypes,
			// AB, DatasetPoints); the cells, points and envelope are
			// the needles'.
			t.byDatasetStage[stageKey{r.Target, r.Stage}] = append(t.byDatasetStage[stageKey{r.Target, r.Stage}], sc)
			continue
		}
		pk := pointKey{stageKey{r.Target, r.Stage}, r.Length}
		ck := cellKey{pk, r.Depth}
		t.byCell[ck] = append(t.byCell[ck], sc)
		t.byPoint[pk] = append(t.byPoint[pk], sc)
	}
	t.stages.measureRates(lagLimit)
}

// cells returns the figures of every (target, stage, length, depth).
func (t *tally) cells(opts Options) []Cell {
	var out []Cell
	for k, group := range t.byCell {
		out = append(out, Cell{
			Target: k.target, Model: t.models[k.target], Stage: k.stage, StageLabel: t.stages[k.stageKey].info.Label,
			Length: k.length, Depth: k.depth,
			Stats: computeStats(group, t.stages.perRequest(k.stageKey), opts, k.target),
		})
	}
	slices.SortFunc(out, func(a, b Cell) int {
		return cmp.Or(cmp.Compare(a.Target, b.Target), cmp.Compare(a.Stage, b.Stage), cmp.Compare(a.Length, b.Length), cmp.Compare(a.Depth, b.Depth))
	})
	return out
}

// points returns the figures of every (target, stage, length), not yet
// judged.
func (t *tally) points(opts Options) []Point {
	var out []Point
	for k, group := range t.byPoint {
		st := &t.stages[k.stageKey].info
		out = append(out, Point{
			Target: k.target, Model: t.models[k.target], Stage: k.stage, StageLabel: st.Label,
			Length: k.length, StageRate: st.Rate, AskedRate: st.AskedRate, SentRate: st.SentRate, CompletedRate: st.CompletedRate,
			ClientBottleneck: st.ClientBottleneck,
			Stats:            computeStats(group, t.stages.perRequest(k.stageKey), opts, k.target),
		})
	}
	slices.SortFunc(out, func(a, b Point) int {
		return cmp.Or(cmp.Compare(a.Target, b.Target), cmp.Compare(a.Length, b.Length), cmp.Compare(a.StageRate, b.StageRate), cmp.Compare(a.Stage, b.Stage))
	})
	return out
}

// targetSummaries returns each target over the whole run, in name order,
// without the figures that need judged points (spend, steps).
func (t *tally) targetSummaries(opts Options, asked askedCorpus) []TargetSummary {
	var out []TargetSummary
	for _, name := range t.targets {
		group := t.measured[name]
		c := t.cal[name]
		ts := TargetSummary{
			Target: name, Model: t.models[name],
			Stats:         computeStats(group, 0, opts, name),
			Warmup:        len(t.byTarget[name]) - len(group),
			Overhead:      c.Overhead,
			OverheadKnown: c.OverheadKnown,
			CutEnd:        c.CutEnd,
			Truncation:    truncationOf(group),
			Consistency:   summarizeConsistency(probes.ConsistencyOf(caseAnswers(group)), asked.Repeats > 1),
			Stages:        t.stages.of(name),
		}
		ts.CacheWarning = cacheWarning(ts.Stats, asked.SharedPrefix)
		targetRates(&ts)
		out = append(out, ts)
	}
	return out
}

// truncationOf sums up what the server dropped from a group's prompts.
func truncationOf(group []*scored) Truncation {
	var tr Truncation
	for _, sc := range group {
		switch {
		case sc.a.Attribution == probes.AttrServerTruncated:
			tr.Wrong++
			if tr.Cut == nil {
				tr.Cut = map[string]int{}
			}
			tr.Cut[sc.a.Cut]++
			if sc.a.NeedleLost {
				tr.NeedleLost++
			}
		case sc.a.Correct && sc.a.Cut != probes.CutNone:
			tr.CorrectAnyway++
		}
	}
	return tr
}

// caseAnswers returns a group's answers by case, for consistency.
func caseAnswers(group []*scored) []probes.CaseAnswer {
	var out []probes.CaseAnswer
	for _, sc := range group {
		r := sc.rec
		if r.ErrorClass != "" {
			// A failed request (or one needlestorm canceled) gave no
			// answer to agree or disagree with.
			continue
		}
		out = append(out, probes.CaseAnswer{CaseID: r.CaseID, Answer: r.Answer, Expected: r.Expected, Canaries: canariesOf(r), Whole: r.Task == corpus.TaskDataset})
	}
	return out
}

// judge passes or fails every point against the objectives (and the
// search's own verdicts, when the run was a search), builds the envelope
// from them, and adds what needs judged points to the targets: spend and
// the steps of a search.
func judge(s *Summary, m *run.Manifest, opts Options) {
	judgePoints(s.Points, opts.Objectives)
	judgeDatasetPoints(s.DatasetPoints, opts.Objectives)
	markBottlenecks(s)
	markSmallSamples(s.Points, opts.Objectives)
	search := searchSteps(m)
	applySearchVerdicts(s.Points, search)
	s.Envelope = buildEnvelope(s, opts)
	addEvidence(s, m)
	addNotSent(s, m)
	addSpend(s, opts)
	for i := range s.Targets {
		ts := &s.Targets[i]
		ts.Steps = stepsOf(s.Points, ts.Target)
		for j := range ts.Steps {
			st := &ts.Steps[j]
			if r, ok := search[ts.Target][st.Stage]; ok {
				st.Phase, st.EndedEarly = r.Phase, r.EndedEarly
			}
		}
	}
}

// answerRequirement answers a stated requirement from the envelope:
// every target ranked, the best covering one chosen, the answer in words.
// Without a requirement it does nothing.
func answerRequirement(s *Summary, req *Requirement) {
	if req == nil {
		return
	}
	r := *req
	s.Requirement = &r
	s.Candidates, s.RankedBy = Choose(s.Envelope, r)
	if len(s.Candidates) > 0 && s.Candidates[0].Covers {
		s.Choice = &s.Candidates[0]
	}
	s.Answer = requirementAnswer(r, s.Candidates, s.RankedBy)
}
