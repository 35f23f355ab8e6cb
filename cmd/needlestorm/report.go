package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/needlestorm/needlestorm/internal/termsafe"
	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
)

// reportCommand regenerates a run directory's outputs from its manifest.json
// and records.jsonl.
func reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "regenerate report.html, summary.md, summary.json, envelope.json and records.csv of a run",
		ArgsUsage: "DIR",
		Description: "Reads DIR/manifest.json and DIR/records.jsonl (nothing else), re-scores every record and\n" +
			"writes the report, also for an interrupted run. Objectives default to the ones the run\n" +
			"recorded in its manifest; flags override them. --out OTHER writes the outputs into\n" +
			"OTHER and leaves DIR untouched. The exit status is the run's verdict\n" +
			"(0 held, 99 an objective or the requirement failed, 4 nothing measured).",
		Flags: append(objectiveFlags(""),
			&cli.StringFlag{Name: "out", Usage: "write the outputs into this folder (created when missing) instead of DIR, which is then only read: re-judge a run without overwriting its report", DefaultText: "DIR"}),
		OnUsageError: usageError,
		Action: func(c *cli.Context) error {
			args, err := trailingFlags(c)
			if err != nil {
				return err
			}
			if len(args) != 1 {
				return cli.Exit("report needs one run directory: needlestorm report DIR", exitUsage)
			}
			dir := args[0]
			opts, err := reportOptions(c, dir)
			if err != nil {
				return err
			}
			out, err := reportOut(c, dir)
			if err != nil {
				return err
			}
			s, err := reports.WriteTo(dir, out, opts)
			if err != nil {
				return err
			}
			if s.Run.Missing > 0 {
				fmt.Fprintf(runStderr(c), "needlestorm: warning: %s/%s holds %d records, %d fewer than its manifest says were written; the report covers only those read\n",
					dir, run.RecordsFile, s.Run.Records, s.Run.Missing)
			}
			if _, err := fmt.Fprint(c.App.Writer, termsafe.Text(s.Text())); err != nil {
				return err
			}
			if err := reportRoutes(c.App.Writer, dir, out, s); err != nil {
				return err
			}
			m, err := run.ReadManifest(dir)
			return routedVerdict(s.Verdict(), err == nil && len(m.Routing) > 0)
		},
	}
}

// reportOut is the folder report writes into: --out, else the run
// directory. --out may not name another run's directory.
func reportOut(c *cli.Context, dir string) (string, error) {
	out := c.String("out")
	if out == "" {
		return dir, nil
	}
	if same, err := sameDir(dir, out); err == nil && same {
		return dir, nil
	}
	if _, err := os.Stat(filepath.Join(out, run.ManifestFile)); err == nil {
		return "", cli.Exit(fmt.Sprintf("--out %s holds another run (%s): give a new or empty folder for the re-judged report", out, run.ManifestFile), exitUsage)
	}
	return out, nil
}

// sameDir reports whether a and b name the same folder.
func sameDir(a, b string) (bool, error) {
	ia, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	ib, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(ia, ib), nil
}

// reportOptions combines the objectives the run recorded with the flags.
func reportOptions(c *cli.Context, dir string) (reports.Options, error) {
	opts := reports.Options{Sections: routingSections(dir)}
	if m, err := run.ReadManifest(dir); err == nil {
		obj, err := reports.DecodeObjectives(m.Objectives)
		if err != nil {
			return opts, fmt.Errorf("%s: %w (give --slo and --accuracy to override them)", dir, err)
		}
		opts.Objectives = obj
		if opts.Prices, err = reports.PricesFromManifest(m); err != nil {
			return opts, fmt.Errorf("%s: %w", dir, err)
		}
	}
	if err := applyObjectiveFlags(c, &opts); err != nil {
		return opts, err
	}
	return opts, nil
}

// trailingFlags lets flags follow the positional arguments, as in
// "needlestorm report DIR --slo ttft_p95=2s" (urfave/cli stops parsing flags
// at the first argument). It parses what follows with the command's own
// flags, sets them on c, and returns the positional arguments.
func trailingFlags(c *cli.Context) ([]string, error) {
	args := c.Args().Slice()
	if len(args) <= 1 {
		return args, nil
	}
	set := flag.NewFlagSet(c.Command.Name, flag.ContinueOnError)
	set.SetOutput(io.Discard)
	for _, f := range c.Command.Flags {
		if bf, ok := f.(*cli.BoolFlag); ok {
			// Apply writes to the flag, and the help flag is urfave/cli's
			// package-level value shared by every app: apply a copy.
			cp := *bf
			f = &cp
		}
		if err := f.Apply(set); err != nil {
			return nil, err
		}
	}
	var positional []string
	for rest := args; len(rest) > 0; {
		if err := set.Parse(rest); err != nil {
			return nil, cli.Exit(fmt.Sprintf("%s: %v", c.Command.Name, err), exitUsage)
		}
		rest = set.Args()
		if len(rest) > 0 {
			positional = append(positional, rest[0])
			rest = rest[1:]
		}
	}
	var err error
	set.Visit(func(f *flag.Flag) {
		if err == nil {
			err = c.Set(f.Name, f.Value.String())
		}
	})
	if err != nil {
		return nil, cli.Exit(fmt.Sprintf("%s: %v", c.Command.Name, err), exitUsage)
	}
	return positional, nil
}

// usageError is the OnUsageError of report, sim, corpus and tokens: a flag
// that does not parse is a usage error, with exit status 2 like the others.
func usageError(c *cli.Context, err error, _ bool) error {
	return cli.Exit(fmt.Sprintf("%s: %v (see needlestorm %s --help)", c.Command.Name, err, c.Command.Name), exitUsage)
}
