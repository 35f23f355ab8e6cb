package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/needlestorm/needlestorm/campaign"
	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/endpoint"
	"github.com/needlestorm/needlestorm/internal/termsafe"
	"github.com/needlestorm/needlestorm/live"
	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
	"github.com/needlestorm/needlestorm/sim"
)

// Defaults of `needlestorm run`: small enough that a run against the
// in-process simulator (`make run`) takes about a minute.
const (
	runDefaultLengths       = "1k,4k"
	runDefaultDepths        = "0,50,100"
	runDefaultRates         = "1,2,4,8"
	runDefaultStageDuration = 10 * time.Second
	// runDefaultSLO are the latency objectives a run is judged by unless
	// --slo says otherwise: interactive-chat figures.
	runDefaultSLO = "ttft_p95=2s,e2e_p95=30s,error_rate=0.01"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a campaign (or one target given by flags) and write its run directory and report",
		ArgsUsage: "[campaign.yaml]",
		Description: `With a campaign file, runs what it asks: every target one after the other
(simulator targets each start their own simulator on loopback), into one run
directory (manifest.json, records.jsonl) and one report comparing them. Flags
given on the command line override the file's values (--lengths, --depths,
--task, --samples, --repeats, --seed, --haystack, --canaries, --shared-prefix, --slo, --accuracy, --warmup,
--sim-time-scale, --out, --targets, --max-cost, --max-duration); flags that
describe a single target (--target, --rates ...) belong to runs without a
file.

Without a file, the flags describe the one target and its schedule: one
constant-rate stage per --rates entry, or one closed-loop stage of
--concurrency requests in flight. With no --target (or --target sim) the
built-in simulator is started on loopback and measured.

--repeats N (corpus.repeats) sends each case N times in every stage, for
the report's consistency figures (agreement, distinct answers): each stage
sends cases × N requests and ends after them. A --stage-duration given with
it (a stage duration in the file) only caps the stage, and one too short to
send every repeat is refused; --requests-per-stage (a stage's own requests)
and an envelope search cannot take it.

Before anything is spent: the plan (requests, tokens, cost, duration per
target) is printed and checked against the budget (budget.max_cost_usd,
budget.max_duration); --dry-run prints it and stops, sending nothing. Then
preflight checks every target (it answers, the model is listed, the context
window, token calibration); an unreachable target or an unlisted model stops
the campaign before any load (--no-preflight skips it). Lengths beyond a
target's window are flagged; --skip-too-long leaves them out for that
target.

API keys are read from the environment variable each target names
(api_key_env, --api-key-env) and never appear in any output.

Every request's prompt starts with a cache-busting preamble of its own,
drawn from its sequence number and the run's random salt (manifest.json's
nonce_salt), so that a server's prefix cache serves none of it, not even on
a rerun; --nonce-salt gives the salt, to send a run's prompts again.

Ctrl-C (or SIGTERM) stops sending, lets requests in flight finish for
--grace, writes every completed request, skips the remaining targets, marks
the run interrupted and exits with status 130. A second Ctrl-C cancels the
requests in flight at once (each is recorded, as canceled), writes the
manifest and exits 130 without rendering the report (needlestorm report DIR
renders it); a third quits at once. A budget reached during the
run stops it the same way, with the budget as the manifest's reason, and
exits with status 3.

With --baseline DIR (or regression.baseline in the campaign) the run is
compared with that baseline after its report, as needlestorm compare does
(thresholds from --threshold over the campaign's regression.thresholds over
the defaults): the comparison is printed and written into the run directory
as regression.md, regression.junit.xml and regression.json. A baseline
that does not exist is an error, unless --baseline-optional (the first
night of a nightly job: the run is then not compared). --save-baseline DIR
makes a run that exits 0 the baseline at DIR (usually the --baseline
directory), so that each night is compared with the last one that passed.

Exit status: 0 every gating objective held (and no regression), 99 an
objective, the requirement (--require) or the comparison failed, 4 nothing
could be measured (preflight failed, every request of a target failed), 3
budget, 130 interrupted, 2 usage (see needlestorm --help).`,
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "print the plan (requests, tokens, cost and duration per target) and exit without sending anything"},
			&cli.BoolFlag{Name: "no-preflight", Usage: "skip preflight (reachability, model listing, context window, token calibration)"},
			&cli.BoolFlag{Name: "skip-too-long", Usage: "leave out, per target, the lengths preflight finds beyond its context window"},
			&cli.StringFlag{Name: "targets", Usage: "with a campaign file: run only these targets, comma-separated", DefaultText: "every target"},
			&cli.Float64Flag{Name: "max-cost", Usage: "budget in US dollars: refuse a plan over it, stop the run when spend reaches it (budget.max_cost_usd)", DefaultText: "no cost budget"},
			&cli.DurationFlag{Name: "max-duration", Usage: "time budget: refuse a plan over it, stop the run when it is reached (budget.max_duration)", DefaultText: "no time budget"},
			&cli.IntFlag{Name: "repeats", Usage: "send each case N times in every stage, for consistency over repeats (corpus.repeats): each stage sends cases × N requests; --stage-duration, when given, only caps it (a stage it would cut short is refused); not with --requests-per-stage", DefaultText: "1, or a stage's own bound"},
			&cli.StringFlag{Name: "target", Usage: "without a campaign file: the endpoint's base URL (such as http://127.0.0.1:8000/v1), or sim for the built-in simulator", Value: "sim"},
			&cli.StringFlag{Name: "kind", Usage: "API of the target: openai, anthropic, or sim (the simulator, spoken to as openai)"},
			&cli.StringFlag{Name: "model", Usage: "model name to ask for", DefaultText: "the simulator's model; required with --target URL"},
			&cli.StringFlag{Name: "name", Usage: "name of the target in records and reports", DefaultText: "the model"},
			&cli.StringFlag{Name: "api-key-env", Usage: "name of the environment variable holding the API key", DefaultText: "OPENAI_API_KEY or ANTHROPIC_API_KEY, by --kind"},
			&cli.StringSliceFlag{Name: "header", Usage: "extra request header K=V (repeatable); ${NAME} in a value, such as Authorization=Bearer ${MYKEY}, is read from the environment"},
			&cli.StringFlag{Name: "extra-body", Usage: `JSON object merged into every request body, such as '{"top_k":1}'`},
			&cli.StringFlag{Name: "lengths", Usage: "prompt lengths in tokens, such as 1k,8k,32k", Value: runDefaultLengths},
			&cli.StringFlag{Name: "depths", Usage: "needle depths in percent, such as 0,25,50,75,100", Value: runDefaultDepths},
			&cli.StringFlag{Name: "task", Usage: "tasks, comma-separated: " + strings.Join(corpus.Tasks, ", "), Value: corpus.TaskSingle},
			&cli.IntFlag{Name: "samples", Usage: "cases per (task, length, depth)", Value: 1},
			&cli.StringFlag{Name: "haystack", Usage: "haystack: prose, noise or dir:PATH", Value: corpus.HaystackProse},
			&cli.StringFlag{Name: "dataset", Usage: "a JSONL file of your own cases (corpus.dataset: id, task_type, messages or prompt, expected matchers), sent after the needle cases; without a campaign file and without --lengths, the dataset's cases alone", DefaultText: "none"},
			&cli.StringFlag{Name: "pad-to", Usage: "also send every dataset case buried in the haystack at these exact prompt lengths in client tokens (corpus.pad_to), such as 8k,32k; only the part between <<< and >>> when a case marks one", DefaultText: "none"},
			&cli.StringFlag{Name: "pad-depths", Usage: "where the padded cases' content goes, as fractions of the haystack before it (corpus.pad_depths), such as 0,0.5,1", DefaultText: "0.5"},
			&cli.BoolFlag{Name: "canaries", Usage: "put marker facts at both ends of every haystack, so the report can tell which end a server dropped (corpus.canaries)"},
			&cli.BoolFlag{Name: "shared-prefix", Usage: "leave out the per-request cache-busting preamble, to measure what a server's prefix cache saves (corpus.shared_prefix)"},
			&cli.Int64Flag{Name: "seed", Usage: "seed of the cases, of Poisson schedules and (without a file) of the simulator", Value: 1},
			&cli.StringFlag{Name: "rates", Usage: "request rates per second, one constant stage each", Value: runDefaultRates},
			&cli.IntFlag{Name: "concurrency", Usage: "instead of --rates: one stage keeping N requests in flight", DefaultText: "none: --rates"},
			&cli.DurationFlag{Name: "stage-duration", Usage: "how long each stage lasts (0: bounded by --requests-per-stage only; with --repeats, a cap, left out unless given)", Value: runDefaultStageDuration},
			&cli.IntFlag{Name: "requests-per-stage", Usage: "end each stage after this many requests (0: bounded by --stage-duration only)", DefaultText: "0, or cases × --repeats"},
			&cli.DurationFlag{Name: "warmup", Usage: "a warm-up stage of this length before the first, recorded but left out of statistics", DefaultText: "no warm-up"},
			&cli.IntFlag{Name: "max-tokens", Usage: "cap on answer tokens", DefaultText: strconv.Itoa(endpoint.DefaultMaxTokens)},
			&cli.DurationFlag{Name: "timeout", Usage: "per-request timeout, first byte sent to last received (generous: long prompts are slow)", DefaultText: endpoint.DefaultTimeout.String()},
			&cli.DurationFlag{Name: "connect-timeout", Usage: "timeout to connect (TCP and TLS)", DefaultText: endpoint.DefaultConnectTimeout.String()},
			&cli.StringFlag{Name: "server-metrics", Usage: "scrape the target's own Prometheus endpoint during the run into server_metrics.jsonl (vLLM, llama.cpp, TGI): a URL, or a path such as /metrics on the target's host (targets[].server_metrics)", DefaultText: "not scraped"},
			&cli.DurationFlag{Name: "server-metrics-interval", Usage: "time between scrapes of --server-metrics, 100ms..1m", DefaultText: endpoint.DefaultServerMetricsInterval.String()},
			&cli.IntFlag{Name: "max-in-flight", Usage: "cap on requests in flight; a request held back is recorded with its send_lag", Value: loadgen.DefaultMaxInFlight},
			&cli.DurationFlag{Name: "grace", Usage: "on interrupt, how long requests in flight may finish before they are canceled", Value: loadgen.DefaultGrace},
			&cli.StringFlag{Name: "out", Usage: "run directory to write", DefaultText: "the campaign's output.dir, or runs/<timestamp>"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace a run already in --out instead of refusing to"},
			&cli.Uint64Flag{Name: "nonce-salt", Usage: "salt of the per-request cache-busting preambles; a run's manifest records it as nonce_salt, and giving it again sends that run's prompts again", DefaultText: "a random salt per run, so no rerun hits a server's prefix cache"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress display"},
			&cli.StringFlag{Name: "metrics-addr", Usage: "serve live Prometheus metrics on /metrics at this address, such as 127.0.0.1:9464"},
			&cli.StringFlag{Name: "metrics-push", Usage: "push live metrics to this VictoriaMetrics URL, such as http://127.0.0.1:8428 (completed to /api/v1/import/prometheus)"},
			&cli.DurationFlag{Name: "metrics-push-interval", Usage: "how often to push metrics", Value: 10 * time.Second},
			&cli.StringFlag{Name: "baseline", Usage: "after the report, compare the run with this baseline (a run directory, summary.json or envelope.json; regression.baseline), print the comparison, write regression.md, regression.junit.xml and regression.json into the run directory and exit 99 on a regression", DefaultText: "the campaign's regression.baseline, else none"},
			&cli.BoolFlag{Name: "baseline-optional", Usage: "with --baseline: a baseline that does not exist yet is not an error; the run is then not compared (it says so), and with --save-baseline it becomes the first baseline"},
			&cli.StringFlag{Name: "save-baseline", Usage: "when the run passes (exit status 0: objectives held, no regression), make it the baseline at DIR (a copy of the run directory, put in place whole); after any other outcome DIR stays the last good run", DefaultText: "none"},
			&cli.StringFlag{Name: "threshold", Usage: "with a baseline: thresholds per metric, such as accuracy_drop=5pt,ttft_p95=+20% (see needlestorm compare --help)", DefaultText: "the campaign's regression.thresholds, else the defaults"},
			&cli.StringFlag{Name: "sim-profile", Usage: "simulator profile: " + strings.Join(sim.Profiles(), ", "), Value: "fast"},
			&cli.Float64Flag{Name: "sim-time-scale", Usage: "simulator wall seconds per simulated second (1 real time, 0 never sleep)", DefaultText: "the profile's"},
		}, append(objectiveFlags(runDefaultSLO), shardFlags()...)...),
		OnUsageError: usageError,
		Action:       runAction,
	}
}

// runTargetFlags describe the single target of a run without a campaign
// file; with a file they are refused (the file describes its targets), by
// the file field to set instead.
var runTargetFlags = []struct{ flag, field string }{
	{"target", "targets[].base_url"}, {"kind", "targets[].kind"}, {"model", "targets[].model"},
	{"name", "targets[].name"}, {"api-key-env", "targets[].api_key_env"}, {"header", "targets[].headers"},
	{"extra-body", "targets[].extra_body"}, {"max-tokens", "targets[].max_tokens"}, {"timeout", "targets[].timeout"},
	{"connect-timeout", "targets[].connect_timeout"}, {"sim-profile", "targets[].sim_profile"},
	{"server-metrics", "targets[].server_metrics"}, {"server-metrics-interval", "targets[].server_metrics_interval"},
	{"rates", "load.stages"}, {"concurrency", "load.stages"}, {"stage-duration", "load.stages"},
	{"requests-per-stage", "load.stages"},
}

// runSetup is what a run is asked: the campaign (from a file or from the
// flags, the flags' overrides applied and validated), its run directory,
// how to execute it and how to render its report.
type runSetup struct {
	camp   *campaign.Campaign
	dir    string
	exec   campaign.ExecOptions
	report reports.Options
	// baseline, when set, is what the run is compared with at its end,
	// by compare.
	baseline *reports.Figures
	compare  reports.RegressionOptions
	// saveBaseline is where a passing run is promoted to (--save-baseline).
	saveBaseline string
}

// reportOptions are the report's options for the run written to dir: the
// campaign's, with the routing answer when the campaign names a routing
// file.
func (s *runSetup) reportOptions(dir string) reports.Options {
	o := s.report
	o.Sections = routingSections(dir)
	return o
}

func runAction(c *cli.Context) error {
	s, err := runSetupOf(c)
	if err != nil {
		return err
	}
	if c.Bool("dry-run") {
		return runDryRun(c, s)
	}
	return runExecute(c, s)
}

// runSetupOf reads what the run is asked from the file and the flags.
func runSetupOf(c *cli.Context) (*runSetup, error) {
	args, err := trailingFlags(c)
	if err != nil {
		return nil, err
	}
	if len(args) > 1 {
		return nil, cli.Exit(fmt.Sprintf("run takes at most one campaign file, got %d arguments: %s", len(args), strings.Join(args, " ")), exitUsage)
	}
	s := &runSetup{}
	if len(args) == 1 {
		if s.camp, err = runFileCampaign(c, args[0]); err != nil {
			return nil, err
		}
		s.dir = s.camp.OutputDir(time.Now())
	} else {
		if s.camp, err = runFlagCampaign(c); err != nil {
			return nil, runUsage(err)
		}
		s.dir = s.camp.Output.Dir
		runFlagPtr(c, "seed", c.Int64, &s.exec.SimSeed)
	}
	runFlagPtr(c, "nonce-salt", c.Uint64, &s.exec.NonceSalt)
	if s.exec.Shard, err = shardOptions(c, s.camp); err != nil {
		return nil, err
	}
	s.exec.NoPreflight = c.Bool("no-preflight")
	s.exec.SkipTooLong = c.Bool("skip-too-long")
	if err := s.camp.CheckExec(s.exec); err != nil {
		return nil, runInvalid(err)
	}
	if err := runBaseline(c, s); err != nil {
		return nil, err
	}
	s.report = reports.Options{Objectives: s.camp.Objectives(), Prices: s.camp.Prices()}
	if c.IsSet("tolerance") {
		if s.report.Tolerance = c.Int("tolerance"); s.report.Tolerance < 0 {
			return nil, cli.Exit(fmt.Sprintf("--tolerance %d: give a number of tokens, 0 or more", s.report.Tolerance), exitUsage)
		}
	}
	return s, nil
}

// runDryRun prints the plan and checks it against the budget, sending
// nothing. Everything the run would refuse of the campaign was refused
// before, when it was validated; the run directory is checked as the run
// checks it.
func runDryRun(c *cli.Context, s *runSetup) error {
	if err := run.CheckDir(s.dir, c.Bool("overwrite")); err != nil {
		return err
	}
	plan, err := s.camp.Plan(c.Context)
	if err != nil {
		return err
	}
	if err := plan.Write(c.App.Writer); err != nil {
		return err
	}
	if err := plan.CheckBudget(); err != nil {
		return budgetError(fmt.Errorf("the plan is over budget: %w", err))
	}
	return nil
}

// runExecute runs the campaign under the signal handlers and live metrics,
// then renders the report and exits with the run's status.
func runExecute(c *cli.Context, s *runSetup) error {
	stderr := runStderr(c)
	grace := loadgen.DefaultGrace
	if s.camp.Grace != nil {
		grace = *s.camp.Grace
	}
	sig := runHandleSignals(c, stderr, grace)
	defer sig.stop()

	// The metrics server and pusher outlive an interrupt; they end with
	// the run.
	bg, endBg := context.WithCancel(context.WithoutCancel(c.Context))
	defer endBg()
	metrics, err := runStartMetrics(c, s, bg, stderr)
	if err != nil {
		return err
	}
	s.exec.Abort = sig.abort
	s.exec.Log = stderr
	s.exec.Progress = !c.Bool("quiet")
	b := currentBuild()
	s.exec.Tool, s.exec.Version, s.exec.Commit = "needlestorm", b.short(), b.Commit
	s.exec.Collector = collector
	s.exec.Overwrite = c.Bool("overwrite")
	s.exec.Tolerance = s.report.Tolerance
	if metrics != nil {
		s.exec.Observers = append(s.exec.Observers, metrics)
	}

	res, runErr := s.camp.Execute(sig.ctx, s.dir, s.exec)
	sig.finished.Store(true)
	if metrics != nil && c.String("metrics-push") != "" {
		runFinalPush(bg, metrics, c.String("metrics-push"), stderr)
	}
	if res == nil || res.Run == nil {
		var pf *campaign.PreflightFailure
		switch {
		case errors.As(runErr, &pf):
			return cli.Exit(fmt.Errorf("%w (--no-preflight skips these checks)", runErr), exitUnmeasured)
		case errors.Is(runErr, campaign.ErrBudget):
			return budgetError(runErr)
		}
		return runErr
	}
	return runFinish(c, s, res, runErr)
}

func runStderr(c *cli.Context) io.Writer {
	if c.App.ErrWriter != nil {
		return c.App.ErrWriter
	}
	return os.Stderr
}

// runSignals is the run's handling of SIGINT and SIGTERM: ctx ends at the
// first (sending stops, requests in flight have the grace period), abort
// at the second (they are canceled, each still recorded, the manifest
// written); a third, or a second once finished is set (the run directory
// is written), exits at once. The handler stays installed until stop, so
// that neither a default nor an inherited "ignore" disposition comes back
// between signals.
type runSignals struct {
	ctx, abort context.Context
	finished   *atomic.Bool
	stop       func()
}

func runHandleSignals(c *cli.Context, stderr io.Writer, grace time.Duration) runSignals {
	ctx, interrupt := context.WithCancelCause(c.Context)
	abortCtx, abort := context.WithCancelCause(context.WithoutCancel(c.Context))
	finished := &atomic.Bool{}
	sigs := make(chan os.Signal, 3)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go runWatchSignals(sigs, done, stderr, grace, interrupt, abort, finished)
	return runSignals{ctx: ctx, abort: abortCtx, finished: finished, stop: func() {
		signal.Stop(sigs)
		close(done)
		abort(nil)
		interrupt(nil)
	}}
}

// runStartMetrics serves and pushes live metrics when asked (nil when
// not), every series labelled with the run directory's name and the
// campaign's.
func runStartMetrics(c *cli.Context, s *runSetup, bg context.Context, stderr io.Writer) (*live.Metrics, error) {
	addr, push := c.String("metrics-addr"), c.String("metrics-push")
	if addr == "" && push == "" {
		return nil, nil
	}
	if _, err := live.PushURL(push); push != "" && err != nil {
		return nil, cli.Exit("--metrics-push: "+err.Error(), 2)
	}
	metrics := live.NewMetrics(live.WithRun(filepath.Base(s.dir)), live.WithCampaign(s.camp.Name))
	if addr != "" {
		bound, err := metrics.Serve(bg, addr)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "serving live metrics on http://%s/metrics\n", bound)
	}
	if push != "" {
		logErr := func(format string, args ...any) { fmt.Fprintf(stderr, "needlestorm: "+format+"\n", args...) }
		if err := metrics.StartPush(bg, push, c.Duration("metrics-push-interval"), logErr); err != nil {
			return nil, err
		}
	}
	return metrics, nil
}

// runFinalPush pushes the run's last figures.
func runFinalPush(bg context.Context, metrics *live.Metrics, url string, stderr io.Writer) {
	ctx, cancel := context.WithTimeout(bg, 5*time.Second)
	defer cancel()
	if err := metrics.PushOnce(ctx, url); err != nil {
		fmt.Fprintf(stderr, "needlestorm: final metrics push: %v\n", err)
	}
}

// runFinish renders the report (the single call site of report rendering;
// interrupted runs too, their records are complete up to the
// interruption; after a second interrupt the user wants out, and the
// report is left to `needlestorm report DIR`), prints the summary and
// returns the run's exit status.
func runFinish(c *cli.Context, s *runSetup, res *campaign.Result, runErr error) error {
	var summary *reports.Summary
	if res.Aborted {
		fmt.Fprintf(runStderr(c), "needlestorm: the report was not rendered; `needlestorm report %s` renders it\n", res.Run.Dir)
	} else if sum, err := reports.Write(res.Run.Dir, s.reportOptions(res.Run.Dir)); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("rendering the report: %w", err))
	} else {
		summary = sum
	}
	runSummary(c.App.Writer, res, summary)
	if summary != nil {
		runErr = errors.Join(runErr, reportRoutes(c.App.Writer, res.Run.Dir, res.Run.Dir, summary))
	}

	r := res.Run
	if r.Status == run.StatusInterrupted {
		if res.Stopped != nil {
			return cli.Exit(fmt.Sprintf("needlestorm: campaign stopped (%s); %d records kept in %s", res.Stopped, r.Records, r.Dir), exitBudget)
		}
		return cli.Exit(fmt.Sprintf("needlestorm: run interrupted (%s); %d records kept in %s", r.Reason, r.Records, r.Dir), exitInterrupted)
	}
	if runErr != nil || summary == nil {
		return runErr
	}
	verdict := routedVerdict(summary.Verdict(), s.camp.RoutingFile() != nil)
	if s.baseline != nil && exitCode(verdict) != exitUnmeasured {
		fmt.Fprintf(c.App.Writer, "\ncompared with the baseline %s:\n", s.baseline.Source)
		cur := &reports.Figures{Source: r.Dir, Kind: reports.FiguresRun, Run: summary.Run, Corpus: summary.Run.Corpus}
		if summary.Envelope != nil {
			cur.Env = *summary.Envelope
		}
		verdict = worstExit(verdict, compareFigures(c.App.Writer, s.baseline, cur, s.compare, compareIntoDir(r.Dir)))
	}
	return worstExit(verdict, runSaveBaseline(c, s, r.Dir, verdict))
}

// runSaveBaseline promotes a passing run to the --save-baseline directory
// and says what became of the baseline either way.
func runSaveBaseline(c *cli.Context, s *runSetup, dir string, verdict error) error {
	if s.saveBaseline == "" {
		return nil
	}
	if code := exitCode(verdict); code != exitOK {
		fmt.Fprintf(c.App.Writer, "\nnot saved as the baseline (exit status %d): %s stays the last good run\n", code, s.saveBaseline)
		return nil
	}
	if err := run.Promote(dir, s.saveBaseline); err != nil {
		return fmt.Errorf("--save-baseline: %w", err)
	}
	fmt.Fprintf(c.App.Writer, "\nthis run is the baseline now: %s\n", s.saveBaseline)
	return nil
}

// runBaseline reads the baseline the run is to be compared with
// (--baseline, else the campaign's regression.baseline) before anything
// is sent, and the comparison's thresholds.
func runBaseline(c *cli.Context, s *runSetup) error {
	s.saveBaseline = c.String("save-baseline")
	path := cmp.Or(c.String("baseline"), s.camp.Regression.Baseline)
	if path == "" {
		if c.IsSet("threshold") {
			return cli.Exit("--threshold bounds a comparison with a baseline: give --baseline DIR (or regression.baseline in the campaign) too", exitUsage)
		}
		if c.Bool("baseline-optional") {
			return cli.Exit("--baseline-optional says what to do when the baseline does not exist yet: give --baseline DIR (or regression.baseline in the campaign) too", exitUsage)
		}
		return nil
	}
	field := "--baseline"
	if !c.IsSet("baseline") {
		field = "regression.baseline"
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && c.Bool("baseline-optional") {
		fmt.Fprintf(c.App.Writer, "no baseline at %s yet (--baseline-optional): this run is not compared\n", path)
		return nil
	}
	base, err := reports.LoadFigures(path)
	if err != nil {
		return cli.Exit(fmt.Sprintf("%s: %v", field, err), exitUsage)
	}
	if s.compare, err = compareOptions(c, s.camp); err != nil {
		return err
	}
	s.baseline = base
	return nil
}

// runWatchSignals acts on SIGINT and SIGTERM until done is closed: the
// first interrupts the run (sending stops, requests in flight have the
// grace period), the second aborts it (requests in flight are canceled and
// recorded as such, the manifest written), the third exits at once, as does
// the second when the run directory is already finished.
func runWatchSignals(sigs <-chan os.Signal, done <-chan struct{}, stderr io.Writer, grace time.Duration,
	interrupt, abort context.CancelCauseFunc, finished *atomic.Bool) {
	for n := 1; ; n++ {
		var sig os.Signal
		select {
		case sig = <-sigs:
		case <-done:
			return
		}
		switch {
		case n == 1:
			fmt.Fprintf(stderr, "\nneedlestorm: %s: sending stopped; requests in flight have %s to finish (Ctrl-C again to cancel them now)\n", sig, grace)
			interrupt(fmt.Errorf("received %s", sig))
		case n == 2 && !finished.Load():
			fmt.Fprintf(stderr, "\nneedlestorm: %s again: canceling the requests in flight; writing their records and the manifest (Ctrl-C again to quit at once)\n", sig)
			abort(errors.New(runAbortReason))
		default:
			fmt.Fprintf(stderr, "\nneedlestorm: %s: quitting at once\n", sig)
			os.Exit(exitInterrupted)
		}
	}
}

// runAbortReason is the manifest's reason after a second interrupt.
const runAbortReason = "second interrupt: requests in flight canceled"

// runFileCampaign loads a campaign file and lays the flags the user set
// over it.
func runFileCampaign(c *cli.Context, path string) (*campaign.Campaign, error) {
	for _, f := range runTargetFlags {
		if c.IsSet(f.flag) {
			return nil, cli.Exit(fmt.Sprintf("--%s describes the target of a run without a campaign file; with %s, set %s in the file instead", f.flag, path, f.field), exitUsage)
		}
	}
	camp, err := campaign.Load(path)
	if err != nil {
		var ce *campaign.Error
		var ces campaign.Errors
		if errors.As(err, &ce) || errors.As(err, &ces) {
			return nil, runInvalid(err)
		}
		return nil, err
	}
	o, err := runOverrides(c, false)
	if err != nil {
		return nil, err
	}
	if err := camp.Override(o); err != nil {
		return nil, runInvalid(err)
	}
	return camp, nil
}

// runInvalid is the usage error of a campaign that does not validate: each
// mistake with its place in the file or the flag that set it.
func runInvalid(err error) error {
	return cli.Exit(strings.TrimRight(campaign.Detail(err), "\n"), exitUsage)
}

// runDefaulted are the flags whose default is a value of the campaign a run
// without a file takes from its flags; the others, and all of them over a
// campaign file, override only when given. --max-in-flight and --grace
// are no file's values: their defaults always apply.
var runDefaulted = []string{"lengths", "depths", "task", "samples", "haystack", "seed", "slo"}

// runOverrides are the flags that override a campaign's values: those the
// user gave, and with defaulted those of runDefaulted at their defaults too
// (a run without a file). Only their syntax is checked here; their values
// are validated with the campaign's, by Override.
func runOverrides(c *cli.Context, defaulted bool) (campaign.Overrides, error) {
	use := func(name string) bool {
		if name == "lengths" && c.IsSet("dataset") && !c.IsSet("lengths") {
			return false // the dataset's cases alone, unless lengths are asked for too
		}
		return c.IsSet(name) || (defaulted && slices.Contains(runDefaulted, name))
	}
	var o campaign.Overrides
	var err error
	if c.IsSet("targets") {
		o.Only = runSplit(c.String("targets"))
	}
	if use("lengths") {
		if o.Lengths, err = corpus.ParseLengths(c.String("lengths")); err != nil {
			return o, cli.Exit(fmt.Sprintf("--lengths: %v", err), exitUsage)
		}
	}
	if use("depths") {
		if o.Depths, err = corpus.ParseDepths(c.String("depths")); err != nil {
			return o, cli.Exit(fmt.Sprintf("--depths: %v", err), exitUsage)
		}
	}
	if use("task") {
		o.Tasks = runSplit(c.String("task"))
	}
	if use("haystack") {
		o.Haystack = c.String("haystack")
	}
	if use("dataset") {
		o.Dataset = c.String("dataset")
	}
	if use("pad-to") {
		if o.PadTo, err = corpus.ParseLengths(c.String("pad-to")); err != nil {
			return o, cli.Exit(fmt.Sprintf("--pad-to: %v", err), exitUsage)
		}
	}
	if use("pad-depths") {
		if o.PadDepths, err = corpus.ParsePadDepths(c.String("pad-depths")); err != nil {
			return o, cli.Exit(fmt.Sprintf("--pad-depths: %v", err), exitUsage)
		}
	}
	runOverride(use, c.Int, map[string]**int{"samples": &o.Samples, "repeats": &o.Repeats})
	runOverride(use, c.Int64, map[string]**int64{"seed": &o.Seed})
	runOverride(use, c.Bool, map[string]**bool{"canaries": &o.Canaries, "shared-prefix": &o.SharedPrefix, "accuracy-relative": &o.AccuracyRelative})
	runOverride(use, c.String, map[string]**string{"slo": &o.SLO, "require": &o.Require})
	runOverride(use, c.Float64, map[string]**float64{"accuracy": &o.Accuracy, "sim-time-scale": &o.TimeScale, "max-cost": &o.MaxCostUSD})
	runOverride(use, c.Duration, map[string]**time.Duration{"warmup": &o.Warmup, "max-duration": &o.MaxDuration})
	always := func(string) bool { return true }
	runOverride(always, c.Int, map[string]**int{"max-in-flight": &o.MaxInFlight})
	runOverride(always, c.Duration, map[string]**time.Duration{"grace": &o.Grace})
	o.OutputDir = c.String("out")
	return o, nil
}

// runOverride points each *dst at the value of its flag (read with get,
// such as c.Bool) when use says the flag counts.
func runOverride[T any](use func(string) bool, get func(name string) T, dsts map[string]**T) {
	for name, dst := range dsts {
		if use(name) {
			v := get(name)
			*dst = &v
		}
	}
}

// runFlagPtr points *dst at the value of flag name (read with get, such as
// c.Bool) when the user gave the flag, and leaves *dst alone when not: an
// override that is nil keeps the campaign file's value.
func runFlagPtr[T any](c *cli.Context, name string, get func(name string) T, dst **T) {
	if c.IsSet(name) {
		v := get(name)
		*dst = &v
	}
}

// runUsage makes err a usage error, exiting with status 2 as a flag that
// does not parse does, unless it already carries an exit status.
func runUsage(err error) error {
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		return err
	}
	return cli.Exit(err, exitUsage)
}

// runSplit splits a comma-separated list, dropping empty entries.
func runSplit(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// runFlagCampaign builds the one-target campaign the flags describe (a run
// without a campaign file), so that both kinds of run take one path: the
// target and the stages from their flags, every other value as an override
// of the flags (at their defaults when not given), validated once with the
// campaign. Every mistake names its flag.
func runFlagCampaign(c *cli.Context) (*campaign.Campaign, error) {
	if c.IsSet("targets") {
		return nil, cli.Exit("--targets picks targets of a campaign file; without one, give the target with --target", exitUsage)
	}
	camp := &campaign.Campaign{}
	t, err := runFlagTarget(c, camp)
	if err != nil {
		return nil, err
	}
	camp.Name, camp.TargetList = t.Name, []campaign.Target{t}
	if camp.Load.Stages, err = runFlagStages(c, camp); err != nil {
		return nil, err
	}
	o, err := runOverrides(c, true)
	if err != nil {
		return nil, err
	}
	if o.OutputDir == "" {
		o.OutputDir = filepath.Join("runs", time.Now().Format("20060102-150405"))
	}
	if err := camp.Override(o); err != nil {
		return nil, runInvalid(err)
	}
	return camp, nil
}

// runFlagKind is the target's kind and whether it is the built-in
// simulator.
func runFlagKind(c *cli.Context) (kind string, useSim bool, err error) {
	tgt := strings.TrimSpace(c.String("target"))
	kind = strings.ToLower(strings.TrimSpace(c.String("kind")))
	useSim = tgt == "" || tgt == "sim" || kind == campaign.KindSim
	switch {
	case kind != "" && !slices.Contains(campaign.TargetKinds, kind):
		return "", false, fmt.Errorf("--kind %q: use openai, anthropic or sim", c.String("kind"))
	case useSim && tgt != "" && tgt != "sim":
		return "", false, fmt.Errorf("--kind sim runs the built-in simulator; drop --target %s, or give --kind openai or anthropic for it", endpoint.RedactURL(tgt))
	case useSim && kind == endpoint.KindAnthropic:
		return "", false, errors.New("the built-in simulator is measured through its OpenAI API here; drop --kind anthropic, or start `needlestorm sim` and give its URL with --target and --kind anthropic")
	case useSim:
		return campaign.KindSim, true, nil
	}
	return cmp.Or(kind, endpoint.KindOpenAI), false, nil
}

// runTargetFields are the target's fields the flags set, for a mistake to
// name its flag. A field whose zero the target's defaults replace (such as
// max_tokens) counts as set by its flag only when the flag is given, so
// that an explicit --max-tokens 0 is refused and the default is not.
var runTargetFields = []struct {
	flag, field string
	always      bool
}{
	{"target", "base_url", false}, {"kind", "kind", true}, {"model", "model", true}, {"name", "name", false},
	{"api-key-env", "api_key_env", false}, {"header", "headers", true}, {"extra-body", "extra_body", true},
	{"max-tokens", "max_tokens", false}, {"timeout", "timeout", false}, {"connect-timeout", "connect_timeout", false},
	{"sim-profile", "sim_profile", true},
	{"server-metrics", "server_metrics", false}, {"server-metrics-interval", "server_metrics_interval", false},
}

// runFlagTarget is the target the flags describe, named by the model
// unless --name is given.
func runFlagTarget(c *cli.Context, camp *campaign.Campaign) (campaign.Target, error) {
	kind, useSim, err := runFlagKind(c)
	if err != nil {
		return campaign.Target{}, err
	}
	t := campaign.Target{TargetConfig: endpoint.TargetConfig{
		Name:           c.String("name"),
		Kind:           kind,
		Model:          c.String("model"),
		APIKeyEnv:      c.String("api-key-env"),
		MaxTokens:      c.Int("max-tokens"),
		Timeout:        c.Duration("timeout"),
		ConnectTimeout: c.Duration("connect-timeout"),

		ServerMetrics:         strings.TrimSpace(c.String("server-metrics")),
		ServerMetricsInterval: c.Duration("server-metrics-interval"),
	}}
	camp.SetFrom("targets", "target")
	for _, f := range runTargetFields {
		if f.always || c.IsSet(f.flag) {
			camp.SetFrom("targets[0]."+f.field, f.flag)
		}
	}
	if useSim {
		t.SimProfile = c.String("sim-profile")
		model := t.SimProfile
		if cfg, err := sim.Profile(t.SimProfile); err == nil {
			model = cfg.Model // a bad profile is refused with the campaign
		}
		t.Name = cmp.Or(t.Name, t.Model, model)
	} else {
		t.BaseURL = strings.TrimSpace(c.String("target"))
		if t.Name == "" && t.Model != "" {
			t.Name = endpoint.DefaultTargetName(t.Model)
			if t.Name != strings.TrimSpace(t.Model) {
				fmt.Fprintf(runStderr(c), "note: the target is named %q after model %q (a name may not hold a slash); give --name to choose another\n", t.Name, t.Model)
			}
		}
	}
	if t.Headers, err = runParseHeaders(c.StringSlice("header")); err != nil {
		return t, err
	}
	if eb := c.String("extra-body"); eb != "" {
		if err := json.Unmarshal([]byte(eb), &t.ExtraBody); err != nil || t.ExtraBody == nil {
			return t, fmt.Errorf("--extra-body must be a JSON object such as '{\"top_k\":1}': %v", err)
		}
	}
	return t, nil
}

// runParseHeaders parses --header Name=value entries.
func runParseHeaders(entries []string) (map[string]string, error) {
	var out map[string]string
	for _, h := range entries {
		k, v, ok := strings.Cut(h, "=")
		if !ok || strings.TrimSpace(k) == "" {
			// The value may be a secret: it is not repeated here.
			return nil, errors.New("a --header is not written as Name=value")
		}
		if out == nil {
			out = map[string]string{}
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, nil
}

// runFlagStages are the stages the flags describe: one constant-rate stage
// per --rates entry, or one stage of --concurrency requests in flight, each
// bounded by --stage-duration and --requests-per-stage (with --repeats,
// by cases × repeats, --stage-duration only capping it when given).
func runFlagStages(c *cli.Context, camp *campaign.Campaign) ([]loadgen.Stage, error) {
	dur, reqs := c.Duration("stage-duration"), c.Int("requests-per-stage")
	switch {
	case c.IsSet("repeats"):
		if !c.IsSet("stage-duration") {
			dur = 0
		}
	case dur == 0 && reqs == 0:
		return nil, errors.New("every stage needs an end: give --stage-duration, --requests-per-stage, --repeats, or a combination")
	}
	camp.SetFrom("load.stages[].duration", "stage-duration")
	camp.SetFrom("load.stages[].requests", "requests-per-stage")
	base := loadgen.Stage{Duration: run.Seconds(dur), Requests: reqs}
	if c.IsSet("concurrency") {
		if c.IsSet("rates") {
			return nil, errors.New("give --rates (open loop) or --concurrency (closed loop), not both")
		}
		camp.SetFrom("load.stages", "concurrency")
		base.Kind, base.Concurrency = loadgen.StageConcurrency, c.Int("concurrency")
		return []loadgen.Stage{base}, nil
	}
	rates, err := runParseRates(c.String("rates"))
	if err != nil {
		return nil, err
	}
	camp.SetFrom("load.stages", "rates")
	stages := make([]loadgen.Stage, len(rates))
	for i, r := range rates {
		stages[i] = base
		stages[i].Kind, stages[i].Rate = loadgen.StageConstant, r
	}
	return stages, nil
}

// runParseRates parses "1,2,4,8" (requests per second).
func runParseRates(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSuffix(strings.TrimSpace(f), "/s")
		r, err := strconv.ParseFloat(f, 64)
		if err != nil || !(r > 0) || r > 1e6 {
			return nil, fmt.Errorf("--rates %q: write positive requests per second, such as 1,2,4,8 or 0.5", s)
		}
		out = append(out, r)
	}
	return out, nil
}

// runSummary prints the one end-of-run summary: the report's (status,
// objectives, the envelope per target, where report.html is), or when there
// is none (the report was not rendered) the status line, then what only
// the run knows: a budget that stopped it, how each target's turn went,
// errors by class, requests the in-flight cap held back and the run
// directory.
func runSummary(w io.Writer, res *campaign.Result, s *reports.Summary) {
	r := res.Run
	took := r.EndedAt.Sub(r.StartedAt).Round(100 * time.Millisecond)
	if s != nil {
		fmt.Fprint(w, termsafe.Text(s.Text()))
		fmt.Fprintln(w)
	} else {
		fmt.Fprintf(w, "run %s: %d records in %s\n", r.Status, r.Records, took)
		if r.Reason != "" {
			fmt.Fprintf(w, "reason: %s\n", r.Reason)
		}
	}
	if res.Stopped != nil {
		fmt.Fprintf(w, "stopped by the %s\n", res.Stopped)
	}
	if len(res.Targets) > 1 {
		// How each target's turn went: the report lists only those that
		// sent something.
		parts := make([]string, len(res.Targets))
		for i, t := range res.Targets {
			parts[i] = fmt.Sprintf("%s %s (%s)", t.Name, t.Status, runPlural(int(t.Records), "record"))
		}
		fmt.Fprintf(w, "targets: %s\n", strings.Join(parts, ", "))
	}
	// Requests needlestorm itself canceled are no error of a target:
	// they are counted apart, as the report does.
	parts := make([]string, 0, len(r.Errors))
	var total int64
	for _, k := range r.ErrorClasses() {
		if k == run.ErrCanceled {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d", k, r.Errors[k]))
		total += r.Errors[k]
	}
	if total == 0 {
		fmt.Fprintln(w, "errors: none")
	} else {
		fmt.Fprintf(w, "errors: %d (%s), warm-up included\n", total, strings.Join(parts, ", "))
	}
	if n := r.Errors[run.ErrCanceled]; n > 0 {
		fmt.Fprintf(w, "canceled by needlestorm itself: %s (no error of the target; left out of its figures)\n", runPlural(int(n), "request"))
	}
	if r.HeldBack > 0 {
		fmt.Fprintf(w, "held back by --max-in-flight: %d requests (see send_lag)\n", r.HeldBack)
	}
	fmt.Fprintf(w, "run directory: %s\n", r.Dir)
}

// runPlural writes "1 case" or "3 cases".
func runPlural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
