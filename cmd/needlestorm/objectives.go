package main

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/needlestorm/needlestorm/probes"
	"github.com/needlestorm/needlestorm/reports"
)

// objectiveFlags are the flags that set a run's objectives, shared by run
// and report. defaultSLO is the --slo default ("" for none).
//
// Each flag shows one default in --help: its value, or a DefaultText saying
// what an unset flag means (for report, the run's recorded objectives).
func objectiveFlags(defaultSLO string) []cli.Flag {
	sloDefault, accDefault := "", strconv.FormatFloat(reports.DefaultAccuracy, 'g', -1, 64)
	if defaultSLO == "" {
		sloDefault = "the run's recorded objectives, else none"
		accDefault = "the run's recorded threshold, else " + accDefault
	}
	return []cli.Flag{
		&cli.StringFlag{
			Name:        "slo",
			Value:       defaultSLO,
			DefaultText: sloDefault,
			Usage:       "latency and error-rate objectives, such as ttft_p95=2s,e2e_p95=30s,error_rate=0.01 (metrics ttft, tpot, e2e, chunk_gap with _p50/_p90/_p95/_p99)",
		},
		&cli.Float64Flag{
			Name:        "accuracy",
			Usage:       "accuracy threshold, a fraction",
			DefaultText: accDefault,
		},
		&cli.BoolFlag{
			Name:  "accuracy-relative",
			Usage: "take --accuracy as a fraction of each target's own accuracy at its shortest tested length",
		},
		&cli.StringFlag{
			Name:        "require",
			Usage:       "a requirement to name the cheapest covering target for, such as length=32k,rate=4 (also ttft_p95=2s, e2e_p99=30s, accuracy=0.9)",
			DefaultText: "none",
		},
		&cli.IntFlag{
			Name:        "tolerance",
			Usage:       "tokens a server's prompt count may fall short of the client's (net of template overhead) before a prompt counts as truncated",
			DefaultText: fmt.Sprintf("the larger of %d and %g%% of the prompt", probes.DefaultToleranceTokens, 100*probes.DefaultToleranceFraction),
		},
	}
}

// applyObjectiveFlags lays the objective flags over opts: --slo when set (or
// when it has a default and opts has no objectives of its own), --accuracy,
// --accuracy-relative, --require and --tolerance when set.
func applyObjectiveFlags(c *cli.Context, opts *reports.Options) error {
	haveOwn := len(opts.Objectives.Latency) > 0 || opts.Objectives.ErrorRate != nil
	if c.IsSet("slo") || (!haveOwn && c.String("slo") != "") {
		slo, err := reports.ParseSLO(c.String("slo"))
		if err != nil {
			return cli.Exit(fmt.Sprintf("--slo: %v", err), exitUsage)
		}
		opts.Objectives.Latency, opts.Objectives.ErrorRate = slo.Latency, slo.ErrorRate
		// The flag's objectives gate, whatever the run's gate: false said
		// of those it replaces.
		opts.Objectives.Ungated = slices.DeleteFunc(opts.Objectives.Ungated, func(n string) bool { return n != "accuracy" })
	}
	if c.IsSet("accuracy") {
		a := c.Float64("accuracy")
		if a <= 0 || a > 1 {
			return cli.Exit(fmt.Sprintf("--accuracy %v: give a fraction above 0 and at most 1, such as 0.85", a), exitUsage)
		}
		opts.Objectives.Accuracy = a
	}
	if c.IsSet("accuracy-relative") {
		opts.Objectives.AccuracyRelative = c.Bool("accuracy-relative")
	}
	if c.IsSet("require") {
		req, err := reports.ParseRequirement(c.String("require"))
		if err != nil {
			return cli.Exit(fmt.Sprintf("--require: %v", err), exitUsage)
		}
		opts.Requirement = &req
	}
	if c.IsSet("tolerance") {
		opts.Tolerance = c.Int("tolerance")
		if opts.Tolerance < 0 {
			return cli.Exit(fmt.Sprintf("--tolerance %d: give a number of tokens, 0 or more", opts.Tolerance), exitUsage)
		}
	}
	return nil
}
