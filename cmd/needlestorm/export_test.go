package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
)

// exportTestRun runs the simulator in-process into a run directory: 3 cases
// at 40/s, 12 requests, and a 125 ms warm-up.
func exportTestRun(t *testing.T) (string, []run.Record) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	if _, errOut, err := runTestApp(t, "run", "--out", dir, "--rates", "40", "--requests-per-stage", "12", "--warmup", "125ms",
		"--lengths", "300", "--depths", "0,50,100", "--quiet", "--sim-time-scale", "0"); err != nil {
		t.Fatalf("run: %v\n%s", err, errOut)
	}
	_, recs := runTestReadDir(t, dir)
	return dir, recs
}

// TestExportVegeta: export --format vegeta decodes with vegeta's own JSON
// decoder (and with the format detection `vegeta report` uses), one result
// per record with its seq, status, send time, latency and bytes; vegeta's
// metrics over it count the run's requests, and its text report (what
// `vegeta report` prints) says so.
func TestExportVegeta(t *testing.T) {
	dir, recs := exportTestRun(t)
	out := filepath.Join(t.TempDir(), "results.json")
	if _, errOut, err := runTestApp(t, "export", "--format", "vegeta", "--out", out, dir); err != nil {
		t.Fatalf("export: %v\n%s", err, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	bySeq := map[uint64]run.Record{}
	var bytesIn, bytesOut uint64
	for _, r := range recs {
		bySeq[uint64(r.Seq)] = r
		bytesIn, bytesOut = bytesIn+uint64(r.BytesIn), bytesOut+uint64(r.BytesOut)
	}
	if bytesIn == 0 || bytesOut == 0 {
		t.Fatalf("the run's records carry no body sizes (in %d, out %d)", bytesIn, bytesOut)
	}

	dec := vegeta.NewJSONDecoder(bytes.NewReader(b))
	var m vegeta.Metrics
	n := 0
	for {
		var res vegeta.Result
		err := dec.Decode(&res)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("result %d does not decode as vegeta's: %v", n+1, err)
		}
		n++
		r, ok := bySeq[res.Seq]
		switch {
		case !ok:
			t.Fatalf("result seq %d is no record's", res.Seq)
		case int(res.Code) != r.Status || !res.Timestamp.Equal(r.SentAt) || res.Latency != r.E2E.Duration() || res.Latency <= 0:
			t.Errorf("seq %d: code %d at %s in %s, the record's %d at %s in %s", res.Seq, res.Code, res.Timestamp, res.Latency, r.Status, r.SentAt, r.E2E.Duration())
		case res.BytesIn != uint64(r.BytesIn) || res.BytesOut != uint64(r.BytesOut) || res.Attack != r.Target || res.Method != "POST":
			t.Errorf("seq %d: %+v, record %+v", res.Seq, res, r)
		case !strings.HasPrefix(res.URL, "http://127.0.0.1:") || !strings.HasSuffix(res.URL, "/chat/completions"):
			t.Errorf("seq %d: url %q, want the simulator's chat endpoint", res.Seq, res.URL)
		}
		m.Add(&res)
	}
	m.Close()
	if n != len(recs) || int(m.Requests) != len(recs) {
		t.Fatalf("%d results, vegeta counts %d requests; the run has %d records", n, m.Requests, len(recs))
	}
	if m.BytesIn.Total != bytesIn || m.BytesOut.Total != bytesOut || m.Success != 1 {
		t.Errorf("vegeta metrics: bytes in %d out %d success %g; records: in %d out %d", m.BytesIn.Total, m.BytesOut.Total, m.Success, bytesIn, bytesOut)
	}
	var report bytes.Buffer
	if err := vegeta.NewTextReporter(&m).Report(&report); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`Requests\s+\[total, rate, throughput\]\s+` + strconv.Itoa(len(recs)) + `,`).Match(report.Bytes()) {
		t.Errorf("vegeta's report does not count %d requests:\n%s", len(recs), report.String())
	}

	// `vegeta report` detects the encoding of its input.
	auto := vegeta.DecoderFor(bytes.NewReader(b))
	if auto == nil {
		t.Fatal("vegeta cannot detect the encoding of the export")
	}
	var first vegeta.Result
	if err := auto.Decode(&first); err != nil || first.Seq == 0 {
		t.Errorf("vegeta's detected decoder: %v (seq %d)", err, first.Seq)
	}
}

// TestExportCSVAndJSONL: --format csv writes records.csv's rows, --format
// jsonl every record in sequence order, to standard output.
func TestExportCSVAndJSONL(t *testing.T) {
	dir, recs := exportTestRun(t)
	csv, errOut, err := runTestApp(t, "export", dir, "--format", "csv")
	if err != nil {
		t.Fatalf("export csv: %v\n%s", err, errOut)
	}
	want, err := os.ReadFile(filepath.Join(dir, reports.CSVFile))
	if err != nil {
		t.Fatal(err)
	}
	if csv != string(want) {
		t.Errorf("export --format csv differs from records.csv:\n%s\nwant:\n%s", csv, want)
	}
	jsonl, errOut, err := runTestApp(t, "export", "--format", "jsonl", dir)
	if err != nil {
		t.Fatalf("export jsonl: %v\n%s", err, errOut)
	}
	got, err := run.ReadRecords(strings.NewReader(jsonl))
	if err != nil || len(got) != len(recs) {
		t.Fatalf("%d records read back (%v), want %d", len(got), err, len(recs))
	}
	for i, r := range got {
		if r.Seq != int64(i+1) {
			t.Fatalf("record %d has seq %d: want sequence order", i, r.Seq)
		}
		orig, _ := json.Marshal(findSeq(recs, r.Seq))
		back, _ := json.Marshal(r)
		if !bytes.Equal(orig, back) {
			t.Errorf("seq %d changed in the export:\n%s\nwas\n%s", r.Seq, back, orig)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "--format", "har", dir}, "use vegeta, csv or jsonl"},
		{[]string{"export", "--format", "vegeta"}, "needs one run directory"},
		{[]string{"export", "--format", "vegeta", t.TempDir()}, "manifest"},
	} {
		if _, _, err := runTestApp(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}

func findSeq(recs []run.Record, seq int64) run.Record {
	for _, r := range recs {
		if r.Seq == seq {
			return r
		}
	}
	return run.Record{}
}
