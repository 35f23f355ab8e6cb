package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/needlestorm/needlestorm/campaign"
	"github.com/needlestorm/needlestorm/internal/termsafe"
	"github.com/needlestorm/needlestorm/reports"
)

// Files a run compared with its baseline (run --baseline) writes into its
// run directory.
const (
	compareFileMarkdown = "regression.md"
	compareFileJUnit    = "regression.junit.xml"
	compareFileJSON     = "regression.json"
)

func compareCommand() *cli.Command {
	return &cli.Command{
		Name:      "compare",
		Usage:     "compare a run with a baseline run and fail on a regression (accuracy, latency, capacity, cost)",
		ArgsUsage: "BASELINE CURRENT",
		Description: `BASELINE and CURRENT are run directories (re-judged from their records by the
objectives each recorded, as needlestorm report does), folders holding a
summary.json, or summary.json / envelope.json files.

Per target and length it shows the change in accuracy and error rate (in
points, each with a two-sided two-proportion z-test, Fisher's exact test when
an expected count is below 5, so that sampling noise does not fail a build),
the max rate held, ttft/tpot/e2e percentiles at the lightest load (percent)
and cost per correct answer; per target the effective context length.

--threshold bounds each metric's change, such as
  accuracy_drop=5pt,ttft_p95=+20%,max_rate=-10%,effective_context=any
(npt: points; +n%/-n%: percent in the bad direction; any: every change for
the worse; off: shown, never failing). Metrics not named keep their defaults:
  ` + reports.DefaultRegressionThresholds + `
--campaign FILE reads the thresholds (and alpha) of its regression: section
first; --threshold overrides them.

Runs that measured something else (a different corpus recipe, lengths or
objectives) are refused, saying what differs, unless --force.

Exit status: 0 no regression, 99 a regression, 4 a target of the baseline
not measured in the current run (absent, or every request failed), 2 usage
(including runs that are not comparable without --force).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "threshold", Usage: "thresholds per metric, such as accuracy_drop=5pt,ttft_p95=+20%,max_rate=-10%,effective_context=any", DefaultText: "the campaign's, else the defaults"},
			&cli.StringFlag{Name: "campaign", Usage: "read thresholds and alpha from this campaign file's regression: section"},
			&cli.Float64Flag{Name: "alpha", Usage: "significance level of the accuracy and error-rate tests", DefaultText: fmt.Sprint(reports.DefaultAlpha)},
			&cli.DurationFlag{Name: "latency-floor", Usage: "latency changes smaller than this never count", DefaultText: reports.DefaultLatencyFloor.String()},
			&cli.BoolFlag{Name: "force", Usage: "compare runs that are not comparable (different corpus, lengths or objectives), listing what differs"},
			&cli.StringFlag{Name: "markdown", Usage: "write the comparison as Markdown (a pull-request comment, a CI job summary) to FILE"},
			&cli.StringFlag{Name: "junit", Usage: "write the comparison as JUnit XML (one test case per target × metric) to FILE"},
			&cli.StringFlag{Name: "json", Usage: "write the comparison as JSON (needlestorm.regression/v1) to FILE"},
		},
		OnUsageError: usageError,
		Action:       compareAction,
	}
}

// compareOutputs are the files a comparison writes, beside the terminal
// table ("" for none).
type compareOutputs struct {
	markdown, junit, json string
}

func compareAction(c *cli.Context) error {
	args, err := trailingFlags(c)
	if err != nil {
		return err
	}
	if len(args) != 2 {
		return cli.Exit("compare needs two runs: needlestorm compare BASELINE CURRENT (run directories, summary.json or envelope.json)", exitUsage)
	}
	opts, err := compareOptions(c, nil)
	if err != nil {
		return err
	}
	base, err := reports.LoadFigures(args[0])
	if err != nil {
		return cli.Exit(fmt.Sprintf("baseline: %v", err), exitUsage)
	}
	cur, err := reports.LoadFigures(args[1])
	if err != nil {
		return cli.Exit(fmt.Sprintf("current: %v", err), exitUsage)
	}
	out := compareOutputs{markdown: c.String("markdown"), junit: c.String("junit"), json: c.String("json")}
	return compareFigures(c.App.Writer, base, cur, opts, out)
}

// compareOptions reads the comparison's flags over the campaign's
// regression section (camp, or the one --campaign names).
func compareOptions(c *cli.Context, camp *campaign.Campaign) (reports.RegressionOptions, error) {
	var opts reports.RegressionOptions
	if path := c.String("campaign"); path != "" && camp == nil {
		var err error
		if camp, err = campaign.Load(path); err != nil {
			return opts, runInvalid(err)
		}
	}
	var given []reports.RegressionThreshold
	if c.IsSet("threshold") {
		th, err := reports.ParseRegressionThresholds(c.String("threshold"))
		if err != nil {
			return opts, cli.Exit(fmt.Sprintf("--threshold: %v", err), exitUsage)
		}
		given = th
	}
	if camp != nil {
		opts.Thresholds = camp.RegressionThresholds(given)
		if camp.Regression.Alpha != nil {
			opts.Alpha = *camp.Regression.Alpha
		}
		opts.LatencyFloor = camp.Regression.LatencyFloor.D()
	} else {
		opts.Thresholds = campaign.MergeThresholds(given)
	}
	if c.IsSet("alpha") {
		if opts.Alpha = c.Float64("alpha"); !(opts.Alpha > 0 && opts.Alpha < 1) {
			return opts, cli.Exit(fmt.Sprintf("--alpha %v: give a probability between 0 and 1, such as 0.05", opts.Alpha), exitUsage)
		}
	}
	if c.IsSet("latency-floor") {
		if opts.LatencyFloor = c.Duration("latency-floor"); opts.LatencyFloor <= 0 {
			opts.LatencyFloor = -1 // none
		}
	}
	opts.Force = c.Bool("force")
	return opts, nil
}

// compareFigures compares, prints the table on w, writes the files asked
// and returns the comparison's exit status.
func compareFigures(w io.Writer, base, cur *reports.Figures, opts reports.RegressionOptions, out compareOutputs) error {
	r, err := reports.CompareRuns(base, cur, opts)
	if err != nil {
		if reports.IsNotComparable(err) {
			return cli.Exit(err, exitUsage)
		}
		return err
	}
	if _, err := fmt.Fprint(w, termsafe.Text(r.Text())); err != nil {
		return err
	}
	host, _ := os.Hostname()
	writers := []struct {
		path  string
		write func(io.Writer) error
	}{
		{out.markdown, func(w io.Writer) error { return reports.WriteRegressionMarkdown(w, r) }},
		{out.junit, func(w io.Writer) error { return reports.WriteRegressionJUnit(w, r, host) }},
		{out.json, func(w io.Writer) error { return reports.WriteRegressionJSON(w, r) }},
	}
	var errs []error
	for _, wr := range writers {
		if wr.path == "" {
			continue
		}
		var b bytes.Buffer
		if err := wr.write(&b); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.WriteFile(wr.path, b.Bytes(), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("writing the comparison: %w", err))
			continue
		}
		fmt.Fprintf(w, "wrote %s\n", wr.path)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return regressionError(r)
}

// regressionError is the exit status of a comparison: exitUnmeasured when
// a target of the baseline has no figures in the current run, exitObjectives
// on a regression, nil otherwise.
func regressionError(r *reports.Regression) error {
	switch {
	case len(r.Unmeasured) > 0:
		lines := make([]string, len(r.Unmeasured))
		for i, u := range r.Unmeasured {
			lines[i] = u.String()
		}
		return cli.Exit("needlestorm: not measured in the current run: "+verdictLines(lines), exitUnmeasured)
	case r.Regressed():
		return cli.Exit("needlestorm: compared with the baseline: "+r.Headline()+" (listed above)", exitObjectives)
	}
	return nil
}

// compareIntoDir writes a run's comparison files into its run directory.
func compareIntoDir(dir string) compareOutputs {
	return compareOutputs{
		markdown: filepath.Join(dir, compareFileMarkdown),
		junit:    filepath.Join(dir, compareFileJUnit),
		json:     filepath.Join(dir, compareFileJSON),
	}
}
