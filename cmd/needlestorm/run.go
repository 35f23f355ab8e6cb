package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/loadgen/sim"
	"github.com/needlestorm/needlestorm/reports"
)

// Defaults of `needlestorm run`: small enough that a run against the
// in-process simulator (`make run`) takes about a minute.
const (
	runDefaultLengths       = "1k,4k"
	runDefaultDepths        = "0,50,100"
	runDefaultRates         = "1,2,4,8"
	runDefaultStageDuration = 10 * time.Second
	runExitInterrupted      = 130
	// runDefaultSLO are the latency objectives a run is judged by unless
	// --slo says otherwise: interactive-chat figures.
	runDefaultSLO = "ttft_p95=2s,e2e_p95=30s,error_rate=0.01"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "drive one target with needle prompts on a schedule and record every request",
		ArgsUsage: " ",
		Description: `Builds the needle-in-a-haystack cases (tasks × lengths × depths × samples),
sends them to one target on a schedule (one constant-rate stage per --rates
entry, or one closed-loop stage of --concurrency requests in flight), scores
every answer, and writes a run directory: manifest.json and records.jsonl.

With no --target (or --target sim) the built-in simulator is started on
loopback and measured. API keys are read from the environment variable
--api-key-env names and never appear in any output.

Ctrl-C (or SIGTERM) stops sending, lets requests in flight finish for
--grace, writes every completed request, marks the run interrupted and exits
with status 130.`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "target", Usage: "the endpoint's base URL (such as http://127.0.0.1:8000/v1), or sim for the built-in simulator", Value: "sim"},
			&cli.StringFlag{Name: "kind", Usage: "API of the target: openai, anthropic, or sim (the simulator, spoken to as openai)"},
			&cli.StringFlag{Name: "model", Usage: "model name to ask for (default: the simulator's model)"},
			&cli.StringFlag{Name: "name", Usage: "name of the target in records and reports (default: the model)"},
			&cli.StringFlag{Name: "api-key-env", Usage: "name of the environment variable holding the API key (default OPENAI_API_KEY or ANTHROPIC_API_KEY)"},
			&cli.StringSliceFlag{Name: "header", Usage: "extra request header K=V (repeatable); a value ${NAME} is read from the environment"},
			&cli.StringFlag{Name: "extra-body", Usage: `JSON object merged into every request body, such as '{"top_k":1}'`},
			&cli.StringFlag{Name: "lengths", Usage: "prompt lengths in tokens, such as 1k,8k,32k", Value: runDefaultLengths},
			&cli.StringFlag{Name: "depths", Usage: "needle depths in percent, such as 0,25,50,75,100", Value: runDefaultDepths},
			&cli.StringFlag{Name: "task", Usage: "tasks, comma-separated: " + strings.Join(corpus.Tasks, ", "), Value: corpus.TaskSingle},
			&cli.IntFlag{Name: "samples", Usage: "cases per (task, length, depth)", Value: 1},
			&cli.StringFlag{Name: "haystack", Usage: "haystack: prose, noise or dir:PATH", Value: corpus.HaystackProse},
			&cli.Int64Flag{Name: "seed", Usage: "seed of the cases, of Poisson schedules and of the simulator", Value: 1},
			&cli.StringFlag{Name: "rates", Usage: "request rates per second, one constant stage each", Value: runDefaultRates},
			&cli.IntFlag{Name: "concurrency", Usage: "instead of --rates: one stage keeping N requests in flight"},
			&cli.DurationFlag{Name: "stage-duration", Usage: "how long each stage lasts (0: bounded by --requests-per-stage only)", Value: runDefaultStageDuration},
			&cli.IntFlag{Name: "requests-per-stage", Usage: "end each stage after this many requests (0: bounded by --stage-duration only)"},
			&cli.DurationFlag{Name: "warmup", Usage: "a warm-up stage of this length before the first, recorded but left out of statistics"},
			&cli.IntFlag{Name: "max-tokens", Usage: "cap on answer tokens (default: the target's default)"},
			&cli.DurationFlag{Name: "timeout", Usage: "per-request timeout (default: the target's, generous for long prompts)"},
			&cli.DurationFlag{Name: "connect-timeout", Usage: "timeout to connect (default: the target's)"},
			&cli.IntFlag{Name: "max-in-flight", Usage: "cap on requests in flight; a request held back is recorded with its send_lag", Value: loadgen.DefaultMaxInFlight},
			&cli.DurationFlag{Name: "grace", Usage: "on interrupt, how long requests in flight may finish before they are canceled", Value: loadgen.DefaultGrace},
			&cli.StringFlag{Name: "out", Usage: "run directory to write (default runs/<timestamp>)"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace a run already in --out instead of refusing to"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress display"},
			&cli.StringFlag{Name: "metrics-addr", Usage: "serve live Prometheus metrics on /metrics at this address, such as 127.0.0.1:9464"},
			&cli.StringFlag{Name: "metrics-push", Usage: "push live metrics to this VictoriaMetrics URL, such as http://127.0.0.1:8428/api/v1/import/prometheus"},
			&cli.DurationFlag{Name: "metrics-push-interval", Usage: "how often to push metrics", Value: 10 * time.Second},
			&cli.StringFlag{Name: "sim-profile", Usage: "simulator profile: " + strings.Join(sim.Profiles(), ", "), Value: "fast"},
			&cli.Float64Flag{Name: "sim-time-scale", Usage: "simulator wall seconds per simulated second (1 real time, 0 never sleep; default: the profile's)"},
		}, objectiveFlags(runDefaultSLO)...),
		Action: runAction,
	}
}

// runOptions is what `needlestorm run` was asked, parsed and checked.
type runOptions struct {
	useSim     bool
	simProfile string
	target     loadgen.TargetConfig
	matrix     corpus.Matrix
	sched      loadgen.Schedule
	out        string
	report     reports.Options
}

func runAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("run takes no arguments (got %q): give the target with --target", c.Args().First())
	}
	opts, err := runParse(c)
	if err != nil {
		return err
	}
	stderr := c.App.ErrWriter
	if stderr == nil {
		stderr = os.Stderr
	}

	// SIGINT/SIGTERM cancel ctx; a second one ends the process at once.
	ctx, interrupt := context.WithCancelCause(c.Context)
	defer interrupt(nil)
	grace := c.Duration("grace")
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case sig := <-sigs:
			signal.Stop(sigs)
			fmt.Fprintf(stderr, "\nneedlestorm: %s: sending stopped; requests in flight have %s to finish (Ctrl-C again to quit now)\n", sig, grace)
			interrupt(fmt.Errorf("received %s", sig))
		case <-ctx.Done():
		}
	}()
	// Things that must outlive an interrupt (the simulator, the metrics
	// server) live on bg, ended when the run is over.
	bg, endBg := context.WithCancel(context.WithoutCancel(c.Context))
	defer endBg()

	cases, err := opts.matrix.Cases(ctx)
	if err != nil {
		return fmt.Errorf("building the cases: %w", err)
	}

	if opts.useSim {
		srv, err := runStartSim(bg, c, opts)
		if err != nil {
			return err
		}
		defer srv.Close()
		fmt.Fprintf(stderr, "no remote target: started the built-in simulator (profile %s, model %s) on %s\n",
			opts.simProfile, srv.Config().Model, srv.URL())
		opts.target.BaseURL = srv.URL()
		if opts.target.Kind == loadgen.KindAnthropic {
			opts.target.BaseURL = strings.TrimSuffix(srv.URL(), "/v1")
		}
		if opts.target.Model == "" {
			opts.target.Model = srv.Config().Model
		}
	}
	if opts.target.Name == "" {
		opts.target.Name = opts.target.Model
	}
	target, err := loadgen.NewTarget(opts.target)
	if err != nil {
		return err
	}
	if cl, ok := target.(io.Closer); ok {
		defer cl.Close()
	}

	runOpts := []loadgen.Option{
		loadgen.Tool("needlestorm", version()),
		loadgen.Asked([]loadgen.TargetConfig{opts.target}, opts.matrix),
		loadgen.Objectives(opts.report.Objectives),
		loadgen.Model(opts.target.Model),
		loadgen.Seed(c.Int64("seed")),
		loadgen.MaxInFlight(c.Int("max-in-flight")),
		loadgen.Grace(grace),
		loadgen.Overwrite(c.Bool("overwrite")),
	}
	var metrics *loadgen.Metrics
	if addr, push := c.String("metrics-addr"), c.String("metrics-push"); addr != "" || push != "" {
		metrics = loadgen.NewMetrics()
		runOpts = append(runOpts, loadgen.Observe(metrics))
		if addr != "" {
			bound, err := metrics.Serve(bg, addr)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "serving live metrics on http://%s/metrics\n", bound)
		}
		if push != "" {
			logErr := func(format string, args ...any) { fmt.Fprintf(stderr, "needlestorm: "+format+"\n", args...) }
			if err := metrics.StartPush(bg, push, c.Duration("metrics-push-interval"), logErr); err != nil {
				return err
			}
		}
	}
	progressDone := make(chan struct{})
	progressCtx, endProgress := context.WithCancel(bg)
	defer endProgress()
	if c.Bool("quiet") {
		close(progressDone)
	} else {
		tracker := loadgen.NewTracker(opts.target.Name, opts.sched)
		runOpts = append(runOpts, loadgen.Observe(tracker))
		p := loadgen.NewProgress(stderr, tracker, loadgen.DefaultProgressInterval)
		go func() { defer close(progressDone); p.Run(progressCtx) }()
	}
	runner, err := loadgen.NewRunner(target, cases, opts.sched, runOpts...)
	if err != nil {
		return err
	}

	expected, known := opts.sched.ExpectedDuration()
	about := "unknown (a stage is bounded by requests only)"
	if known {
		about = "about " + expected.Round(time.Second).String()
	}
	fmt.Fprintf(stderr, "run: %s against %s (%s), %s, %s; writing %s\n",
		runPlural(len(cases), "case"), opts.target.Name, runRedactURL(opts.target.BaseURL), runPlural(len(opts.sched), "stage"), about, opts.out)

	res, runErr := runner.Run(ctx, opts.out)
	endProgress()
	<-progressDone
	if metrics != nil && c.String("metrics-push") != "" {
		pushCtx, cancel := context.WithTimeout(bg, 5*time.Second)
		if err := metrics.PushOnce(pushCtx, c.String("metrics-push")); err != nil {
			fmt.Fprintf(stderr, "needlestorm: final metrics push: %v\n", err)
		}
		cancel()
	}
	if res == nil {
		return runErr
	}
	runSummary(c.App.Writer, res)

	// The single call site of report rendering (the reports issue fills in
	// runRenderReport). It runs for interrupted runs too: their records are
	// complete up to the interruption.
	if err := runRenderReport(res.Dir, opts.report, c.App.Writer); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("rendering the report: %w", err))
	}

	switch res.Status {
	case loadgen.StatusComplete:
		return runErr
	case loadgen.StatusInterrupted:
		return cli.Exit(fmt.Sprintf("needlestorm: run interrupted (%s); %d records kept in %s", res.Reason, res.Records, res.Dir), runExitInterrupted)
	}
	return runErr
}

// runRenderReport writes the run's reports into dir and prints the
// one-screen summary: the envelope per target and where report.html is.
func runRenderReport(dir string, opts reports.Options, w io.Writer) error {
	s, err := reports.Write(dir, opts)
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(w, s.Text())
	return err
}

// runParse reads and checks every flag.
func runParse(c *cli.Context) (*runOptions, error) {
	o := &runOptions{simProfile: c.String("sim-profile")}

	// Target.
	tgt := strings.TrimSpace(c.String("target"))
	kind := strings.ToLower(strings.TrimSpace(c.String("kind")))
	o.useSim = tgt == "" || tgt == "sim" || kind == "sim"
	switch {
	case o.useSim && tgt != "" && tgt != "sim":
		return nil, fmt.Errorf("--kind sim runs the built-in simulator; drop --target %s, or give --kind openai or anthropic for it", runRedactURL(tgt))
	case kind == "" || kind == "sim":
		kind = loadgen.KindOpenAI
	case kind != loadgen.KindOpenAI && kind != loadgen.KindAnthropic:
		return nil, fmt.Errorf("--kind %q: use openai, anthropic or sim", c.String("kind"))
	}
	if !o.useSim {
		u, err := url.Parse(tgt)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("--target %q is not an http(s) URL such as http://127.0.0.1:8000/v1 (or sim)", runRedactURL(tgt))
		}
	}
	o.target = loadgen.TargetConfig{
		Name:           c.String("name"),
		Kind:           kind,
		Model:          c.String("model"),
		APIKeyEnv:      c.String("api-key-env"),
		MaxTokens:      c.Int("max-tokens"),
		Timeout:        c.Duration("timeout"),
		ConnectTimeout: c.Duration("connect-timeout"),
	}
	if o.useSim {
		if _, err := sim.Profile(o.simProfile); err != nil {
			return nil, fmt.Errorf("--sim-profile: %w", err)
		}
	} else {
		o.target.BaseURL = tgt
	}
	for _, h := range c.StringSlice("header") {
		k, v, ok := strings.Cut(h, "=")
		if !ok || strings.TrimSpace(k) == "" {
			// The value may be a secret: it is not repeated here.
			return nil, errors.New("a --header is not written as Name=value")
		}
		if o.target.Headers == nil {
			o.target.Headers = map[string]string{}
		}
		o.target.Headers[strings.TrimSpace(k)] = v
	}
	if eb := c.String("extra-body"); eb != "" {
		if err := json.Unmarshal([]byte(eb), &o.target.ExtraBody); err != nil || o.target.ExtraBody == nil {
			return nil, fmt.Errorf("--extra-body must be a JSON object such as '{\"top_k\":1}': %v", err)
		}
	}

	// Corpus.
	lengths, err := corpus.ParseLengths(c.String("lengths"))
	if err != nil {
		return nil, fmt.Errorf("--lengths: %w", err)
	}
	depths, err := corpus.ParseDepths(c.String("depths"))
	if err != nil {
		return nil, fmt.Errorf("--depths: %w", err)
	}
	if c.Int("samples") < 1 {
		return nil, fmt.Errorf("--samples must be at least 1, got %d", c.Int("samples"))
	}
	var tasks []string
	for _, t := range strings.Split(c.String("task"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			tasks = append(tasks, t)
		}
	}
	o.matrix = corpus.Matrix{
		Tasks:    tasks,
		Lengths:  lengths,
		Depths:   depths,
		Samples:  c.Int("samples"),
		Haystack: c.String("haystack"),
		Seed:     c.Int64("seed"),
	}

	// Schedule.
	dur, reqs := c.Duration("stage-duration"), c.Int("requests-per-stage")
	if dur < 0 || reqs < 0 {
		return nil, errors.New("--stage-duration and --requests-per-stage must not be negative")
	}
	if dur == 0 && reqs == 0 {
		return nil, errors.New("every stage needs an end: give --stage-duration, --requests-per-stage, or both")
	}
	if c.IsSet("concurrency") {
		if c.IsSet("rates") {
			return nil, errors.New("give --rates (open loop) or --concurrency (closed loop), not both")
		}
		o.sched = loadgen.Schedule{{Kind: loadgen.StageConcurrency, Concurrency: c.Int("concurrency"), Duration: loadgen.Seconds(dur), Requests: reqs}}
	} else {
		rates, err := runParseRates(c.String("rates"))
		if err != nil {
			return nil, err
		}
		o.sched = loadgen.ConstantStages(rates, dur, reqs)
	}
	if w := c.Duration("warmup"); w < 0 {
		return nil, errors.New("--warmup must not be negative")
	} else {
		o.sched = o.sched.WithWarmup(w)
	}
	if err := o.sched.Validate(); err != nil {
		return nil, err
	}

	o.out = c.String("out")
	if o.out == "" {
		o.out = filepath.Join("runs", time.Now().Format("20060102-150405"))
	}
	if err := applyObjectiveFlags(c, &o.report); err != nil {
		return nil, err
	}
	return o, nil
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

// runStartSim starts the in-process simulator on a free loopback port.
func runStartSim(ctx context.Context, c *cli.Context, o *runOptions) (*sim.Server, error) {
	cfg, err := sim.Profile(o.simProfile)
	if err != nil {
		return nil, fmt.Errorf("--sim-profile: %w", err)
	}
	if c.IsSet("sim-time-scale") {
		cfg.TimeScale = c.Float64("sim-time-scale")
	}
	if c.IsSet("seed") {
		cfg.Seed = c.Int64("seed")
	}
	srv, err := sim.Start(ctx, cfg, sim.WithAddr("127.0.0.1:0"))
	if err != nil {
		return nil, fmt.Errorf("starting the built-in simulator: %w", err)
	}
	return srv, nil
}

// runSummary prints how the run went.
func runSummary(w io.Writer, r *loadgen.RunResult) {
	took := r.EndedAt.Sub(r.StartedAt).Round(100 * time.Millisecond)
	fmt.Fprintf(w, "run %s: %d records in %s\n", r.Status, r.Records, took)
	if len(r.Errors) == 0 {
		fmt.Fprintln(w, "  errors: none")
	} else {
		parts := make([]string, 0, len(r.Errors))
		var total int64
		for _, k := range r.ErrorClasses() {
			parts = append(parts, fmt.Sprintf("%s %d", k, r.Errors[k]))
			total += r.Errors[k]
		}
		fmt.Fprintf(w, "  errors: %d (%s)\n", total, strings.Join(parts, ", "))
	}
	if r.Scored > 0 {
		fmt.Fprintf(w, "  strict accuracy: %.1f%% (%d of %d, warm-up excluded)\n", 100*r.Accuracy(), r.Correct, r.Scored)
	} else {
		fmt.Fprintln(w, "  strict accuracy: no answers scored")
	}
	if r.HeldBack > 0 {
		fmt.Fprintf(w, "  held back by --max-in-flight: %d requests (see send_lag)\n", r.HeldBack)
	}
	fmt.Fprintf(w, "  run directory: %s\n", r.Dir)
}

// runRedactURL hides a password in a URL before it is printed.
func runRedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// runPlural writes "1 case" or "3 cases".
func runPlural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
