package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/endpoint"
	"github.com/needlestorm/needlestorm/loadgen"
)

// TypicalAnswerTokens is the answer length the plan assumes for its typical
// figures: a needle answer is a value or a few, 10 to 30 tokens. The upper
// bound assumes every answer runs to max_tokens.
const TypicalAnswerTokens = 20

// Plan is what a campaign will send and spend, computed without sending
// anything. Targets run one after the other.
type Plan struct {
	Campaign string
	// Cases is the number of cases in the matrix and the dataset;
	// DatasetCases how many of them are the dataset's.
	Cases        int
	DatasetCases int
	Matrix       corpus.Matrix
	Search       bool
	// Targets are in campaign order.
	Targets []TargetPlan
	// Totals over the targets; CostCurrency is empty when no target is
	// priced. DurationKnown is false when one target's is unknown.
	Requests        int64
	RequestsKnown   bool
	InputTokens     int64
	OutputTokensMax int64
	CostMax         float64
	CostTypical     float64
	CostCurrency    string
	Duration        time.Duration
	DurationKnown   bool
	// Budget is the campaign's budget, checked by CheckBudget.
	MaxCostUSD  *float64
	MaxDuration time.Duration
}

// TargetPlan is the plan of one target.
type TargetPlan struct {
	Target string
	Kind   string
	Model  string
	// Requests is the number of requests (warm-up included); Count says
	// how it was found (loadgen.CountExact ... loadgen.CountUnknown: the
	// least certain stage's).
	Requests      int64
	Count         string
	RequestsKnown bool
	// InputTokens is the sum of the prompts' client token counts, exact for
	// Requests (the server adds its chat template's few tokens each).
	InputTokens int64
	// OutputTokensMax assumes every answer runs to max_tokens (an upper
	// bound); OutputTokensTypical assumes TypicalAnswerTokens (or the
	// simulator's padded answer length).
	OutputTokensMax     int64
	OutputTokensTypical int64
	MaxTokens           int
	// Priced is false when the target gives no prices (its costs are 0).
	Priced      bool
	Currency    string
	CostMax     float64
	CostTypical float64
	// Duration is the expected wall time; DurationKnown is false when a
	// stage's length cannot be known before the run.
	Duration      time.Duration
	DurationKnown bool
	Stages        []StagePlan
	// Notes say what the figures do not cover or what to expect.
	Notes []string
}

// StagePlan is one stage (or, for a search, one length's warm-up or its
// worst case): the engine's estimate, and the prompts' tokens.
type StagePlan struct {
	Label string
	loadgen.Estimate
	InputTokens int64
}

func lessCertain(a, b string) string {
	if slices.Index(loadgen.CountRank, b) > slices.Index(loadgen.CountRank, a) {
		return b
	}
	return a
}

// Plan computes, per target and without sending anything, the requests,
// input and output tokens, cost and duration the campaign asks for.
func (c *Campaign) Plan(ctx context.Context) (*Plan, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m := c.Matrix()
	specs, err := c.matrixSpecs(m)
	if err != nil {
		return nil, fmt.Errorf("the corpus matrix: %w", err)
	}
	ds := c.DatasetCases()
	if len(specs) == 0 && len(ds) == 0 {
		return nil, errors.New("the corpus matrix holds no cases: give corpus.lengths (or corpus.dataset)")
	}
	// The lengths in the order the dispatcher sends them (loadgen.Interleave).
	order := make([]corpus.Case, len(specs))
	for i, s := range specs {
		order[i] = corpus.Case{Length: s.Length, Depth: s.Depth}
	}
	order = loadgen.Interleave(order)
	lengths := make([]int, len(order))
	for i := range order {
		lengths[i] = order[i].Length
	}
	for _, dc := range ds {
		lengths = append(lengths, dc.PromptTokens)
	}
	p := &Plan{
		Campaign:      c.Name,
		Cases:         len(specs) + len(ds),
		DatasetCases:  len(ds),
		Matrix:        m,
		Search:        c.Load.Search != nil,
		RequestsKnown: true,
		DurationKnown: true,
		MaxCostUSD:    c.Budget.MaxCostUSD,
		MaxDuration:   c.Budget.MaxDuration.D(),
	}
	for _, t := range c.Targets() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var tp TargetPlan
		if p.Search {
			tp = c.planSearch(m)
		} else {
			tp = c.planStages(t, lengths)
		}
		tp.finish(t, m)
		stages := len(tp.Stages)
		if p.Search {
			stages = len(m.Lengths) * c.Search().WorstCase().Steps // at most
			if c.Search().Warmup > 0 {
				stages += len(m.Lengths)
			}
		}
		tp.Notes = append(tp.Notes, drainNote(t, stages))
		p.Targets = append(p.Targets, tp)
		p.Requests += tp.Requests
		p.RequestsKnown = p.RequestsKnown && tp.RequestsKnown
		p.InputTokens += tp.InputTokens
		p.OutputTokensMax += tp.OutputTokensMax
		if tp.Priced {
			p.CostMax += tp.CostMax
			p.CostTypical += tp.CostTypical
			p.CostCurrency = tp.Currency
		}
		p.Duration += tp.Duration
		p.DurationKnown = p.DurationKnown && tp.DurationKnown
	}
	return p, nil
}

// cycledTokens is the sum of the lengths of n requests cycling through the
// cases in order, as the dispatcher sends them in every stage.
func cycledTokens(lengths []int, n int64) int64 {
	if n <= 0 || len(lengths) == 0 {
		return 0
	}
	var sum int64
	for _, l := range lengths {
		sum += int64(l)
	}
	full, rem := n/int64(len(lengths)), n%int64(len(lengths))
	total := full * sum
	for _, l := range lengths[:rem] {
		total += int64(l)
	}
	return total
}

func (c *Campaign) planStages(t TargetSpec, lengths []int) TargetPlan {
	tp := TargetPlan{Count: loadgen.CountExact, RequestsKnown: true, DurationKnown: true}
	if c.RepeatsGiven() {
		n := len(lengths) * c.Repeats()
		tp.Notes = append(tp.Notes, fmt.Sprintf("repeats %d: every stage sends each of the %d %s %d %s (%d %s), for consistency over repeats",
			c.Repeats(), len(lengths), plural(len(lengths), "case"), c.Repeats(), plural(c.Repeats(), "time"), n, plural(n, "request")))
	}
	for _, st := range c.Schedule() {
		sp := planStage(st, t, lengths)
		tp.Stages = append(tp.Stages, sp)
		tp.Count = lessCertain(tp.Count, sp.Count)
		if sp.Count == loadgen.CountUnknown {
			tp.RequestsKnown = false
			tp.Notes = append(tp.Notes, fmt.Sprintf("stage %s: a closed-loop stage bounded by time only sends as many requests as the server answers; its count and cost are unknown before the run (give it requests: N to bound them)", sp.Label))
		} else if sp.Requests < int64(len(lengths)) && !st.Warmup {
			tp.Notes = append(tp.Notes, fmt.Sprintf("stage %s sends %d %s, fewer than the %d cases: the later cases are not sent in it", sp.Label, sp.Requests, plural(int(sp.Requests), "request"), len(lengths)))
		}
		tp.Requests += sp.Requests
		tp.InputTokens += sp.InputTokens
		tp.Duration += sp.Duration
		tp.DurationKnown = tp.DurationKnown && sp.DurationKnown
	}
	return tp
}

// planStage is one stage's estimate (the stage's own; for a closed-loop
// stage against a simulator, with the simulator's own estimate of its
// throughput) and its prompts' tokens.
func planStage(st loadgen.Stage, t TargetSpec, lengths []int) StagePlan {
	var throughput float64
	if !st.OpenLoop() && t.Sim != nil {
		throughput = t.Sim.Throughput(st.Concurrency, lengths, TypicalAnswerTokens)
	}
	e := st.Estimate(throughput)
	return StagePlan{Label: st.Name(), Estimate: e, InputTokens: cycledTokens(lengths, e.Requests)}
}

// planSearch is the search's worst case (loadgen's, the one the search
// itself is capped by) for every length: the warm-up, run before every
// length, then the most steps and requests the verdicts can lead to.
func (c *Campaign) planSearch(m corpus.Matrix) TargetPlan {
	s := c.Search()
	w := s.WorstCase()
	tp := TargetPlan{Count: loadgen.CountUpperBound, RequestsKnown: true, DurationKnown: true}
	steps := loadgen.Estimate{Requests: w.Requests - w.Warmup.Requests, Count: loadgen.CountUpperBound, Duration: w.Duration - w.Warmup.Duration, DurationKnown: true}
	for _, l := range m.Lengths {
		at := corpus.FormatLength(l)
		if s.Warmup > 0 {
			tp.Stages = append(tp.Stages, StagePlan{Label: "warmup at " + at, Estimate: w.Warmup, InputTokens: w.Warmup.Requests * int64(l)})
		}
		tp.Stages = append(tp.Stages, StagePlan{Label: fmt.Sprintf("search at %s: up to %d steps", at, w.Steps), Estimate: steps, InputTokens: steps.Requests * int64(l)})
	}
	for _, sp := range tp.Stages {
		tp.Requests += sp.Requests
		tp.InputTokens += sp.InputTokens
		tp.Duration += sp.Duration
	}
	warmup := ""
	if s.Warmup > 0 {
		warmup = fmt.Sprintf("a warm-up of %s at %s/s, then ", s.Warmup.Duration(), fmtFloat(s.StartRate))
	}
	tp.Notes = append(tp.Notes, fmt.Sprintf("search: an upper bound, the worst way the verdicts can lead it: per length %sup to %d steps (from %s/s, ×%s while they pass up to %s/s, ÷%s while they fail down to %s/s, then bisection to %s); a search that fails early sends far fewer",
		warmup, w.Steps, fmtFloat(s.StartRate), fmtFloat(s.Growth), fmtFloat(s.MaxRate), fmtFloat(s.Growth), fmtFloat(s.MinRate), strconv.FormatFloat(s.Resolution*100, 'g', 3, 64)+"%"))
	if s.MinStepRequests > 0 {
		tp.Notes = append(tp.Notes, fmt.Sprintf("search: every step sends at least %d requests (lengthened when its bounds give fewer), so that no latency percentile of the objectives rests on too few", s.MinStepRequests))
	}
	return tp
}

// finish fills the token, cost and note figures from the request counts.
func (tp *TargetPlan) finish(t TargetSpec, m corpus.Matrix) {
	tp.Target = t.Config.Name
	tp.Kind = t.Config.Kind
	tp.Model = t.Config.Model
	if t.IsSim() {
		tp.Kind = KindSim + " (" + t.SimProfile + ")"
		if tp.Model == "" {
			tp.Model = t.Sim.Model
		}
	}
	tp.MaxTokens = t.Config.WithDefaults().MaxTokens
	typical := TypicalAnswerTokens
	if t.IsSim() && t.Sim.OutputTokens > 0 {
		typical = t.Sim.OutputTokens
	}
	typical = min(typical, tp.MaxTokens)
	tp.OutputTokensMax = tp.Requests * int64(tp.MaxTokens)
	tp.OutputTokensTypical = tp.Requests * int64(typical)
	tp.Currency = t.Currency
	tp.Priced = t.Price.Input > 0 || t.Price.Output > 0
	if tp.Priced {
		tp.CostMax = (float64(tp.InputTokens)*t.Price.Input + float64(tp.OutputTokensMax)*t.Price.Output) / 1e6
		tp.CostTypical = (float64(tp.InputTokens)*t.Price.Input + float64(tp.OutputTokensTypical)*t.Price.Output) / 1e6
		if m.SharedPrefix && t.Price.Cached > 0 {
			tp.Notes = append(tp.Notes, "shared_prefix: cached input may be billed at the cached price; the estimate bills all input at the input price")
		}
	}
	if w := t.ContextWindow; w > 0 {
		var over []string
		for _, l := range m.Lengths {
			if l > w {
				over = append(over, corpus.FormatLength(l))
			}
		}
		if len(over) > 0 {
			what := "declared context window"
			if t.IsSim() {
				what = "simulator's context window"
			}
			lengths := "lengths " + strings.Join(over, ", ") + " are"
			if len(over) == 1 {
				lengths = "length " + over[0] + " is"
			}
			tp.Notes = append(tp.Notes, fmt.Sprintf("%s beyond the %s of %s tokens: expect rejections or silent truncation there",
				lengths, what, strconv.Itoa(w)))
		}
	}
}

// Write prints the plan as a table.
func (p *Plan) Write(w io.Writer) error {
	var b strings.Builder
	mode := "explicit stages"
	if p.Search {
		mode = "envelope search"
	}
	fmt.Fprintf(&b, "Plan for campaign %s: %d %s, %s, %s; nothing has been sent.\n",
		p.Campaign, len(p.Targets), plural(len(p.Targets), "target"), casesLine(p), mode)
	if len(p.Targets) > 1 {
		b.WriteString("Targets run one after the other.\n")
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 2, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tkind\trequests\tinput tokens\toutput tokens (typical / max)\test. cost (typical / max)\test. duration\t")
	for _, t := range p.Targets {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s / %s\t%s\t%s\t\n", t.Target, t.Kind, fmtCount(t.Requests, t.Count, t.RequestsKnown),
			fmtInt(t.InputTokens), fmtInt(t.OutputTokensTypical), fmtInt(t.OutputTokensMax), fmtCost(t.Priced, t.Currency, t.CostTypical, t.CostMax), fmtDur(t.Duration, t.DurationKnown))
	}
	if len(p.Targets) > 1 {
		cur := p.CostCurrency
		fmt.Fprintf(tw, "total\t\t%s\t%s\t- / %s\t%s\t%s\t\n", fmtCount(p.Requests, "", p.RequestsKnown), fmtInt(p.InputTokens), fmtInt(p.OutputTokensMax),
			fmtCost(cur != "", cur, p.CostTypical, p.CostMax), fmtDur(p.Duration, p.DurationKnown))
	}
	tw.Flush()
	for _, t := range p.Targets {
		fmt.Fprintf(&b, "\n%s (model %s, max_tokens %d):\n", t.Target, orDash(t.Model), t.MaxTokens)
		sw := tabwriter.NewWriter(&b, 2, 0, 2, ' ', 0)
		for _, s := range t.Stages {
			noun := "requests"
			if s.Requests == 1 && s.Count == loadgen.CountExact {
				noun = "request"
			}
			fmt.Fprintf(sw, "  %s\t%s %s\t%s input tokens\t%s\t\n", s.Label, fmtCount(s.Requests, s.Count, s.Count != loadgen.CountUnknown), noun, fmtInt(s.InputTokens), fmtDur(s.Duration, s.DurationKnown))
		}
		sw.Flush()
		for _, n := range t.Notes {
			fmt.Fprintf(&b, "  note: %s\n", n)
		}
	}
	b.WriteString("\nInput tokens are exact client counts of the prompts; servers add a few chat-template tokens per request.\n")
	b.WriteString("Output tokens and cost are shown for a typical needle answer and for every answer running to max_tokens (the bound the budget is checked against).\n")
	if p.MaxCostUSD != nil {
		fmt.Fprintf(&b, "Budget: at most $%.2f.\n", *p.MaxCostUSD)
	}
	if p.MaxDuration > 0 {
		fmt.Fprintf(&b, "Time budget: at most %s.\n", p.MaxDuration)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// CheckBudget refuses a plan whose estimate is over budget.max_cost_usd
// (checked against the upper bound, every answer max_tokens long) or whose
// expected duration is over budget.max_duration. A priced target whose
// request count cannot be known is refused too when a cost budget is set.
func (p *Plan) CheckBudget() error {
	var errs []error
	if p.MaxCostUSD != nil {
		var unknown []string
		for _, t := range p.Targets {
			if t.Priced && !t.RequestsKnown {
				unknown = append(unknown, t.Target)
			}
		}
		if len(unknown) > 0 {
			errs = append(errs, fmt.Errorf("cannot check budget.max_cost_usd $%.2f: the request count of %s is unknown before the run (a closed-loop stage bounded by time only); give that stage requests: N",
				*p.MaxCostUSD, orList(unknown)))
		} else if p.CostMax > *p.MaxCostUSD {
			ranked := slices.Clone(p.Targets)
			slices.SortStableFunc(ranked, func(a, b TargetPlan) int {
				switch {
				case a.CostMax > b.CostMax:
					return -1
				case a.CostMax < b.CostMax:
					return 1
				}
				return 0
			})
			var top []string
			for _, t := range ranked[:min(3, len(ranked))] {
				if t.CostMax > 0 {
					top = append(top, fmt.Sprintf("%s $%.2f", t.Target, t.CostMax))
				}
			}
			errs = append(errs, fmt.Errorf("the estimated cost $%.2f (upper bound: every answer max_tokens long; typical $%.2f) is over budget.max_cost_usd $%.2f; costliest: %s. Lower lengths, rates, durations or max_tokens, drop a target, or raise the budget",
				p.CostMax, p.CostTypical, *p.MaxCostUSD, strings.Join(top, ", ")))
		}
	}
	if p.MaxDuration > 0 && p.DurationKnown && p.Duration > p.MaxDuration {
		errs = append(errs, fmt.Errorf("the estimated duration %s is over budget.max_duration %s: shorten the stages or drop a target, or raise the limit",
			p.Duration.Round(time.Second), p.MaxDuration))
	}
	if len(errs) == 0 {
		return nil
	}
	return &PlanBudgetError{Err: errors.Join(errs...)}
}

// PlanBudgetError is a plan the budget refuses: errors.Is(err, ErrBudget)
// holds for it, as for a budget stop during the run.
type PlanBudgetError struct{ Err error }

func (e *PlanBudgetError) Error() string { return e.Err.Error() }

// Unwrap returns the budget's reasons.
func (e *PlanBudgetError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrBudget) true.
func (e *PlanBudgetError) Is(target error) bool { return target == ErrBudget }

func casesLine(p *Plan) string {
	m := p.Matrix
	matrix := fmt.Sprintf("%d %s × %d %s × %d %s × %d %s",
		len(m.Tasks), plural(len(m.Tasks), "task"), len(m.Lengths), plural(len(m.Lengths), "length"),
		len(m.Depths), plural(len(m.Depths), "depth"), max(m.Samples, 1), plural(max(m.Samples, 1), "sample"))
	switch {
	case p.DatasetCases > 0 && len(m.Lengths) == 0:
		matrix = fmt.Sprintf("%d from the dataset", p.DatasetCases)
	case p.DatasetCases > 0:
		matrix += fmt.Sprintf(", plus %d from the dataset", p.DatasetCases)
	}
	return fmt.Sprintf("%d %s (%s)", p.Cases, plural(p.Cases, "case"), matrix)
}

func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}

func fmtCount(n int64, how string, known bool) string {
	if !known {
		return "unknown"
	}
	s := fmtInt(n)
	switch how {
	case loadgen.CountUpperBound:
		return "≤" + s
	case loadgen.CountExpected, loadgen.CountEstimate:
		return "~" + s
	}
	return s
}

// fmtInt writes 1234567 as 1,234,567.
func fmtInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func fmtCost(priced bool, cur string, typical, upper float64) string {
	if !priced {
		return "no prices"
	}
	return fmt.Sprintf("%s %.2f / %.2f", cur, typical, upper)
}

func fmtDur(d time.Duration, known bool) string {
	if !known {
		return "unknown"
	}
	if d >= time.Minute {
		return "~" + d.Round(time.Second).String()
	}
	return "~" + d.Round(100*time.Millisecond).String()
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// drainNote says what the duration estimate leaves out: after each stage
// sends its last request, the requests still in flight must finish, which
// takes as long as the server does, up to the request timeout. An
// overloaded server can add most of a timeout per stage (an Ollama run
// estimated at ~16 s took 55 s).
func drainNote(t TargetSpec, stages int) string {
	timeout := t.Config.Timeout
	if timeout <= 0 {
		timeout = endpoint.DefaultTimeout
	}
	return fmt.Sprintf("durations count the sending only: each stage then waits for its requests still in flight, as long as the server takes (up to the request timeout, %s): at most %s more over the %d %s",
		timeout, (time.Duration(stages) * timeout).Round(time.Second), stages, plural(stages, "stage"))
}
