package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/route"
	"github.com/needlestorm/needlestorm/run"
)

// routeExitUncovered is the exit status of `needlestorm route` when some
// job no target covers: the requirement failed (exitcodes.go).
const routeExitUncovered = exitObjectives

// Route output formats.
const (
	routeFormatLiteLLM  = "litellm"
	routeFormatJSON     = "json"
	routeFormatMarkdown = "markdown"
)

// Files a report writes into a run directory whose campaign names a
// routing file.
const (
	routeFileJSON     = "routes.json"
	routeFileMarkdown = "routes.md"
	routeFileLiteLLM  = "litellm.yaml"
)

var routeWriters = map[string]func(io.Writer, *route.Routes) error{
	routeFormatLiteLLM:  route.WriteLiteLLM,
	routeFormatJSON:     route.WriteJSON,
	routeFormatMarkdown: route.WriteMarkdown,
}

func routeCommand() *cli.Command {
	return &cli.Command{
		Name:      "route",
		Usage:     "turn measured envelopes into a router config: which target serves which job, with fallbacks",
		ArgsUsage: "--routing routing.yaml ENVELOPE_OR_RUN_DIR...",
		Description: `Reads a routing file (jobs: tier or task, context, accuracy, ttft_p95/e2e_p95,
rate, budget, prefer, fallbacks; see examples/routing/routing.yaml) and the
envelopes of one or more runs (envelope.json files or run directories; a run
directory without envelope.json is built from its records). A target measured
by several runs keeps its newest measurement. For each job it keeps the
targets whose envelope covers it, ranks them (cheapest cost per correct
answer, then latency) and writes the chosen target and its fallbacks:

  --format litellm   a LiteLLM proxy config: one model group per job,
                     max_input_tokens = the measured effective context, rpm/tpm
                     from the rate held, fallbacks and context_window_fallbacks
  --format json      needlestorm.routes/v1, with the evidence behind each choice
  --format markdown  a summary for people

A job no target covers is reported with every target's reason, and the exit
status is 99 (the covered jobs are still written).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "routing", Usage: "the routing file (YAML), required"},
			&cli.StringFlag{Name: "format", Usage: "output: litellm, json or markdown", Value: routeFormatLiteLLM},
			&cli.StringFlag{Name: "out", Usage: "file to write", DefaultText: "standard output"},
		},
		OnUsageError: usageError,
		Action:       routeAction,
	}
}

func routeAction(c *cli.Context) error {
	args, err := trailingFlags(c)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return cli.Exit("route needs at least one envelope.json or run directory: needlestorm route --routing routing.yaml runs/DIR", exitUsage)
	}
	if c.String("routing") == "" {
		return cli.Exit("route needs --routing FILE, the routing file naming the jobs (see examples/routing/routing.yaml)", exitUsage)
	}
	write, ok := routeWriters[c.String("format")]
	if !ok {
		return cli.Exit(fmt.Sprintf("--format %q: write litellm, json or markdown", c.String("format")), exitUsage)
	}
	file, err := route.Load(c.String("routing"))
	if err != nil {
		var re *route.Error
		var res route.Errors
		if errors.As(err, &re) || errors.As(err, &res) {
			return cli.Exit("--routing: "+err.Error(), exitUsage)
		}
		return cli.Exit(fmt.Sprintf("--routing: %v", err), exitUsage)
	}
	inputs := make([]route.Input, 0, len(args))
	for _, path := range args {
		env, err := reports.LoadEnvelope(path)
		if err != nil {
			return err
		}
		inputs = append(inputs, route.Input{Path: path, Envelope: env})
	}
	fleet, err := route.Merge(inputs...)
	if err != nil {
		return err
	}
	routes := route.Decide(file, fleet)
	var buf bytes.Buffer
	if err := write(&buf, routes); err != nil {
		return err
	}
	summary := c.App.Writer
	if out := c.String("out"); out != "" {
		if err := routeWriteFile(out, buf.Bytes()); err != nil {
			return err
		}
		fmt.Fprintf(summary, "wrote %s (%s)\n", out, c.String("format"))
	} else {
		if _, err := c.App.Writer.Write(buf.Bytes()); err != nil {
			return err
		}
		summary = c.App.ErrWriter
		if summary == nil {
			summary = os.Stderr
		}
	}
	fmt.Fprint(summary, routes.Text())
	if u := routes.Uncovered(); len(u) > 0 {
		return cli.Exit(fmt.Sprintf("needlestorm: %d job(s) no target covers: %s", len(u), strings.Join(u, ", ")), routeExitUncovered)
	}
	return nil
}

// routeWriteFile writes path whole or not at all (a temporary file, then
// a rename).
func routeWriteFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, werr := tmp.Write(data)
	merr := tmp.Chmod(0o644)
	cerr := tmp.Close()
	if err := errors.Join(werr, merr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// manifestRoutes answers the routing file a run's campaign named (kept in
// its manifest) from the run's envelope: nil when it named none.
func manifestRoutes(dir string, m *run.Manifest, s *reports.Summary) (*route.Routes, error) {
	if len(m.Routing) == 0 || s == nil || s.Envelope == nil {
		return nil, nil
	}
	var file route.File
	if err := json.Unmarshal(m.Routing, &file); err != nil {
		return nil, fmt.Errorf("%s: the routing file in the manifest does not decode: %w", dir, err)
	}
	fleet, err := route.Merge(route.Input{Path: dir, Envelope: s.Envelope})
	if err != nil {
		return nil, err
	}
	return route.Decide(&file, fleet), nil
}

// routingSections is the reports.SectionsFunc that puts the routing answer
// into a run's report.html, summary.md and summary.json.
func routingSections(dir string) reports.SectionsFunc {
	return func(m *run.Manifest, s *reports.Summary) ([]reports.Section, error) {
		routes, err := manifestRoutes(dir, m, s)
		if routes == nil || err != nil {
			return nil, err
		}
		return []reports.Section{routes.Section()}, nil
	}
}

// reportRoutes answers the routing file a run's campaign named from the
// run's envelope: it writes routes.json, routes.md and litellm.yaml into
// out (the run directory, or report --out) and prints the answer. A run
// whose campaign named none is left alone.
func reportRoutes(w io.Writer, dir, out string, s *reports.Summary) error {
	m, err := run.ReadManifest(dir)
	if err != nil {
		return nil
	}
	routes, err := manifestRoutes(dir, m, s)
	if routes == nil || err != nil {
		return err
	}
	file := routes.File
	for name, write := range map[string]func(io.Writer, *route.Routes) error{
		routeFileJSON: route.WriteJSON, routeFileMarkdown: route.WriteMarkdown, routeFileLiteLLM: route.WriteLiteLLM,
	} {
		var buf bytes.Buffer
		if err := write(&buf, routes); err != nil {
			return err
		}
		if err := routeWriteFile(filepath.Join(out, name), buf.Bytes()); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\n%s  (routing file %s; written to %s, %s and %s)\n", routes.Text(), file.Path,
		filepath.Join(out, routeFileLiteLLM), routeFileJSON, routeFileMarkdown)
	return nil
}
