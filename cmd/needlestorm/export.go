package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"github.com/urfave/cli/v2"

	"github.com/needlestorm/needlestorm/endpoint"
	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
)

// Export formats.
const (
	exportVegeta = "vegeta"
	exportCSV    = "csv"
	exportJSONL  = "jsonl"
)

// exportCommand writes a run's records in another tool's format.
func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write a run's records in another format: vegeta (JSON results, for vegeta report and plot), csv or jsonl",
		ArgsUsage: "RUN_DIR",
		Description: `Reads RUN_DIR/manifest.json and RUN_DIR/records.jsonl and writes every record
(warm-up included) to --out, or to standard output:

  vegeta  vegeta's JSON results, one line per request (timestamp: when it
          was sent; latency: to its last byte; status code; body bytes out
          and in; error), so that vegeta report, vegeta plot and the tools
          around vegeta read needlestorm runs:
            needlestorm export --format vegeta RUN_DIR | vegeta report
  csv     one row per request, as records.csv (re-scored as the report is)
  jsonl   the records as JSON lines, in sequence order`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Usage: "vegeta, csv or jsonl (required)"},
			&cli.StringFlag{Name: "out", Usage: "file to write", DefaultText: "standard output"},
		},
		OnUsageError: usageError,
		Action:       exportAction,
	}
}

func exportAction(c *cli.Context) error {
	args, err := trailingFlags(c)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return cli.Exit("export needs one run directory: needlestorm export --format vegeta|csv|jsonl RUN_DIR", exitUsage)
	}
	format := strings.ToLower(c.String("format"))
	var write func(io.Writer, string) error
	switch format {
	case exportVegeta:
		write = exportVegetaResults
	case exportCSV:
		write = exportCSVRows
	case exportJSONL:
		write = exportJSONLines
	case "":
		return cli.Exit("export needs --format: vegeta, csv or jsonl", exitUsage)
	default:
		return cli.Exit(fmt.Sprintf("--format %q: use vegeta, csv or jsonl", c.String("format")), exitUsage)
	}
	path := c.String("out")
	if path == "" || path == "-" {
		return write(c.App.Writer, args[0])
	}
	return exportFile(path, func(w io.Writer) error { return write(w, args[0]) })
}

// exportFile writes path through a temporary file and a rename.
func exportFile(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer os.Remove(tmp.Name())
	werr := write(tmp)
	if err := errors.Join(werr, tmp.Chmod(0o644), tmp.Close()); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

// exportRecords reads a run's manifest and records: a last line cut short
// (a killed run) is left out, anything else unreadable is an error.
func exportRecords(dir string) (*run.Manifest, []run.Record, error) {
	m, err := run.ReadManifest(dir)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(filepath.Join(dir, run.RecordsFile))
	if err != nil {
		return nil, nil, fmt.Errorf("reading records: %w", err)
	}
	defer f.Close()
	recs, err := run.ReadRecords(f)
	if err != nil && !errors.Is(err, run.ErrTornTail) {
		return nil, nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return m, recs, nil
}

// exportVegetaResults writes the run's records as vegeta results, in the
// order they were sent, with vegeta's own JSON encoder.
func exportVegetaResults(w io.Writer, dir string) error {
	m, recs, err := exportRecords(dir)
	if err != nil {
		return err
	}
	urls := exportURLs(m)
	slices.SortStableFunc(recs, func(a, b run.Record) int { return cmp.Or(a.SentAt.Compare(b.SentAt), cmp.Compare(a.Seq, b.Seq)) })
	enc := vegeta.NewJSONEncoder(w)
	for i := range recs {
		res := vegetaResult(&recs[i], urls[recs[i].Target])
		if err := enc.Encode(&res); err != nil {
			return fmt.Errorf("writing vegeta results: %w", err)
		}
	}
	return nil
}

// vegetaResult is one record as vegeta's Result: vegeta's timestamp is when
// a request was sent and its latency runs to the end of the response, as
// sent_at and e2e do here. A request that failed carries its error (the
// message, or the error class); a wrong answer is not an error to vegeta.
func vegetaResult(r *run.Record, url string) vegeta.Result {
	res := vegeta.Result{
		Attack:    r.Target,
		Seq:       uint64(max(r.Seq, 0)),
		Code:      uint16(min(max(r.Status, 0), 65535)),
		Timestamp: r.SentAt,
		Latency:   r.E2E.Duration(),
		BytesOut:  uint64(max(r.BytesOut, 0)),
		BytesIn:   uint64(max(r.BytesIn, 0)),
		Method:    "POST",
		URL:       url,
	}
	if r.ErrorClass != "" {
		res.Error = cmp.Or(r.Error, r.ErrorClass)
	}
	return res
}

// exportURLs maps each target of the manifest to its chat endpoint, with
// any secret in the base URL removed.
func exportURLs(m *run.Manifest) map[string]string {
	var targets []struct {
		Name    string `json:"name"`
		Kind    string `json:"kind"`
		BaseURL string `json:"base_url"`
	}
	_ = json.Unmarshal(m.Targets, &targets) // without targets, URLs stay empty
	out := map[string]string{}
	for _, t := range targets {
		if t.BaseURL == "" {
			continue
		}
		path := "/chat/completions"
		if t.Kind == endpoint.KindAnthropic {
			path = "/v1/messages"
		}
		out[t.Name] = endpoint.RedactURL(strings.TrimRight(t.BaseURL, "/")) + path
	}
	return out
}

// exportCSVRows writes records.csv's rows: the records re-scored as the
// report scores them, by the objectives the run recorded.
func exportCSVRows(w io.Writer, dir string) error {
	var opts reports.Options
	if m, err := run.ReadManifest(dir); err == nil {
		if opts.Objectives, err = reports.DecodeObjectives(m.Objectives); err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
		if opts.Prices, err = reports.PricesFromManifest(m); err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
	}
	s, err := reports.Load(dir, opts)
	if err != nil {
		return err
	}
	return reports.WriteCSV(w, s)
}

// exportJSONLines writes the records as JSON lines, in sequence order.
func exportJSONLines(w io.Writer, dir string) error {
	_, recs, err := exportRecords(dir)
	if err != nil {
		return err
	}
	slices.SortStableFunc(recs, func(a, b run.Record) int { return cmp.Compare(a.Seq, b.Seq) })
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			return fmt.Errorf("writing records: %w", err)
		}
	}
	return nil
}
