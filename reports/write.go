package reports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/needlestorm/needlestorm/run"
)

// Output file names inside a run directory.
const (
	HTMLFile     = "report.html"
	MarkdownFile = "summary.md"
	JSONFile     = "summary.json"
	EnvelopeFile = "envelope.json"
	CSVFile      = "records.csv"
)

// Load reads a run directory's manifest and records and builds its
// summary. A run that was interrupted may end in a half-written line; the
// records before it are used and the summary says so.
func Load(dir string, opts Options) (*Summary, error) {
	m, err := run.ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, run.RecordsFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading records: %w (a run writes %s beside manifest.json)", err, run.RecordsFile)
	}
	defer f.Close()
	recs, rerr := run.ReadRecords(f)
	// A torn last line is what a killed writer leaves: use what is whole.
	// Anything else unreadable in a run that says it completed is damage.
	if rerr != nil && m.Status == run.StatusComplete && !errors.Is(rerr, run.ErrTornTail) {
		return nil, fmt.Errorf("%s: %w", path, rerr)
	}
	s, err := Build(m, recs, opts)
	if err != nil {
		return nil, err
	}
	s.Run.Dir = dir
	if s.Envelope.Run != nil {
		s.Envelope.Run.Dir = dir
	}
	addServerMetrics(dir, s)
	if err := addSections(m, s, opts); err != nil {
		return nil, err
	}
	if rerr != nil {
		s.Run.Note = joinNotes(s.Run.Note, fmt.Sprintf("records.jsonl ends in an unreadable line, %d records before it were used (%v)", len(recs), rerr))
	}
	return s, nil
}

// Write regenerates every output of a run directory from its manifest.json
// and records.jsonl: report.html, summary.md, summary.json, envelope.json
// and records.csv. Each file is written whole or not at all.
func Write(dir string, opts Options) (*Summary, error) { return WriteTo(dir, dir, opts) }

// WriteTo is Write with the outputs written into the folder out (created
// when missing) instead of the run directory, which is only read.
func WriteTo(dir, out string, opts Options) (*Summary, error) {
	s, err := Load(dir, opts)
	if err != nil {
		return nil, err
	}
	if out != dir {
		if err := os.MkdirAll(out, 0o755); err != nil {
			return nil, fmt.Errorf("creating the report folder: %w", err)
		}
	}
	s.Files = map[string]string{}
	outputs := []struct {
		name  string
		write func(io.Writer, *Summary) error
	}{
		{CSVFile, WriteCSV},
		{EnvelopeFile, func(w io.Writer, s *Summary) error { return WriteEnvelope(w, s.Envelope) }},
		{MarkdownFile, WriteMarkdown},
		{HTMLFile, WriteHTML},
		{JSONFile, WriteJSON},
	}
	for _, o := range outputs {
		s.Files[o.name] = filepath.Join(out, o.name)
	}
	for _, o := range outputs {
		if err := writeFile(s.Files[o.name], func(w io.Writer) error { return o.write(w, s) }); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// writeFile writes path through a temporary file and a rename, so a reader
// never sees half a file.
func writeFile(path string, write func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, werr := tmp.Write(buf.Bytes())
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

// joinNotes joins the non-empty notes with "; ".
func joinNotes(notes ...string) string {
	var out []string
	for _, n := range notes {
		if n != "" {
			out = append(out, n)
		}
	}
	return strings.Join(out, "; ")
}
