package reports

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/needlestorm/needlestorm/probes"
	"github.com/needlestorm/needlestorm/run"
)

// SummarySchema names the version of the summary.json format.
const SummarySchema = "needlestorm.summary/v1"

// Stats are the figures of a group of non-warm-up records. See the package
// documentation for how rate, percentiles and goodput are defined.
type Stats struct {
	Requests int `json:"requests"`
	// Rate is requests per second (0 for groups spanning several stages).
	Rate     float64 `json:"rate"`
	Correct  int     `json:"correct"`
	Accuracy float64 `json:"accuracy"`
	// AccuracyCI is the Wilson 95% interval of Accuracy.
	AccuracyCI [2]float64 `json:"accuracy_ci95"`
	// Recall is the mean recall (RULER's match-all).
	Recall float64 `json:"recall"`
	// AnyMatch is the share of answers holding at least one expected value.
	AnyMatch float64 `json:"any"`
	// PromptTokens are the prompt tokens the server counted, over the
	// successful requests whose usage gave a count; CachedTokens how many
	// of them the server says it served from its prefix cache, and
	// CachedShare their share (0 when PromptTokens is 0).
	PromptTokens int     `json:"prompt_tokens"`
	CachedTokens int     `json:"cached_tokens"`
	CachedShare  float64 `json:"cached_share"`

	// Canceled counts requests needlestorm itself canceled (error class
	// canceled: an interrupt or an abort of the run), shown apart and left
	// out of every other figure but the rate sent and the cost: they say
	// nothing about the target.
	Canceled     int            `json:"canceled,omitempty"`
	Nulls        int            `json:"nulls"`
	Errors       int            `json:"errors"`
	ErrorRate    float64        `json:"error_rate"`
	ErrorClasses map[string]int `json:"errors_by_class,omitempty"`
	Attribution  map[string]int `json:"attribution"`
	TTFT         Quantiles      `json:"ttft"`
	TPOT         Quantiles      `json:"tpot"`
	ChunkGap     Quantiles      `json:"chunk_gap"`
	E2E          Quantiles      `json:"e2e"`
	// ITLToken are the requests' inter-token latency per token
	// (run.Record.ITLPerToken); ChunkGap is per chunk. TokensPerChunk is
	// the mean output tokens per chunk of those requests.
	ITLToken       Quantiles `json:"itl_per_token"`
	TokensPerChunk float64   `json:"tokens_per_chunk,omitempty"`
	// Good counts successful requests meeting every latency objective;
	// CorrectGood those that were also answered right.
	Good           int     `json:"good"`
	Goodput        float64 `json:"goodput"`
	CorrectGood    int     `json:"correct_good"`
	CorrectGoodput float64 `json:"correct_goodput"`
	// Cost is nil (null in JSON, "-" in text) when the target has no
	// price: the cost is unknown, not zero.
	Cost *Cost `json:"cost"`
}

// Cost is what a group of requests cost.
type Cost struct {
	Currency   string  `json:"currency,omitempty"`
	Total      float64 `json:"total"`
	PerRequest float64 `json:"per_request"`
	// PerCorrect is nil when no answer was correct.
	PerCorrect *float64 `json:"per_correct"`
}

// Cell is one (target, stage, length, depth) group.
type Cell struct {
	Target     string  `json:"target"`
	Model      string  `json:"model,omitempty"`
	Stage      int     `json:"stage"`
	StageLabel string  `json:"stage_label"`
	Length     int     `json:"length"`
	Depth      float64 `json:"depth"`
	Stats
}

// Point is one (target, stage, length) group, over all depths: one point
// of the envelope, judged against the objectives.
type Point struct {
	Target     string `json:"target"`
	Model      string `json:"model,omitempty"`
	Stage      int    `json:"stage"`
	StageLabel string `json:"stage_label"`
	Length     int    `json:"length"`
	// StageRate is the target's whole rate in the stage, over all lengths:
	// the load this point was measured under, and its x in the envelope.
	StageRate float64 `json:"stage_rate"`
	// AskedRate, SentRate and CompletedRate are the stage's (StageInfo):
	// what it asked for, what the client sent, what the server completed.
	// ClientBottleneck is the stage's flag: the client fell behind, so the
	// point does not count for the envelope.
	AskedRate        float64 `json:"asked_rate"`
	SentRate         float64 `json:"sent_rate"`
	CompletedRate    float64 `json:"completed_rate"`
	ClientBottleneck bool    `json:"client_bottleneck,omitempty"`
	Stats
	Pass    bool     `json:"pass"`
	Reasons []string `json:"reasons,omitempty"`
	// Unresolved says why the point's verdict cannot be trusted (the
	// client was the bottleneck, too few requests for a percentile): the
	// envelope counts it neither as held nor as failed, and stops there.
	Unresolved []string `json:"unresolved,omitempty"`
}

// Truncation sums up what servers dropped from one target's prompts.
type Truncation struct {
	// Wrong is the number of wrong answers attributed server_truncated.
	Wrong int `json:"wrong"`
	// Cut counts them by the end that was cut: head, tail, both, unknown.
	Cut map[string]int `json:"cut,omitempty"`
	// NeedleLost counts those whose needle lay in the dropped part.
	NeedleLost int `json:"needle_lost"`
	// CorrectAnyway counts correct answers to prompts that were truncated.
	CorrectAnyway int `json:"correct_anyway"`
}

// ConsistencySummary sums up agreement over repeats for one target.
type ConsistencySummary struct {
	// RepeatsAsked is true when the run asked for each case to be sent
	// several times (corpus repeats above 1). Otherwise a case answered
	// more than once was sent again only because stages cycle through the
	// cases: its answers still show how consistent the model is, across
	// stages (and loads) rather than over repeats.
	RepeatsAsked bool `json:"repeats_asked"`
	// Label names what was measured, for people: "consistency over
	// repeats" or "answers to the same case across stages".
	Label string `json:"label"`
	// Cases is the number of Cases answered more than once.
	Cases int `json:"cases"`
	// MeanAgreement and MeanDistinct average over those Cases. Answers
	// are compared on the values they give, not their wording (see
	// probes.AnswerValues).
	MeanAgreement float64 `json:"mean_agreement"`
	MeanDistinct  float64 `json:"mean_distinct"`
	// Least are up to five least consistent Cases.
	Least []probes.Consistency `json:"least,omitempty"`
}

// TargetSummary is one target over the whole run.
type TargetSummary struct {
	Target string `json:"target"`
	Model  string `json:"model,omitempty"`
	Stats
	Warmup int `json:"warmup"`
	// Overhead is the measured chat-template overhead in tokens.
	Overhead      int  `json:"template_overhead"`
	OverheadKnown bool `json:"template_overhead_known"`
	// CutEnd is the end of a prompt this target's server drops (head or
	// tail), learned from canaries; empty when not seen.
	CutEnd string `json:"cut_end,omitempty"`
	// CacheWarning is set when a large share of the prompt tokens was
	// served from the server's prefix cache in a run that did not ask for
	// a shared prefix: its latency figures are then optimistic.
	CacheWarning string             `json:"cache_warning,omitempty"`
	Truncation   Truncation         `json:"truncation"`
	Consistency  ConsistencySummary `json:"consistency"`
	Stages       []StageInfo        `json:"stages"`
	// Spend is what every record of this target cost, warm-up included
	// (Cost covers the measured requests only); nil without a price.
	Spend *float64 `json:"spend"`
	// Steps are the target's stages per length in the order they ran, set
	// when each stage held one length (as the steps of a rate search do).
	Steps []Step `json:"steps,omitempty"`
	// NotSent are the lengths the corpus planned that no measured request
	// of this target had (see planned.go).
	NotSent []int `json:"planned_not_sent,omitempty"`
}

// Step is one stage at one length: a step of a rate search.
type Step struct {
	Stage      int      `json:"stage"`
	StageLabel string   `json:"stage_label"`
	Length     int      `json:"length"`
	Rate       float64  `json:"rate"`
	Requests   int      `json:"requests"`
	Pass       bool     `json:"pass"`
	Reasons    []string `json:"reasons,omitempty"`
	// Unresolved is the point's (Point.Unresolved).
	Unresolved []string `json:"unresolved,omitempty"`
	// Phase (ramp, bisect, ...) and EndedEarly come from the search's own
	// results in the manifest, when the run was an envelope search.
	Phase      string `json:"phase,omitempty"`
	EndedEarly bool   `json:"ended_early,omitempty"`
}

// RunInfo describes the run a summary was built from.
type RunInfo struct {
	Dir       string    `json:"dir,omitempty"`
	Tool      string    `json:"tool,omitempty"`
	Version   string    `json:"version,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	// Records is the number of records read; Warmup how many of them were
	// warm-up.
	Records int `json:"records"`
	Warmup  int `json:"warmup"`
	// Missing is how many fewer records were read than the manifest says
	// were written (records.jsonl was cut or replaced); the status is then
	// StatusIncomplete, whatever the manifest says, and Note says so.
	Missing int64 `json:"records_missing,omitempty"`
	// Complete is false for an interrupted, failed or still running run;
	// Note then says what the figures cover.
	Complete bool   `json:"complete"`
	Note     string `json:"note,omitempty"`
	// Corpus is the corpus recipe the manifest recorded, so that a
	// summary.json alone tells what was measured (compare checks it).
	Corpus json.RawMessage `json:"corpus,omitempty"`
}

// Summary is everything a report shows.
type Summary struct {
	Schema     string          `json:"schema"`
	Run        RunInfo         `json:"run"`
	Objectives Objectives      `json:"objectives"`
	Targets    []TargetSummary `json:"targets"`
	Envelope   *Envelope       `json:"envelope"`
	Points     []Point         `json:"points"`
	Cells      []Cell          `json:"cells"`
	// Currency labels every amount; Spend is what the whole run cost,
	// warm-up included (nil without prices).
	Currency string   `json:"currency,omitempty"`
	Spend    *float64 `json:"spend"`
	// Requirement, Choice and Candidates answer a stated requirement:
	// Choice is the best covering target (nil when none covers),
	// Candidates every target, covering ones first, best first. Answer
	// says it in one line; RankedBy says how covering targets were ranked.
	Requirement *Requirement `json:"requirement,omitempty"`
	Choice      *Candidate   `json:"choice,omitempty"`
	Candidates  []Candidate  `json:"candidates,omitempty"`
	Answer      string       `json:"answer,omitempty"`
	RankedBy    string       `json:"ranked_by,omitempty"`
	// Sections are the parts other packages answered (Options.Sections).
	Sections []Section `json:"sections,omitempty"`
	// Files are the outputs written, by name, when Write made them.
	Files map[string]string `json:"files,omitempty"`

	// TaskTypes are the figures per target and task type of the user's
	// own dataset; AB compares every pair of targets on the cases both
	// answered. Both are empty for a run without dataset cases.
	TaskTypes []TaskTypeSummary `json:"task_types,omitempty"`
	AB        []ABPair          `json:"ab,omitempty"`
	// ServerMetrics are the targets' own metrics per stage, from the run's
	// server_metrics.jsonl (servermetrics.go; empty without one).
	ServerMetrics []ServerMetricsStage `json:"server_metrics,omitempty"`
	// DatasetPoints are the scored dataset requests per (target, stage),
	// judged against the objectives (absolute accuracy threshold): what
	// the verdict gates the user's own cases on. Length is the longest
	// prompt among them. They are not part of Points, the cells or the
	// envelope, which are the needles'.
	DatasetPoints []Point `json:"dataset_points,omitempty"`
	// Misses are why each target's model missed (see MissSplit); empty
	// when no model missed.
	Misses []MissSplit `json:"misses,omitempty"`
	// Tasks are each built-in task's accuracy per length when the run
	// mixed several (see TaskAccuracy); empty otherwise.
	Tasks []TaskAccuracy `json:"tasks,omitempty"`

	records       []scored
	serverSamples []run.ServerSample
}

// scored is one record with its report-time assessment.
type scored struct {
	rec  *run.Record
	a    probes.Assessment
	good bool
	// cost is what the request cost, when priced is set.
	cost   float64
	priced bool
}

type stageKey struct {
	target string
	stage  int
}

type pointKey struct {
	stageKey
	length int
}

type cellKey struct {
	pointKey
	depth float64
}

// addSpend sets what each priced target, and the run, actually cost,
// warm-up included.
func addSpend(s *Summary, opts Options) {
	spend := map[string]float64{}
	priced := map[string]bool{}
	for _, sc := range s.records {
		if sc.priced {
			spend[sc.rec.Target] += sc.cost
			priced[sc.rec.Target] = true
		}
	}
	var total float64
	for i := range s.Targets {
		t := s.Targets[i].Target
		if !priced[t] {
			continue
		}
		v := spend[t]
		s.Targets[i].Spend = &v
		total += v
	}
	if len(priced) > 0 {
		s.Currency, s.Spend = opts.Prices.Currency, &total
	}
}

// stepsOf returns a target's (stage, length) points in the order the
// stages ran, when every stage held one length (the shape of a rate
// search); nil otherwise. Points must be judged.
func stepsOf(points []Point, target string) []Step {
	var steps []Step
	lengths := map[int]int{}
	for _, p := range points {
		if p.Target != target {
			continue
		}
		if n, ok := lengths[p.Stage]; ok && n != p.Length {
			return nil
		}
		lengths[p.Stage] = p.Length
		steps = append(steps, Step{Stage: p.Stage, StageLabel: p.StageLabel, Length: p.Length, Rate: p.StageRate, Requests: p.Requests, Pass: p.Pass, Reasons: p.Reasons, Unresolved: p.Unresolved})
	}
	if len(steps) < 2 {
		return nil
	}
	slices.SortFunc(steps, func(a, b Step) int { return cmp.Or(cmp.Compare(a.Length, b.Length), cmp.Compare(a.Stage, b.Stage)) })
	return steps
}

// StatusIncomplete is the status of a run whose records.jsonl holds
// fewer records than its manifest says were written.
const StatusIncomplete = "incomplete"

// checkRecordCount compares the records read with the count the manifest
// gives: fewer means records were lost, and the summary must not say the
// run is complete. A run still running may be ahead of its manifest.
func checkRecordCount(ri *RunInfo, m *run.Manifest, read int) {
	if m == nil || m.Status == run.StatusRunning || m.Records <= int64(read) {
		return
	}
	ri.Missing = m.Records - int64(read)
	ri.Status, ri.Complete = StatusIncomplete, false
	ri.Note = joinNotes(fmt.Sprintf("records.jsonl holds %d records but the manifest says %d were written: %d are missing (the file was cut or replaced), and the figures cover only the %d read",
		read, m.Records, ri.Missing, read), ri.Note)
}

func runInfo(m *run.Manifest) RunInfo {
	if m == nil {
		return RunInfo{Status: "unknown", Note: "no manifest: what the run was asked to do is unknown"}
	}
	ri := RunInfo{Tool: m.Tool, Version: m.Version, StartedAt: m.StartedAt, EndedAt: m.EndedAt, Status: m.Status, Reason: m.Reason, Corpus: m.Corpus}
	ri.Complete = m.Status == run.StatusComplete
	switch m.Status {
	case run.StatusComplete:
	case run.StatusInterrupted:
		ri.Note = "this run was interrupted"
	case run.StatusFailed:
		ri.Note = "this run failed"
	case run.StatusRunning:
		ri.Note = "this run had not finished when the report was made (still running, or killed without a chance to record it)"
	default:
		ri.Note = fmt.Sprintf("this run's status is %q", m.Status)
	}
	if ri.Note != "" {
		if m.Reason != "" {
			ri.Note += " (" + m.Reason + ")"
		}
		ri.Note += "; the figures cover only the requests recorded before it stopped"
	}
	if note, partial := shardNote(m); note != "" {
		ri.Note = joinNotes(ri.Note, note)
		ri.Complete = ri.Complete && !partial
	}
	return ri
}

func observation(r *run.Record, c probes.Calibration) probes.Observation {
	return probes.Observation{
		Expected:         r.Expected,
		CanaryHead:       r.CanaryHead,
		CanaryTail:       r.CanaryTail,
		NeedleTokenIndex: r.NeedleTokenIndex,
		Matchers:         r.Matchers,
		Open:             r.Open(),
		Task:             r.Task,
		ResponseFacts: probes.ResponseFacts{
			Answer:             r.Answer,
			FinishReason:       r.FinishReason,
			ErrorClass:         r.ErrorClass,
			Error:              r.Error,
			Status:             r.Status,
			PromptTokensClient: r.PromptTokensClient,
			PromptTokensServer: r.PromptTokensServer,
			Calibration:        c,
		},
	}
}

// meetsLatency reports whether one successful request is within every
// latency objective's bound (see the package documentation).
func meetsLatency(r *run.Record, objs []LatencyObjective) bool {
	if r.ErrorClass != "" {
		return false
	}
	for _, o := range objs {
		var v time.Duration
		switch o.Metric {
		case MetricTTFT:
			if r.TTFT <= 0 {
				return false
			}
			v = r.TTFT.Duration()
		case MetricE2E:
			if r.E2E <= 0 {
				return false
			}
			v = r.E2E.Duration()
		case MetricTPOT:
			v = r.TPOT.Duration()
		case MetricChunkGap:
			for _, g := range r.ChunkGaps {
				v = max(v, g.Duration())
			}
		}
		if v.Seconds() > o.Max {
			return false
		}
	}
	return true
}

// computeStats aggregates a group. perRequest is the stage's rate divided by
// its request count (0 for groups across stages).
func computeStats(group []*scored, perRequest float64, opts Options, target string) Stats {
	t := statsTally{st: Stats{Attribution: map[string]int{}}}
	for _, sc := range group {
		if sc.rec.ErrorClass == run.ErrCanceled {
			t.st.Canceled++
			t.cost += sc.cost
			continue
		}
		t.st.Requests++
		t.add(sc)
	}
	st := t.figures(perRequest)
	if _, priced := opts.Prices.lookup(target); priced && st.Requests > 0 {
		st.Cost = groupCost(t.cost, st, opts.Prices.Currency)
	}
	return st
}

// statsTally sums a group's records as computeStats reads them: counts in
// st, sums of recall, matches and cost, and the successful requests'
// latencies.
type statsTally struct {
	st                     Stats
	ttft, tpot, gaps, e2e  []time.Duration
	itl                    []time.Duration
	tokens, chunks         int
	recall, anyMatch, cost float64
}

// add counts one record: its verdict, tokens and cost always; its error
// class if it failed, otherwise whether it was good and its latencies.
func (t *statsTally) add(sc *scored) {
	st, r := &t.st, sc.rec
	if r.ErrorClass == "" && r.PromptTokensServer > 0 {
		st.PromptTokens += r.PromptTokensServer
		st.CachedTokens += min(max(r.CachedTokens, 0), r.PromptTokensServer)
	}
	st.Attribution[sc.a.Attribution]++
	t.recall += sc.a.Recall
	if sc.a.Any {
		t.anyMatch++
	}
	if sc.a.Correct {
		st.Correct++
	}
	if sc.a.Null {
		st.Nulls++
	}
	t.cost += sc.cost
	if r.ErrorClass != "" {
		st.Errors++
		if st.ErrorClasses == nil {
			st.ErrorClasses = map[string]int{}
		}
		st.ErrorClasses[r.ErrorClass]++
		return
	}
	if sc.good {
		st.Good++
		if sc.a.Correct {
			st.CorrectGood++
		}
	}
	if r.TTFT > 0 {
		t.ttft = append(t.ttft, r.TTFT.Duration())
	}
	if r.TPOT > 0 {
		t.tpot = append(t.tpot, r.TPOT.Duration())
	}
	if r.E2E > 0 {
		t.e2e = append(t.e2e, r.E2E.Duration())
	}
	for _, g := range r.ChunkGaps {
		t.gaps = append(t.gaps, g.Duration())
	}
	if d, ok := r.ITLPerToken(); ok {
		t.itl = append(t.itl, d)
		t.tokens += r.OutputTokens
		t.chunks += r.Chunks
	}
}

// figures turns the sums into shares, the accuracy interval, percentiles
// and rates.
func (t *statsTally) figures(perRequest float64) Stats {
	st := t.st
	if st.PromptTokens > 0 {
		st.CachedShare = float64(st.CachedTokens) / float64(st.PromptTokens)
	}
	if n := float64(st.Requests); n > 0 {
		st.Accuracy = float64(st.Correct) / n
		st.Recall = t.recall / n
		st.AnyMatch = t.anyMatch / n
		st.ErrorRate = float64(st.Errors) / n
	}
	lo, hi := Wilson(st.Correct, st.Requests)
	st.AccuracyCI = [2]float64{lo, hi}
	st.TTFT, st.TPOT, st.ChunkGap, st.E2E = quantilesOf(t.ttft), quantilesOf(t.tpot), quantilesOf(t.gaps), quantilesOf(t.e2e)
	st.ITLToken = quantilesOf(t.itl)
	if t.chunks > 0 {
		st.TokensPerChunk = float64(t.tokens) / float64(t.chunks)
	}
	st.Rate = perRequest * float64(st.Requests+st.Canceled)
	st.Goodput = perRequest * float64(st.Good)
	st.CorrectGoodput = perRequest * float64(st.CorrectGood)
	return st
}

// groupCost is what a priced group of at least one request cost in all,
// per request and per correct answer.
func groupCost(total float64, st Stats, currency string) *Cost {
	c := &Cost{Currency: currency, Total: total, PerRequest: total / float64(st.Requests)}
	if st.Correct > 0 {
		pc := total / float64(st.Correct)
		c.PerCorrect = &pc
	}
	return c
}

func summarizeConsistency(cs []probes.Consistency, repeatsAsked bool) ConsistencySummary {
	out := ConsistencySummary{RepeatsAsked: repeatsAsked, Label: LabelAcrossStages}
	if repeatsAsked {
		out.Label = LabelRepeats
	}
	var repeated []probes.Consistency
	for _, c := range cs {
		if c.Answers < 2 {
			continue
		}
		repeated = append(repeated, c)
		out.MeanAgreement += c.Agreement
		out.MeanDistinct += float64(c.Distinct)
	}
	out.Cases = len(repeated)
	if out.Cases == 0 {
		return out
	}
	out.MeanAgreement /= float64(out.Cases)
	out.MeanDistinct /= float64(out.Cases)
	slices.SortStableFunc(repeated, func(a, b probes.Consistency) int {
		return cmp.Or(cmp.Compare(a.Agreement, b.Agreement), cmp.Compare(b.Distinct, a.Distinct))
	})
	out.Least = repeated[:min(5, len(repeated))]
	return out
}

// learnCutEnd returns the end a target's server drops, as named by the
// canaries of its truncated prompts: the end named at least twice as often
// as the other, or "" when neither is. Canaries are noisy (a model can miss
// one it did see), so one stray vote does not decide.
func learnCutEnd(recs []scored, idx []int) string {
	head, tail := 0, 0
	for _, i := range idx {
		switch recs[i].a.Cut {
		case probes.CutHead:
			head++
		case probes.CutTail:
			tail++
		}
	}
	switch {
	case head > 2*tail:
		return probes.CutHead
	case tail > 2*head:
		return probes.CutTail
	}
	return ""
}

// Consistency labels (ConsistencySummary.Label).
const (
	LabelRepeats      = "consistency over repeats"
	LabelAcrossStages = "answers to the same case across stages"
)

// CacheWarnShare is the share of prompt tokens served from a server's
// prefix cache above which a run that did not ask for a shared prefix is
// warned that its latency figures are optimistic.
const CacheWarnShare = 0.10

// cacheWarning returns the warning for a target's figures, or "" when the
// cached share is within CacheWarnShare or the run shared its prefix on
// purpose.
func cacheWarning(st Stats, sharedPrefix bool) string {
	if sharedPrefix || st.CachedShare <= CacheWarnShare {
		return ""
	}
	return formatShare(st.CachedShare) + " of prompt tokens were served from the server's prefix cache: latency figures are optimistic"
}

// askedCorpus is what reports read from the manifest's corpus.
type askedCorpus struct {
	SharedPrefix bool `json:"shared_prefix"`
	Repeats      int  `json:"repeats"`
}

// askedCorpusOf reads the corpus a run asked for; zero when the manifest
// is missing or says nothing (no shared prefix, no repeats asked).
func askedCorpusOf(m *run.Manifest) askedCorpus {
	var c askedCorpus
	if m != nil && len(m.Corpus) > 0 {
		// A corpus that does not decode leaves the defaults: the report
		// still renders, and only these two labels depend on it.
		_ = json.Unmarshal(m.Corpus, &c)
	}
	return c
}

// canariesOf returns a record's canary values.
func canariesOf(r *run.Record) []string {
	var out []string
	for _, c := range []string{r.CanaryHead, r.CanaryTail} {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}
