package reports

import (
	"encoding/json"
	"fmt"
	"io"
)

// EnvelopeSchema names the version of the envelope.json format written.
// ReadEnvelope also reads EnvelopeSchemaV1.
const EnvelopeSchema = "needlestorm.envelope/v2"

// EnvelopeSchemaV1 is the first envelope format: no evidence (run, kind,
// base URL, prices, measured window), no ceiling and no request counts.
const EnvelopeSchemaV1 = "needlestorm.envelope/v1"

// Envelope is where each target holds every objective: the longest context
// it still reads right, and per length the highest rate it sustains.
type Envelope struct {
	Schema string `json:"schema"`
	// UpgradedFrom names the schema an envelope was read in when it was
	// older than EnvelopeSchema (see ReadEnvelope); empty otherwise.
	UpgradedFrom string `json:"upgraded_from,omitempty"`
	// Run says where the measurements come from; nil when the envelope was
	// built without a manifest or read from a v1 file.
	Run *EnvelopeRun `json:"run,omitempty"`
	// Status is the run's status; an envelope from an interrupted run
	// covers only what was measured.
	Status string `json:"status"`
	// Note is the run's note (RunInfo.Note): what the figures do not
	// cover, such as the missing shards of a merged run.
	Note       string     `json:"note,omitempty"`
	Objectives Objectives `json:"objectives"`
	// StagesMixLengths is true when some stage sent prompts of several
	// lengths: a point's Rate (and a length's MaxRate) is then the stage's
	// rate over all lengths, the load the latency was measured under, and
	// LengthRate the part of it at the point's own length.
	StagesMixLengths bool             `json:"stages_mix_lengths,omitempty"`
	Targets          []EnvelopeTarget `json:"targets"`
}

// MaxRateLabel names the max rate column: "max rate", or "max rate
// (stage, all lengths)" when stages mix lengths.
func (e *Envelope) MaxRateLabel() string {
	if e != nil && e.StagesMixLengths {
		return "max rate (stage, all lengths)"
	}
	return "max rate"
}

// MixNote explains the max rate of mixed-length stages in one line; ""
// when every stage held one length.
func (e *Envelope) MixNote() string {
	if e == nil || !e.StagesMixLengths {
		return ""
	}
	return "Stages mixed prompt lengths, so a max rate is the whole stage's rate over all lengths (latency depends on the total load); envelope.json gives each length's own share as length_rate."
}

// EnvelopeTarget is one target's envelope.
type EnvelopeTarget struct {
	Target string `json:"target"`
	Model  string `json:"model,omitempty"`
	// Kind (openai, anthropic or sim), BaseURL (user, password, query and
	// fragment removed) and APIKeyEnv (the NAME of the variable holding
	// the key, never the key) say how the target was reached; Prices and
	// Currency what it charges. All come from the run's manifest.
	Kind      string `json:"kind,omitempty"`
	BaseURL   string `json:"base_url,omitempty"`
	APIKeyEnv string `json:"api_key_env,omitempty"`
	Prices    *Price `json:"prices,omitempty"`
	Currency  string `json:"currency,omitempty"`
	// Window is the context window preflight measured, nil when unknown.
	Window *EnvelopeWindow `json:"context_window,omitempty"`
	// AccuracyThreshold is the absolute threshold applied (for a relative
	// objective, the fraction times BaselineAccuracy).
	AccuracyThreshold float64 `json:"accuracy_threshold"`
	// BaselineAccuracy is the target's accuracy at its shortest tested
	// length, set for a relative objective.
	BaselineAccuracy *float64 `json:"baseline_accuracy,omitempty"`
	// EffectiveContextLength is the longest tested length at which
	// accuracy, and accuracy at every shorter tested length, is at or
	// above the threshold; 0 when even the shortest fails. Accuracy per
	// length is taken at the lightest load that length was tested at.
	// It is never above Window: a longer tested length that read right
	// (a server truncating where the needle survived) does not count.
	EffectiveContextLength int `json:"effective_context_length"`
	// EffectiveContextRequests is the number of requests behind it: those
	// at the lightest load of every tested length up to it.
	EffectiveContextRequests int `json:"effective_context_requests"`
	// LimitedBy says what stopped the effective length from going further,
	// in words; Limit says it as one of the Limit* codes.
	LimitedBy string `json:"limited_by,omitempty"`
	// NotSent are the lengths the corpus planned that were never sent:
	// the effective context cannot speak for them.
	NotSent []int            `json:"planned_not_sent,omitempty"`
	Limit   string           `json:"limit,omitempty"`
	Lengths []EnvelopeLength `json:"lengths"`
	// TaskTypes are the target's figures on the task types of the user's
	// dataset (see EnvelopeTaskType); empty when it answered none.
	TaskTypes []EnvelopeTaskType `json:"task_types,omitempty"`
}

// EnvelopeLength is one tested length of one target.
type EnvelopeLength struct {
	Length int `json:"length"`
	// Accuracy at the lightest load this length was tested at, with its
	// Wilson 95% interval and the requests behind it.
	Accuracy   float64    `json:"accuracy"`
	AccuracyCI [2]float64 `json:"accuracy_ci95"`
	Requests   int        `json:"requests"`
	// MaxRate is the highest tested rate that held every objective with
	// accuracy at or above the threshold, counting only rates below which
	// every tested rate held too; nil when none did.
	MaxRate *float64 `json:"max_rate"`
	// Ceiling is true when MaxRate is the highest rate tried: every tested
	// rate held, so the real limit is higher and MaxRate a lower bound.
	Ceiling bool `json:"ceiling"`
	// MaxRateRequests is the number of requests behind MaxRate (At's).
	MaxRateRequests int `json:"max_rate_requests"`
	// At is the point at MaxRate.
	At *EnvelopePoint `json:"at,omitempty"`
	// Unresolved says which rate stopped the search for MaxRate without
	// failing, and why (the client was the bottleneck, too few requests).
	Unresolved string `json:"unresolved,omitempty"`
	// Points are every tested rate, lightest first.
	Points []EnvelopePoint `json:"points"`
}

// EnvelopePoint is one tested (length, rate).
type EnvelopePoint struct {
	Stage      int    `json:"stage"`
	StageLabel string `json:"stage_label"`
	// Rate is the stage's rate over all lengths: the load coordinate.
	Rate float64 `json:"rate"`
	// LengthRate is the achieved rate of this point's length alone: Rate
	// when the stage held one length, its share of Rate otherwise.
	LengthRate float64 `json:"length_rate"`
	// CompletedRate is the stage's completion rate (StageInfo), the
	// achieved rate charts plot against.
	CompletedRate float64  `json:"completed_rate,omitempty"`
	Requests      int      `json:"requests"`
	Pass          bool     `json:"pass"`
	Reasons       []string `json:"reasons,omitempty"`
	// Unresolved is the point's (Point.Unresolved): why it does not count.
	Unresolved []string   `json:"unresolved,omitempty"`
	Accuracy   float64    `json:"accuracy"`
	AccuracyCI [2]float64 `json:"accuracy_ci95"`
	ErrorRate  float64    `json:"error_rate"`
	TTFT       Quantiles  `json:"ttft"`
	TPOT       Quantiles  `json:"tpot"`
	ChunkGap   Quantiles  `json:"chunk_gap"`
	E2E        Quantiles  `json:"e2e"`
	Goodput    float64    `json:"goodput"`
	// CorrectGoodput is requests per second meeting every latency
	// objective and answered right.
	CorrectGoodput float64 `json:"correct_goodput"`
	// Cost is nil (null in JSON) when the target has no price.
	Cost *Cost `json:"cost"`
	// Tokens are the mean tokens of this point's successful requests; nil
	// when none succeeded or the envelope was read from a v1 file.
	Tokens *TokensPerRequest `json:"tokens_per_request,omitempty"`
}

// threshold is one target's accuracy threshold.
type threshold struct {
	abs      float64
	baseline *float64
}

// lightest returns, for each (target, length), the index of the point with
// the lowest stage rate. points must be sorted by target, length, rate.
func lightest(points []Point) map[pointKey]int {
	out := map[pointKey]int{}
	for i, p := range points {
		k := pointKey{stageKey{p.Target, 0}, p.Length}
		if _, ok := out[k]; !ok {
			out[k] = i
		}
	}
	return out
}

func thresholds(points []Point, obj Objectives) map[string]threshold {
	out := map[string]threshold{}
	light := lightest(points)
	for _, p := range points { // sorted: the first per target is its shortest length
		if _, ok := out[p.Target]; ok {
			continue
		}
		th := threshold{abs: obj.AccuracyThreshold()}
		if obj.AccuracyRelative {
			base := points[light[pointKey{stageKey{p.Target, 0}, p.Length}]].Accuracy
			th.baseline = &base
			th.abs = obj.AccuracyThreshold() * base
		}
		out[p.Target] = th
	}
	return out
}

// judgePoints sets Pass and Reasons on every point.
func judgePoints(points []Point, obj Objectives) {
	ths := thresholds(points, obj)
	for i := range points {
		p := &points[i]
		p.Reasons = checkPoint(p.Stats, obj, ths[p.Target])
		p.Pass = len(p.Reasons) == 0
	}
}

// checkPoint lists every objective a group missed, in words such as
// "ttft_p95 3.1s > 2s".
func checkPoint(st Stats, obj Objectives, th threshold) []string {
	if st.Requests == 0 {
		return []string{"no requests"}
	}
	var reasons []string
	for _, l := range obj.Latency {
		q := st.quantiles(l.Metric)
		if q.N == 0 {
			if st.Errors == st.Requests {
				reasons = append(reasons, l.Name()+" not observed: every request failed")
			}
			continue
		}
		if v := q.Get(l.Percentile); v > l.Max {
			reasons = append(reasons, fmt.Sprintf("%s %s > %s", l.Name(), formatSeconds(v), formatSeconds(l.Max)))
		}
	}
	if obj.ErrorRate != nil && st.ErrorRate > *obj.ErrorRate {
		reasons = append(reasons, fmt.Sprintf("error_rate %.3g > %.3g", st.ErrorRate, *obj.ErrorRate))
	}
	if st.Accuracy < th.abs {
		reasons = append(reasons, fmt.Sprintf("accuracy %.2f < %.2f", st.Accuracy, th.abs))
	}
	return reasons
}

func (st Stats) quantiles(metric string) Quantiles {
	switch metric {
	case MetricTTFT:
		return st.TTFT
	case MetricTPOT:
		return st.TPOT
	case MetricE2E:
		return st.E2E
	case MetricChunkGap:
		return st.ChunkGap
	}
	return Quantiles{}
}

func buildEnvelope(s *Summary, opts Options) *Envelope {
	env := &Envelope{Schema: EnvelopeSchema, Status: s.Run.Status, Note: s.Run.Note, Objectives: opts.Objectives, Targets: []EnvelopeTarget{}}
	ths := thresholds(s.Points, opts.Objectives)
	light := lightest(s.Points)
	env.StagesMixLengths = stagesMixLengths(s.Points)
	for _, ts := range s.Targets {
		th, ok := ths[ts.Target]
		if !ok {
			th = threshold{abs: opts.Objectives.AccuracyThreshold()}
		}
		et := EnvelopeTarget{Target: ts.Target, Model: ts.Model, AccuracyThreshold: th.abs, BaselineAccuracy: th.baseline, Lengths: []EnvelopeLength{}}
		for i, p := range s.Points {
			if p.Target != ts.Target {
				continue
			}
			k := pointKey{stageKey{p.Target, 0}, p.Length}
			if light[k] == i {
				et.Lengths = append(et.Lengths, EnvelopeLength{Length: p.Length, Accuracy: p.Accuracy, AccuracyCI: p.AccuracyCI, Requests: p.Requests, Points: []EnvelopePoint{}})
			}
			el := &et.Lengths[len(et.Lengths)-1]
			el.Points = append(el.Points, envelopePoint(p))
		}
		et.EffectiveContextLength, et.LimitedBy, et.Limit = et.EffectiveAt(th.abs)
		if len(et.Lengths) == 0 && hasTaskTypes(s, ts.Target) {
			et.LimitedBy = NoNeedleEnvelope
		}
		if th.baseline != nil && *th.baseline == 0 {
			et.LimitedBy = "no correct answer at the shortest length, so a relative threshold means nothing"
			et.EffectiveContextLength, et.Limit = 0, LimitAccuracy
		}
		for i := range et.Lengths {
			et.Lengths[i].setMaxRate()
		}
		et.EffectiveContextRequests = et.requestsUpTo(et.EffectiveContextLength)
		et.TaskTypes = envelopeTaskTypes(s, ts.Target, opts.Objectives.AccuracyThreshold())
		env.Targets = append(env.Targets, et)
	}
	return env
}

// NoNeedleEnvelope is the LimitedBy of a target whose measured cases were
// all the user's dataset's: it has no needle envelope to give.
const NoNeedleEnvelope = "no needle envelope: every case measured was from your dataset (see the task types)"

// hasTaskTypes reports whether the target answered dataset cases.
func hasTaskTypes(s *Summary, target string) bool {
	for _, t := range s.TaskTypes {
		if t.Target == target {
			return true
		}
	}
	return false
}

func envelopePoint(p Point) EnvelopePoint {
	return EnvelopePoint{
		Stage: p.Stage, StageLabel: p.StageLabel, Rate: p.StageRate, LengthRate: p.Rate, CompletedRate: p.CompletedRate, Requests: p.Requests,
		Pass: p.Pass, Reasons: p.Reasons, Unresolved: p.Unresolved,
		Accuracy: p.Accuracy, AccuracyCI: p.AccuracyCI, ErrorRate: p.ErrorRate,
		TTFT: p.TTFT, TPOT: p.TPOT, ChunkGap: p.ChunkGap, E2E: p.E2E,
		Goodput: p.Goodput, CorrectGoodput: p.CorrectGoodput, Cost: p.Cost,
	}
}

// stagesMixLengths reports whether any (target, stage) holds points of
// more than one length.
func stagesMixLengths(points []Point) bool {
	seen := map[stageKey]int{}
	for _, p := range points {
		k := stageKey{p.Target, p.Stage}
		if l, ok := seen[k]; ok && l != p.Length {
			return true
		}
		seen[k] = p.Length
	}
	return false
}

// EffectiveLength returns the longest of lengths (ascending) whose accuracy,
// and the accuracy at every shorter length, is at or above threshold, with
// a note on what stopped it. A pass at a longer length after a failure at a
// shorter one does not count. It returns 0 when the shortest length fails.
func EffectiveLength(lengths []int, accuracy []float64, threshold float64) (int, string) {
	eff := 0
	for i, l := range lengths {
		if accuracy[i] < threshold {
			return eff, fmt.Sprintf("accuracy %.2f < %.2f at length %d", accuracy[i], threshold, l)
		}
		eff = l
	}
	if len(lengths) == 0 {
		return 0, "no length tested"
	}
	return eff, "longest tested length"
}

// HighestPassing returns the index of the highest-rate point that passed
// with every lighter point passing too, or -1. An unresolved point (see
// Point.Unresolved) stops the scan like a failure: what lies above it is
// not known to hold. points must be sorted by rate, lightest first.
func HighestPassing(points []EnvelopePoint) int {
	best := -1
	for i, p := range points {
		if !p.Pass || len(p.Unresolved) > 0 {
			break
		}
		best = i
	}
	return best
}

// WriteEnvelope encodes the envelope as indented JSON.
func WriteEnvelope(w io.Writer, env *Envelope) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(env); err != nil {
		return fmt.Errorf("writing envelope: %w", err)
	}
	return nil
}
