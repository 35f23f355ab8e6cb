package campaign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/endpoint"
	"github.com/needlestorm/needlestorm/live"
	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/probes"
	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
	"github.com/needlestorm/needlestorm/sim"
)

// Execute runs a campaign end to end into one run directory:
//
//  1. the plan: computed and written to Log; a plan over the budget is
//     refused before anything else happens (CheckBudget);
//  2. simulators: every sim target starts its own simulator on
//     127.0.0.1:0 with its profile, overrides and time scale (each is
//     stopped after its target's turn);
//  3. preflight, for every target before any load: reachability, the model
//     listed, the context window and token calibration (endpoint.Preflight),
//     each report written to Log. An unreachable target or an unlisted model
//     stops the campaign here, before any load and before the run directory
//     is created (a directory that already holds a run, without Overwrite,
//     is refused before anything starts). Lengths beyond a target's window are flagged, and left
//     out for that target with SkipTooLong;
//  4. the run: one manifest.json (every target, the corpus, the schedule or
//     the search, the objectives, the preflight reports, the budget) and
//     one records.jsonl (records name their target), the targets one after
//     the other in file order, each through its schedule or its envelope
//     search.
//
// An interruption (ctx canceled, as on SIGINT) or a budget stop (see
// BudgetGuard) stops sending, lets requests in flight finish for the grace
// period, skips the remaining targets and marks the manifest
// "interrupted" with the reason. Execute returns the result whenever the run
// directory was written (with an error for any status but complete), and a
// nil result when it stopped before (plan, budget, simulator or preflight).
// Rendering the report is the caller's (reports.Write with Objectives and
// Prices).
//
// With length_basis server, each target's haystacks are sized through its
// calibration (endpoint.ServerBasisLengths) so that the server counts the
// requested length: the cases are built at the client length, then their
// Length (and ID) are set back to the requested length, so that records
// carry the requested length as "length" (what reports group by) and the
// client's count as "prompt_tokens_client". The manifest's targets say the
// client length used for each requested one, and the preflight reports the
// template overhead.
func (c *Campaign) Execute(ctx context.Context, dir string, o ExecOptions) (*Result, error) {
	o.defaults()
	if err := c.CheckExec(o); err != nil {
		return nil, err
	}
	// A directory that cannot take the run stops it before simulators
	// start and preflight spends its calibration requests.
	if err := run.CheckDir(dir, o.Overwrite); err != nil {
		return nil, err
	}
	plan, err := c.Plan(ctx)
	if err != nil {
		return nil, err
	}
	if err := plan.Write(o.Log); err != nil {
		return nil, err
	}
	if err := plan.CheckBudget(); err != nil {
		return nil, fmt.Errorf("refusing to run campaign %s: %w", c.Name, err)
	}
	e := &execution{c: c, o: o, plan: plan, search: c.Search(), matrix: c.Matrix(), shard: c.newShardRun(o.Shard, o.NonceSalt)}
	defer e.stopSims()
	if err := e.prepare(ctx); err != nil {
		return nil, err
	}
	if err := e.shard.meet(ctx, e.logf); err != nil {
		return nil, err
	}
	return e.run(ctx, dir)
}

// CheckExec refuses what Execute would refuse of the campaign run with o,
// before anything starts: length_basis server without preflight (whose
// token calibration sizes the prompts). The dry run calls it with the
// options the run would have, so that it refuses the same.
func (c *Campaign) CheckExec(o ExecOptions) error {
	if err := c.CheckShard(o.Shard); err != nil {
		return err
	}
	if c.LengthBasis() != BasisServer || !o.NoPreflight {
		return nil
	}
	v := &checker{c: c}
	v.at("corpus.length_basis", "server sizes prompts through preflight's token calibration, which --no-preflight skips: run with preflight, or use length_basis client")
	return v.errs
}

// ExecOptions say how Execute runs a campaign. The zero value works.
type ExecOptions struct {
	// Log receives the plan, the preflight reports, each target's turn and
	// live progress (nothing when nil).
	Log io.Writer
	// Progress draws live progress on Log every ProgressInterval (0:
	// live.DefaultProgressInterval; on a terminal, a live screen).
	Progress         bool
	ProgressInterval time.Duration
	// Observers are told about every target's requests (live metrics).
	Observers []loadgen.Observer
	// Tool and Version name the tool in the manifest, Commit the VCS
	// revision it was built from (left out when empty).
	Tool, Version, Commit string
	// Collector says how the process's garbage collector is set, for the
	// manifest (asked when the run starts and when it ends; nil: not
	// recorded).
	Collector fmt.Stringer
	// Overwrite replaces a run already in the directory.
	Overwrite bool
	// NonceSalt, when set, is the salt of the requests' cache-busting
	// nonces (loadgen.NonceSalt), such as a manifest's nonce_salt to send
	// a run's prompts again; by default each run draws its own.
	NonceSalt *uint64
	// Tolerance is the truncation tolerance in tokens the live verdicts use
	// (0: probes' default), as reports.Options.Tolerance is the report's.
	Tolerance int
	// NoPreflight skips preflight (length_basis server needs it).
	NoPreflight bool
	// SkipTooLong leaves out, per target, the lengths preflight found
	// beyond its context window (by default they are only flagged).
	SkipTooLong bool
	// PreflightTimeout bounds each preflight metadata request (0: loadgen's
	// default).
	PreflightTimeout time.Duration
	// LookupEnv reads the API keys and ${NAME} headers (nil:
	// os.LookupEnv).
	LookupEnv func(name string) (string, bool)
	// SimSeed, when set, replaces every simulator's seed.
	SimSeed *int64
	// SimAddr is where simulators listen (default 127.0.0.1:0; loopback
	// only).
	SimAddr string
	// Shard, when set, makes the run one shard of a sharded run (see
	// Shard): it sends only its share of the load.
	Shard *Shard
	// Abort, when it ends, cancels the requests in flight at once, grace
	// period or not (as on a second Ctrl-C): each still gets its record,
	// with error_class canceled, the records are flushed and the manifest
	// is marked interrupted with Abort's cause as the reason. It is meant
	// to end after the ctx given to Execute (which stops sending); ending
	// alone it stops the run the same way.
	Abort context.Context
}

func (o *ExecOptions) defaults() {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if o.SimAddr == "" {
		o.SimAddr = sim.DefaultAddr
	}
	if o.Tool == "" {
		o.Tool = "needlestorm"
	}
}

// Target statuses in a Result and the manifest, besides loadgen's complete,
// interrupted and failed.
const (
	// TargetSkipped: the target was not run because the campaign stopped
	// before its turn.
	TargetSkipped = "skipped"
	// TargetPending: its turn has not come yet (in a running manifest).
	TargetPending = "pending"
)

// Result is how a campaign ended.
type Result struct {
	// Run is the run directory's result: status, reason and counts.
	Run *run.Result
	// Plan is what was planned.
	Plan *Plan
	// Targets are in campaign order.
	Targets []TargetResult
	// Stopped is the budget that stopped the campaign, or nil.
	Stopped *BudgetError
	// Aborted is true when ExecOptions.Abort canceled the requests in
	// flight.
	Aborted bool
	// Spent is what the completed requests cost in all (in the targets'
	// currency); Currency is empty when no target is priced.
	Spent    float64
	Currency string
}

// TargetResult is how one target's turn went.
type TargetResult struct {
	Name string
	// Status is complete, interrupted, failed, skipped or pending.
	Status string
	// Records is the number of records written for the target.
	Records int64
	// Spent is what its completed requests cost.
	Spent float64
	// Preflight is what preflight learned (nil with NoPreflight).
	Preflight *endpoint.PreflightReport
	// Lengths are the requested lengths sent, and Dropped those left out
	// because they do not fit the target's window (SkipTooLong).
	Lengths []int
	Dropped []int
	// ClientLengths are the client lengths sent for Lengths, by position,
	// when length_basis is server.
	ClientLengths []int
	// Search holds each length's envelope search, in search mode.
	Search []run.SearchResult
}

// execution is the state of one Execute.
type execution struct {
	c      *Campaign
	o      ExecOptions
	plan   *Plan
	search *loadgen.SearchSpec
	matrix corpus.Matrix
	// shard is this process's shard of a sharded run; nil otherwise.
	shard *shardRun

	turns []*turn
	// guard sums the spend of the run (set when the run starts).
	guard *BudgetGuard
	// metrics is the run's server_metrics.jsonl (servermetrics.go).
	metrics *serverMetrics
}

// turn is one target's part of the campaign.
type turn struct {
	spec  TargetSpec
	srv   *sim.Server
	res   TargetResult
	cases []corpus.Case
	sched loadgen.Schedule
}

// prepare starts the simulators, runs preflight and builds each target's
// cases and schedule. Nothing is spent yet (but preflight's calibration
// requests).
func (e *execution) prepare(ctx context.Context) error {
	basis := e.c.LengthBasis()
	for _, spec := range e.c.Targets() {
		t := &turn{spec: spec, res: TargetResult{Name: spec.Config.Name, Status: TargetPending}}
		e.turns = append(e.turns, t)
		if spec.IsSim() {
			if err := e.startSim(ctx, t); err != nil {
				return err
			}
		}
	}
	if !e.o.NoPreflight {
		for _, t := range e.turns {
			if err := e.preflight(ctx, t); err != nil {
				return err
			}
		}
	}
	cache := map[string][]corpus.Case{}
	for _, t := range e.turns {
		if err := e.buildCases(ctx, t, basis, cache); err != nil {
			return err
		}
	}
	return nil
}

// startSim starts a sim target's simulator and points the target at it. The
// simulator outlives an interruption (requests in flight still finish); it
// stops after the target's turn.
func (e *execution) startSim(ctx context.Context, t *turn) error {
	cfg := *t.spec.Sim
	if e.o.SimSeed != nil {
		cfg.Seed = *e.o.SimSeed
	}
	srv, err := sim.Start(context.WithoutCancel(ctx), cfg, sim.WithAddr(e.o.SimAddr))
	if err != nil {
		return fmt.Errorf("starting the simulator of target %s: %w", t.spec.Config.Name, err)
	}
	t.srv = srv
	t.spec.Config.BaseURL = srv.URL()
	if t.spec.Config.Model == "" {
		t.spec.Config.Model = srv.Config().Model
	}
	fmt.Fprintf(e.o.Log, "target %s: started the built-in simulator (profile %s, model %s) on %s\n",
		t.spec.Config.Name, t.spec.SimProfile, srv.Config().Model, srv.URL())
	return nil
}

// stopSims stops every simulator still running.
func (e *execution) stopSims() {
	for _, t := range e.turns {
		t.stopSim()
	}
}

func (t *turn) stopSim() {
	if t.srv != nil {
		t.srv.Close()
		t.srv = nil
	}
}

// preflight checks one target and decides which lengths it is sent.
func (e *execution) preflight(ctx context.Context, t *turn) error {
	opts := []endpoint.PreflightOption{
		endpoint.PreflightDeclaredWindow(t.spec.ContextWindow),
		endpoint.PreflightLengths(e.matrix.Lengths...),
		endpoint.PreflightEncoding(e.matrix.Encoding),
		endpoint.PreflightHaystack(e.matrix.Haystack),
		endpoint.PreflightLengthBasis(e.c.LengthBasis()),
		endpoint.PreflightEnv(e.o.LookupEnv),
	}
	if e.o.PreflightTimeout > 0 {
		opts = append(opts, endpoint.PreflightTimeout(e.o.PreflightTimeout))
	}
	rep, err := endpoint.Preflight(ctx, t.spec.Config, opts...)
	t.res.Preflight = rep
	if rep != nil {
		fmt.Fprint(e.o.Log, rep.Text())
	}
	if err != nil {
		return &PreflightFailure{Target: t.spec.Config.Name, Err: err}
	}
	if len(rep.TooLong) > 0 {
		too := formatLengths(rep.TooLong)
		if e.o.SkipTooLong {
			fmt.Fprintf(e.o.Log, "target %s: leaving out %s, beyond its %d-token window\n", t.spec.Config.Name, too, rep.ContextWindow)
		} else {
			fmt.Fprintf(e.o.Log, "target %s: %s will not fit its %d-token window; expect rejections or silent truncation there (--skip-too-long leaves them out)\n",
				t.spec.Config.Name, too, rep.ContextWindow)
		}
	}
	return nil
}

// PreflightFailure is a preflight that stopped a campaign before any load.
type PreflightFailure struct {
	Target string
	Err    error
}

func (f *PreflightFailure) Error() string {
	return fmt.Sprintf("preflight of target %s failed, so nothing was run: %v", f.Target, f.Err)
}

func (f *PreflightFailure) Unwrap() error { return f.Err }

func formatLengths(ls []int) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = corpus.FormatLength(l)
	}
	if len(s) == 1 {
		return "length " + s[0]
	}
	return "lengths " + strings.Join(s, ", ")
}

// buildCases builds a target's cases (shared between targets asking for
// the same client lengths) and its schedule.
func (e *execution) buildCases(ctx context.Context, t *turn, basis string, cache map[string][]corpus.Case) error {
	lengths, err := e.fitting(t)
	if err != nil {
		return err
	}
	t.res.Lengths = lengths
	client := lengths
	if basis == BasisServer {
		if client, err = serverBasis(t, lengths); err != nil {
			return err
		}
		t.res.ClientLengths = client
	}
	key := fmt.Sprint(client)
	cases, ok := cache[key]
	if !ok {
		m := e.matrix
		m.Lengths = client
		if len(client) == 0 && e.c.Dataset() != nil {
			cases = nil // the dataset's cases alone
		} else if cases, err = m.Cases(ctx); err != nil {
			return fmt.Errorf("building the cases of target %s: %w", t.spec.Config.Name, err)
		}
		cache[key] = cases
	}
	if basis == BasisServer {
		cases = requestedLengths(cases, client, lengths)
	}
	if ds := e.c.DatasetCases(); len(ds) > 0 {
		cases = append(slices.Clip(cases), ds...)
	}
	t.cases = cases
	if e.search == nil {
		t.sched = e.c.scheduleFor(len(cases))
	}
	return nil
}

// fitting are the lengths t is sent: every length, or with SkipTooLong
// those that fit the window preflight found.
func (e *execution) fitting(t *turn) ([]int, error) {
	lengths := slices.Clone(e.matrix.Lengths)
	rep := t.res.Preflight
	if rep == nil || !e.o.SkipTooLong || len(rep.TooLong) == 0 {
		return lengths, nil
	}
	lengths = slices.DeleteFunc(lengths, func(l int) bool { return !rep.Fits(l) })
	t.res.Dropped = slices.Clone(rep.TooLong)
	if len(lengths) == 0 {
		return nil, fmt.Errorf("target %s: every length is beyond its %d-token window, so nothing is left to send; drop the target or lower corpus.lengths", t.spec.Config.Name, rep.ContextWindow)
	}
	return lengths, nil
}

// serverBasis are the client lengths that make t's server count lengths,
// through preflight's calibration.
func serverBasis(t *turn, lengths []int) ([]int, error) {
	name := t.spec.Config.Name
	rep := t.res.Preflight
	if rep == nil || !rep.Calibrated || rep.Calibration == nil {
		return nil, fmt.Errorf("target %s: length_basis server needs token calibration, and preflight could not calibrate this target (see its warnings); use length_basis client", name)
	}
	client, err := endpoint.ServerBasisLengths(lengths, rep.Calibration)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", name, err)
	}
	seen := map[int]int{}
	for i, cl := range client {
		if j, dup := seen[cl]; dup {
			return nil, fmt.Errorf("target %s: lengths %d and %d (server basis) both need %d client tokens; give lengths further apart", name, lengths[j], lengths[i], cl)
		}
		seen[cl] = i
	}
	return client, nil
}

// requestedLengths are cases built at the client lengths, carrying the
// requested lengths (records must: reports group by them) in Length and ID.
func requestedLengths(cases []corpus.Case, client, requested []int) []corpus.Case {
	asked := map[int]int{}
	for i, cl := range client {
		asked[cl] = requested[i]
	}
	cases = slices.Clone(cases)
	for i := range cases {
		cs := &cases[i]
		req := asked[cs.Length]
		cs.ID = strings.Replace(cs.ID, "-"+corpus.FormatLength(cs.Length)+"-", "-"+corpus.FormatLength(req)+"-", 1)
		cs.Length = req
	}
	return cases
}

// manifestTarget is one target as the manifest's "targets" lists it: its
// configuration (endpoint.TargetConfig's fields; no key: api_key_env names
// the variable), prices, simulator settings, the lengths it was sent and how
// its turn went.
type manifestTarget struct {
	config endpoint.TargetConfig

	SimProfile string   `json:"sim_profile,omitempty"`
	TimeScale  *float64 `json:"time_scale,omitempty"`
	// Prices and Currency are left out for a target without prices: its
	// cost is unknown, and a report regenerated from the manifest says so
	// ("-", null) as the run's own report did.
	Prices        *reports.Price `json:"prices,omitempty"`
	Currency      string         `json:"currency,omitempty"`
	ContextWindow int            `json:"context_window,omitempty"`
	LengthBasis   string         `json:"length_basis"`
	Lengths       []int          `json:"lengths"`
	ClientLengths []int          `json:"client_lengths,omitempty"`
	Dropped       []int          `json:"dropped_lengths,omitempty"`
	Status        string         `json:"status"`
	Records       int64          `json:"records"`
	Spent         float64        `json:"spent"`
	// Search holds each length's envelope search, every probed step
	// included.
	Search []run.SearchResult `json:"search,omitempty"`
}

// MarshalJSON writes the configuration's fields beside the others, so that
// the entry also decodes as a endpoint.TargetConfig.
func (m manifestTarget) MarshalJSON() ([]byte, error) {
	base, err := json.Marshal(m.config)
	if err != nil {
		return nil, err
	}
	type plain manifestTarget // without this method
	extra, err := json.Marshal(plain(m))
	if err != nil {
		return nil, err
	}
	var a, b map[string]json.RawMessage
	if err := json.Unmarshal(base, &a); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(extra, &b); err != nil {
		return nil, err
	}
	for k, v := range b {
		a[k] = v
	}
	return json.Marshal(a)
}

// manifestCorpus is the corpus as the manifest records it: the matrix's
// fields, and corpus.repeats when given (reports label the agreement of
// repeated answers by it).
type manifestCorpus struct {
	corpus.Matrix
	Repeats int `json:"repeats,omitempty"`
}

func (e *execution) manifestTargets() []manifestTarget {
	out := make([]manifestTarget, len(e.turns))
	for i, t := range e.turns {
		mt := manifestTarget{
			config:        t.spec.Config,
			SimProfile:    t.spec.SimProfile,
			ContextWindow: t.spec.ContextWindow,
			LengthBasis:   e.c.LengthBasis(),
			Lengths:       t.res.Lengths,
			ClientLengths: t.res.ClientLengths,
			Dropped:       t.res.Dropped,
			Status:        t.res.Status,
			Records:       t.res.Records,
			Spent:         t.res.Spent,
			Search:        t.res.Search,
		}
		if t.spec.Price.Given() {
			pr := t.spec.Price
			mt.Prices, mt.Currency = &pr, t.spec.Currency
		}
		if t.spec.IsSim() {
			mt.config.Kind = KindSim
			ts := t.spec.TimeScale
			mt.TimeScale = &ts
		}
		out[i] = mt
	}
	return out
}

// run writes the run directory and runs each target in turn: the manifest
// of what was asked, each target's turn under the budget, then the outcome
// and the status.
func (e *execution) run(ctx context.Context, dir string) (*Result, error) {
	// The budget: a guard on spend, a deadline on time. Either cancels
	// runCtx with a *BudgetError as its cause.
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	guard := NewBudgetGuard(e.c.Budget.MaxCostUSD, e.c.Prices(), stop)
	e.guard = guard
	rs, err := run.Open(dir, e.runOptions()...)
	if err != nil {
		return nil, err
	}
	e.metrics = &serverMetrics{dir: dir}
	defer e.metrics.close()
	if e.o.Overwrite {
		if err := run.RemoveServerMetrics(dir); err != nil {
			res, _ := rs.Close(runCtx, err)
			return e.result(res, guard), err
		}
	}
	bm := e.budgetManifest()
	if err := e.writeAsked(rs, bm); err != nil {
		res, _ := rs.Close(runCtx, err)
		return e.result(res, guard), err
	}
	runCtx, release := e.limit(runCtx, stop)
	defer release()

	session := loadgen.NewSession(rs, e.sessionOptions(guard)...)
	runErr := e.runTurns(runCtx, session)
	if err := e.writeOutcome(runCtx, rs, guard, bm); err != nil {
		runErr = errors.Join(runErr, err)
	}
	return e.close(runCtx, rs, guard, runErr)
}

// runOptions describe the run directory: the tool, what was asked, the
// objectives, and the nonce salt when one is given.
func (e *execution) runOptions() []run.Option {
	opts := []run.Option{
		run.Tool(e.o.Tool, e.o.Version),
		run.Collector(e.o.Collector),
		run.Commit(e.o.Commit),
		run.Asked(e.manifestTargets(), manifestCorpus{Matrix: e.matrix, Repeats: e.c.Corpus.Repeats}),
		run.Objectives(e.c.Objectives()),
		run.Overwrite(e.o.Overwrite),
	}
	if e.o.NonceSalt != nil {
		opts = append(opts, run.NonceSalt(*e.o.NonceSalt))
	}
	return append(opts, e.shard.runOptions()...)
}

// sessionOptions apply to every target's turn: the seed, the budget guard
// and the observers, the cap on requests in flight and the grace period.
func (e *execution) sessionOptions(guard *BudgetGuard) []loadgen.Option {
	opts := []loadgen.Option{
		loadgen.Seed(e.c.Seed()),
		loadgen.Observe(guard),
		loadgen.Observe(e.o.Observers...),
		loadgen.MaxInFlight(e.c.maxInFlight()),
	}
	if e.c.Grace != nil {
		opts = append(opts, loadgen.Grace(*e.c.Grace))
	}
	return append(opts, e.shard.loadOptions(e.logf)...)
}

// budgetManifest is the budget as asked and as the plan estimated it.
func (e *execution) budgetManifest() budgetManifest {
	bm := budgetManifest{
		MaxCostUSD:           e.c.Budget.MaxCostUSD,
		MaxDuration:          run.Seconds(e.c.Budget.MaxDuration.D()),
		Currency:             e.plan.CostCurrency,
		EstimatedCostMax:     e.plan.CostMax,
		EstimatedCostTypical: e.plan.CostTypical,
	}
	if e.plan.DurationKnown {
		bm.EstimatedDuration = run.Seconds(e.plan.Duration)
	}
	return bm
}

// writeAsked writes the schedule (or the search), the preflight reports
// and the budget into the manifest before anything is sent.
func (e *execution) writeAsked(rs *run.Session, bm budgetManifest) error {
	var preflights []*endpoint.PreflightReport
	for _, t := range e.turns {
		if t.res.Preflight != nil {
			preflights = append(preflights, t.res.Preflight)
		}
	}
	var schedule any = e.turns[0].sched
	if e.search != nil {
		schedule = map[string]any{"search": e.search}
	}
	return rs.UpdateManifest(func(m *run.Manifest) {
		m.Campaign = e.c.Name
		if e.c.routing != nil {
			m.Routing = mustJSON(e.c.routing)
		}
		m.Schedule = mustJSON(schedule)
		if len(preflights) > 0 {
			m.Preflight = mustJSON(preflights)
		}
		m.Budget = mustJSON(bm)
	})
}

// limit bounds ctx by the time budget (from the first target's start) and
// makes an abort stop sending too; release undoes both.
func (e *execution) limit(ctx context.Context, stop context.CancelCauseFunc) (context.Context, func()) {
	release := func() {}
	if d := e.c.Budget.MaxDuration.D(); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d, &BudgetError{MaxDuration: d})
		release = func() { cancel() }
	}
	if e.o.Abort != nil {
		// An abort also stops sending (when ctx has not already).
		stopOnAbort := context.AfterFunc(e.o.Abort, func() { stop(context.Cause(e.o.Abort)) })
		prev := release
		release = func() { stopOnAbort(); prev() }
	}
	return ctx, release
}

// runTurns runs the targets one after the other until one fails or ctx
// ends, and marks those whose turn never came skipped. It returns the
// first error, or the budget's when a budget ran out as the last target
// finished.
func (e *execution) runTurns(ctx context.Context, session *loadgen.Session) error {
	obj := e.c.Objectives()
	var runErr error
	for i, t := range e.turns {
		if ctx.Err() != nil {
			break
		}
		if runErr = e.turnOf(ctx, session, i, t, obj); runErr != nil {
			break
		}
	}
	for _, t := range e.turns {
		if t.res.Status == TargetPending {
			t.res.Status = TargetSkipped
		}
	}
	if runErr == nil && ctx.Err() != nil && errors.Is(context.Cause(ctx), ErrBudget) {
		// A budget ran out as the last target finished: the campaign did
		// run whole, but nothing more could have been sent.
		runErr = context.Cause(ctx)
	}
	return runErr
}

// turnOf runs one target's turn and records how it went, in its result
// and in the manifest.
func (e *execution) turnOf(ctx context.Context, session *loadgen.Session, i int, t *turn, obj reports.Objectives) error {
	err := e.runTurn(ctx, session, i, t, obj)
	t.stopSim()
	t.res.Spent = e.guard.Spent(t.res.Name)
	switch {
	case err == nil:
		t.res.Status = run.StatusComplete
	case ctx.Err() != nil:
		t.res.Status = run.StatusInterrupted
	default:
		t.res.Status = run.StatusFailed
	}
	fmt.Fprintf(e.o.Log, "target %s: %s, %d records\n", t.res.Name, t.res.Status, t.res.Records)
	if merr := session.Run().UpdateManifest(func(m *run.Manifest) { m.Targets = mustJSON(e.manifestTargets()) }); merr != nil {
		err = errors.Join(err, merr)
	}
	return err
}

// writeOutcome writes what was spent, by target and in all, and the budget
// that stopped the campaign, if one did, into the manifest.
func (e *execution) writeOutcome(ctx context.Context, rs *run.Session, guard *BudgetGuard, bm budgetManifest) error {
	prices := e.c.Prices()
	bm.Spent = guard.Total()
	bm.SpentByTarget = map[string]float64{}
	for _, t := range e.turns {
		if _, priced := prices.Targets[t.res.Name]; priced {
			bm.SpentByTarget[t.res.Name] = t.res.Spent
		}
	}
	var tripped *BudgetError
	if errors.As(context.Cause(ctx), &tripped) {
		bm.Stopped = tripped.Error()
	}
	return rs.UpdateManifest(func(m *run.Manifest) {
		m.Targets = mustJSON(e.manifestTargets())
		m.Budget = mustJSON(bm)
		e.shard.record(m)
	})
}

// close closes the run directory with its status: after an abort, with
// the abort's cause as the reason (requests were canceled).
func (e *execution) close(ctx context.Context, rs *run.Session, guard *BudgetGuard, runErr error) (*Result, error) {
	closeCtx := ctx
	if e.aborted() {
		var cancel context.CancelCauseFunc
		closeCtx, cancel = context.WithCancelCause(context.WithoutCancel(ctx))
		cancel(context.Cause(e.o.Abort))
	}
	res, err := rs.Close(closeCtx, runErr)
	out := e.result(res, guard)
	errors.As(context.Cause(ctx), &out.Stopped)
	out.Aborted = e.aborted()
	return out, err
}

// aborted reports whether ExecOptions.Abort ended.
func (e *execution) aborted() bool { return e.o.Abort != nil && e.o.Abort.Err() != nil }

// runTurn runs one target's schedule or search.
func (e *execution) runTurn(ctx context.Context, s *loadgen.Session, i int, t *turn, obj reports.Objectives) error {
	cfg := t.spec.Config
	ep, err := endpoint.NewTarget(cfg, endpoint.TargetEnv(e.o.LookupEnv))
	if err != nil {
		return fmt.Errorf("target %s: %w", cfg.Name, err)
	}
	defer ep.Close()
	var target loadgen.Target = ep
	what := fmt.Sprintf("%d %s", len(t.sched), plural(len(t.sched), "stage"))
	if e.search != nil {
		what = "envelope search"
	}
	fmt.Fprintf(e.o.Log, "target %s (%d of %d): %s at %s, %s, %d %s\n",
		cfg.Name, i+1, len(e.turns), cfg.Model, endpoint.RedactURL(cfg.BaseURL), what, len(t.cases), plural(len(t.cases), "case"))

	counter := &recordCounter{}
	opts := []loadgen.Option{loadgen.Model(cfg.Model), loadgen.Observe(counter)}
	if e.o.Abort != nil {
		// An abort cancels the requests in flight at once.
		opts = append(opts, loadgen.Abort(e.o.Abort))
	}
	if stages, stop, err := e.startScrape(ctx, cfg); err != nil {
		return err
	} else if stop != nil {
		defer stop()
		opts = append(opts, loadgen.Observe(stages))
	}
	opts = append(opts, loadgen.ScoreCalibration(e.scoreCalibration(t)))
	progressDone := make(chan struct{})
	progressCtx, endProgress := context.WithCancel(context.WithoutCancel(ctx))
	if e.o.Progress {
		tracker := live.NewTracker(cfg.Name, t.sched)
		opts = append(opts, loadgen.Observe(tracker))
		p := live.NewProgress(e.o.Log, tracker, e.o.ProgressInterval)
		go func() { defer close(progressDone); p.Run(progressCtx) }()
	} else {
		close(progressDone)
	}
	// stopProgress draws the final state and stops the display; the search
	// calls it before printing its lines, so the display cannot draw over them.
	stopProgress := sync.OnceFunc(func() {
		endProgress()
		<-progressDone
	})
	defer func() {
		stopProgress()
		t.res.Records = counter.n.Load()
	}()

	if e.search == nil {
		return s.Dispatch(ctx, target, t.cases, t.sched, opts...)
	}
	results, err := s.Search(ctx, target, t.cases, *e.search, newStepJudge(obj), opts...)
	t.res.Search = results
	stopProgress()
	for _, r := range results {
		fmt.Fprintf(e.o.Log, "target %s: search at %s: %s\n", cfg.Name, corpus.FormatLength(r.Length), describeSearch(r))
	}
	return err
}

// scoreCalibration is what the live verdicts of t's records know of its
// token accounting: the truncation tolerance, and the template overhead
// preflight measured when it calibrated the target. Without the overhead a
// lost canary is judged a truncation even when the server's count shows
// that the whole prompt arrived, and the report (which measures the
// overhead over the run's records) would relabel the record later.
func (e *execution) scoreCalibration(t *turn) probes.Calibration {
	cal := probes.Calibration{Tolerance: e.o.Tolerance}
	if rep := t.res.Preflight; rep != nil && rep.Calibrated {
		cal.Overhead, cal.OverheadKnown = rep.TemplateOverhead, true
	}
	return cal
}

// describeSearch says in one line what a length's search found.
func describeSearch(r run.SearchResult) string {
	var b strings.Builder
	if r.Found > 0 {
		fmt.Fprintf(&b, "%.3g requests/s held", r.Found)
	} else {
		b.WriteString("no rate held")
	}
	fmt.Fprintf(&b, " (%d steps, %d requests", len(r.Steps), r.Requests)
	if r.Reason != "" {
		b.WriteString("; " + r.Reason)
	}
	b.WriteString(")")
	return b.String()
}

// result assembles the Result.
func (e *execution) result(res *run.Result, guard *BudgetGuard) *Result {
	out := &Result{Run: res, Plan: e.plan, Spent: guard.Total(), Currency: e.plan.CostCurrency}
	for _, t := range e.turns {
		out.Targets = append(out.Targets, t.res)
	}
	return out
}

// recordCounter counts a target's completed requests.
type recordCounter struct{ n atomic.Int64 }

func (r *recordCounter) StageStarted(int, loadgen.Stage) {}
func (r *recordCounter) Sent(*run.Record)                {}
func (r *recordCounter) Completed(*run.Record)           { r.n.Add(1) }

// mustJSON encodes v for the manifest; a value that does not encode is
// recorded as a string saying so, so the manifest still says what happened.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal("could not encode: " + err.Error())
	}
	return b
}
