package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
)

// mergePoll is how often merge --wait looks at the shards again.
const mergePoll = time.Second

// mergeCommand merges the shards of a sharded run into one run directory
// and renders its report.
func mergeCommand() *cli.Command {
	return &cli.Command{
		Name:      "merge",
		Usage:     "merge the run directories of a sharded run's shards into one run, and render its report",
		ArgsUsage: "SHARD_DIR... --out DIR",
		Description: `Makes one run directory of the shards of a run sent with run --shard I/N (or
as a Kubernetes Indexed Job), as if one process had sent it: the records of
every shard ordered by scheduled time, one manifest (the earliest start, the
latest end, the worst status, the spend summed), and the usual outputs, as
needlestorm report writes them. The merged run reports, compares and routes
like any other.

Every shard must be of the same run (the same campaign hash in its manifest:
the same campaign, flags, seed, nonce salt and run id) and shard count, each
given once. A missing shard is refused unless --allow-missing, and then
every output says which are missing. A shard that began after the common
start time is named in the report.

A SHARD_DIR with * ? or [ is a pattern (such as /runs/shard-*), expanded
here, for containers without a shell. --wait waits until every shard is
there and finished (such as a Kubernetes merge Job started with the shards).`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "the merged run directory to write (required)"},
			&cli.BoolFlag{Name: "allow-missing", Usage: "merge the shards given even when some of the run's shards are missing (every output says which)"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace a run already in --out"},
			&cli.DurationFlag{Name: "wait", Usage: "wait up to this long for every shard to be there and finished before merging", DefaultText: "no wait"},
		}, objectiveFlags("")...),
		OnUsageError: usageError,
		Action:       mergeAction,
	}
}

func mergeAction(c *cli.Context) error {
	args, err := trailingFlags(c)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return cli.Exit("merge needs the shards' run directories: needlestorm merge SHARD_DIR... --out DIR", exitUsage)
	}
	out := c.String("out")
	if out == "" {
		return cli.Exit("merge needs --out DIR, the merged run directory to write", exitUsage)
	}
	var dirs []string
	if w := c.Duration("wait"); w > 0 {
		dirs, err = mergeWait(c.Context, args, w, c.App.ErrWriter)
	} else {
		dirs, err = mergeDirs(args)
	}
	if err != nil {
		return cli.Exit(err.Error(), exitUsage)
	}
	m, err := run.Merge(out, dirs, run.AllowMissing(c.Bool("allow-missing")), run.MergeOverwrite(c.Bool("overwrite")))
	if errors.Is(err, run.ErrMissingShards) {
		return cli.Exit(fmt.Sprintf("needlestorm merge: %v; give every shard's directory, or --allow-missing to merge these (every output then says which are missing)", err), exitFailure)
	}
	if err != nil {
		return fmt.Errorf("merging: %w", err)
	}
	opts, err := reportOptions(c, out)
	if err != nil {
		return err
	}
	s, err := reports.Write(out, opts)
	if err != nil {
		return fmt.Errorf("rendering the merged run's report: %w", err)
	}
	fmt.Fprint(c.App.Writer, s.Text())
	_, err = fmt.Fprintf(c.App.Writer, "merged %d of %d shards (%d records) into %s\n", len(m.Merged.Shards), m.Merged.Count, m.Records, out)
	return err
}

// mergeDirs expands the patterns among args; a pattern that matches
// nothing is an error, as is a directory given twice.
func mergeDirs(args []string) ([]string, error) {
	var dirs []string
	for _, a := range args {
		if !strings.ContainsAny(a, "*?[") {
			dirs = append(dirs, a)
			continue
		}
		m, err := filepath.Glob(a)
		if err != nil {
			return nil, fmt.Errorf("%q is not a valid pattern: %w", a, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("%q matches no shard directory", a)
		}
		dirs = append(dirs, m...)
	}
	return dirs, nil
}

// mergeWait waits until the shards the patterns name are all there (every
// index of their count) and finished, or until wait has passed: it then
// returns what is there, and Merge says what is missing.
func mergeWait(ctx context.Context, patterns []string, wait time.Duration, log io.Writer) ([]string, error) {
	deadline := time.Now().Add(wait)
	t := time.NewTicker(mergePoll)
	defer t.Stop()
	for {
		dirs, err := mergeDirs(patterns) // a pattern may match nothing yet
		have, want, done := mergeReady(dirs)
		if time.Now().After(deadline) && err != nil {
			return nil, err
		}
		if done || time.Now().After(deadline) {
			if !done && log != nil {
				fmt.Fprintf(log, "needlestorm merge: after %s, %d of %d shards are there and finished; merging what there is\n", wait, have, want)
			}
			return dirs, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the shards: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// mergeReady counts the shards of dirs that have finished (their manifest
// says complete, interrupted or failed), and reports whether every index
// of their count is among them.
func mergeReady(dirs []string) (have, want int, done bool) {
	var idx []int
	for _, d := range dirs {
		m, err := run.ReadManifest(d)
		if err != nil || m.Shard == nil || m.Status == run.StatusRunning {
			continue
		}
		want = max(want, m.Shard.Count)
		if !slices.Contains(idx, m.Shard.Index) {
			idx = append(idx, m.Shard.Index)
		}
	}
	return len(idx), want, want > 0 && len(idx) == want && len(dirs) == len(idx)
}
