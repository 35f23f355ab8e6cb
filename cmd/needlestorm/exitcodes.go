package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/needlestorm/needlestorm/internal/suggest"
	"github.com/needlestorm/needlestorm/internal/termsafe"
	"github.com/needlestorm/needlestorm/reports"
)

// Exit statuses of needlestorm, one meaning each, so that CI can gate on
// them (the README and --help list them; exitCodesHelp is that list).
const (
	// exitOK: the run measured and every gating objective held (compare:
	// no regression).
	exitOK = 0
	// exitFailure: anything else went wrong (a file that cannot be
	// written, a run directory that exists, ...).
	exitFailure = 1
	// exitUsage: the command line or the campaign file is wrong (an
	// unknown command or flag, a bad value).
	exitUsage = 2
	// exitBudget: a budget stopped the run, or refused its plan.
	exitBudget = 3
	// exitUnmeasured: the run could not measure: preflight failed, every
	// request of a target failed, or nothing was measured.
	exitUnmeasured = 4
	// exitObjectives: the run measured, and a gating objective, the
	// requirement (--require; route: a job no target covers) or the
	// comparison with the baseline (a regression) failed. 99 as k6 uses
	// for failed thresholds.
	exitObjectives = 99
	// exitInterrupted: Ctrl-C or SIGTERM stopped the run (128 + SIGINT).
	exitInterrupted = 130
)

// exitCodesHelp documents the exit statuses, for the app's --help.
const exitCodesHelp = `EXIT STATUS:
   0    every gating objective held (compare: no regression)
   1    any other failure (a file not written, a run directory in the way, ...)
   2    usage error: unknown command or flag, bad value, campaign file mistake
   3    a budget stopped the run or refused its plan
   4    nothing could be measured: preflight failed, every request failed
   99   an objective, the requirement (--require, route's jobs) or a
        comparison with the baseline (regression) failed
   130  interrupted (Ctrl-C, SIGTERM)
   Objectives marked gate: false in a campaign are reported, never gating.
`

// exitCode is the exit status an error carries (cli.ExitCoder, also
// inside a wrapped or joined error), else exitFailure.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) && ec.ExitCode() != 0 {
		return ec.ExitCode()
	}
	return exitFailure
}

// commandNames are the names of the app's commands, aliases included.
func commandNames(app *cli.App) []string {
	var out []string
	for _, c := range app.Commands {
		if !c.Hidden {
			out = append(out, c.Names()...)
		}
	}
	return out
}

// unknownCommand is the usage error of `needlestorm rn`: the nearest
// command name, when one is near.
func unknownCommand(app *cli.App, name string) error {
	msg := fmt.Sprintf("unknown command %q", name)
	if s := suggest.Closest(name, commandNames(app)); s != "" {
		msg += fmt.Sprintf("; did you mean %s?", s)
	}
	msg += fmt.Sprintf(" (commands: %s; see needlestorm --help)", strings.Join(commandNames(app), ", "))
	return cli.Exit("needlestorm: "+msg, exitUsage)
}

// rootAction runs when no command matched: the help with no argument or
// with help [COMMAND], and a usage error naming the nearest command
// otherwise.
func rootAction(c *cli.Context) error {
	args := c.Args()
	switch {
	case !args.Present():
		return cli.ShowAppHelp(c)
	case args.First() == "help" && args.Len() == 1:
		return cli.ShowAppHelp(c)
	case args.First() == "help":
		name := args.Get(1)
		if c.App.Command(name) == nil {
			return unknownCommand(c.App, name)
		}
		return cli.ShowCommandHelp(c, name)
	}
	return unknownCommand(c.App, args.First())
}

// commandNotFound is urfave/cli's CommandNotFound hook, for the help
// paths that look a command up by name. It cannot fail the command
// (urfave/cli v2's hook returns nothing): rootAction, which sees every
// unknown command first, returns the usage error.
func commandNotFound(c *cli.Context, name string) {
	fmt.Fprintln(c.App.ErrWriter, unknownCommand(c.App, name).Error())
}

// budgetError makes err (a plan over budget) exit with exitBudget.
func budgetError(err error) error {
	return cli.Exit(err, exitBudget)
}

// verdictMaxLines bounds the failures an exit message lists.
const verdictMaxLines = 8

// verdictError is the exit status of a report's verdict: nil when every
// gating objective held, exitUnmeasured when nothing could be measured,
// exitObjectives when an objective or the requirement failed; the message
// lists why.
func verdictError(v reports.Verdict) error {
	switch {
	case !v.Measured:
		return cli.Exit("needlestorm: nothing could be measured: "+verdictLines(v.Failures), exitUnmeasured)
	case !v.Held:
		return cli.Exit("needlestorm: objectives failed: "+verdictLines(v.Failures), exitObjectives)
	}
	return nil
}

// routedVerdict is verdictError for a run whose campaign names a routing
// file: the routing answer is the question the run answers (as a
// requirement is), so the objectives do not gate where some target misses
// them (that is how tiers differ); what could not be measured still does,
// and a job no target covers fails through reportRoutes.
func routedVerdict(v reports.Verdict, routed bool) error {
	if routed && v.Measured {
		return nil
	}
	return verdictError(v)
}

// verdictLines writes failures one per line, at most verdictMaxLines.
func verdictLines(failures []string) string {
	if len(failures) == 0 {
		return "(no reason given)"
	}
	shown := failures[:min(len(failures), verdictMaxLines)]
	s := "\n  " + strings.Join(shown, "\n  ")
	if n := len(failures) - len(shown); n > 0 {
		s += fmt.Sprintf("\n  ... and %d more (see summary.md)", n)
	}
	return termsafe.Text(s)
}

// exitRank orders exit statuses for worstExit: what could not be measured
// first, then a failed objective or regression, then the rest.
func exitRank(code int) int {
	switch code {
	case exitOK:
		return 0
	case exitObjectives:
		return 1
	case exitUnmeasured:
		return 3
	}
	return 2
}

// worstExit joins the errors of one command's steps (nil ones left out)
// into one carrying the weightiest exit status (exitRank).
func worstExit(errs ...error) error {
	var kept []error
	code := exitOK
	for _, err := range errs {
		if err == nil {
			continue
		}
		kept = append(kept, err)
		if c := exitCode(err); exitRank(c) > exitRank(code) {
			code = c
		}
	}
	switch len(kept) {
	case 0:
		return nil
	case 1:
		return kept[0]
	}
	return cli.Exit(errors.Join(kept...), code)
}
