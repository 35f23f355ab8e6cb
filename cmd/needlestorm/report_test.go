package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
)

// writeRunDir writes a small run: 20 requests at 1000 tokens (all right)
// and 20 at 4000 (a quarter right), ttft 300ms, under the given status.
func writeRunDir(t *testing.T, status string, objectives json.RawMessage) string {
	t.Helper()
	dir := t.TempDir()
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	for i := range 40 {
		length, answer := 1000, "It is 4,815,162."
		if i%2 == 1 {
			length = 4000
			if i%8 != 1 {
				answer = "It is 99."
			}
		}
		at := start.Add(time.Duration(i) * 500 * time.Millisecond)
		r := run.Record{
			Schema: run.RecordSchema, Seq: int64(i), Target: "sim", Model: "simulated", StageLabel: "rate=2/s",
			CaseID: fmt.Sprintf("c%d", i%4), Task: "single", Length: length, Depth: 50, Expected: []string{"4815162"},
			ScheduledAt: at, SentAt: at, TTFT: run.Seconds(300 * time.Millisecond), E2E: run.Seconds(time.Second),
			PromptTokensClient: length, PromptTokensServer: length + 7, OutputTokens: 6, Status: 200, Answer: answer,
		}
		b, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(append(b, '\n'))
	}
	if err := os.WriteFile(filepath.Join(dir, run.RecordsFile), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	m := &run.Manifest{Tool: "needlestorm", StartedAt: start, Status: status, Records: 40, Objectives: objectives}
	if err := run.WriteManifest(dir, m); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runApp(args ...string) (string, error) {
	app := newApp()
	var out bytes.Buffer
	app.Writer = &out
	app.ErrWriter = &out
	app.ExitErrHandler = func(*cli.Context, error) {} // keep the test process alive
	err := app.Run(append([]string{"needlestorm"}, args...))
	return out.String(), err
}

func TestReportCommand(t *testing.T) {
	tests := []struct {
		name       string
		status     string
		objectives json.RawMessage
		args       []string
		effective  int
		text       []string
	}{
		{"default threshold", run.StatusComplete, nil, nil, 1000, []string{"run complete: 40 records", "effective context 1000 tokens"}},
		{"lower threshold", run.StatusComplete, nil, []string{"--accuracy", "0.2"}, 4000, []string{"accuracy >= 0.20"}},
		{"flags before the directory", run.StatusComplete, nil, []string{"--accuracy=0.2"}, 4000, []string{"accuracy >= 0.20"}},
		{"relative threshold", run.StatusComplete, nil, []string{"--accuracy", "0.2", "--accuracy-relative"}, 4000, []string{"shortest length"}},
		{"slo from flags fails every point", run.StatusComplete, nil, []string{"--slo", "ttft_p95=100ms"}, 1000, []string{"ttft_p95 300ms > 100ms"}},
		{"objectives from the manifest", run.StatusComplete, json.RawMessage(`{"latency":[{"metric":"e2e","percentile":95,"max":0.5}],"accuracy":0.2}`), nil, 4000, []string{"e2e_p95 1s > 500ms"}},
		{"interrupted run", run.StatusInterrupted, nil, nil, 1000, []string{"run INTERRUPTED", "interrupted"}},
		{"requirement met", run.StatusComplete, nil, []string{"--require", "length=1k,rate=1.5"}, 1000, []string{"best target for length 1k at 1.5/s: sim (cost unknown"}},
		{"requirement beyond the effective context", run.StatusComplete, nil, []string{"--require=length=4k,ttft_p95=1s"}, 1000, []string{"no target covers length 4k, ttft_p95 <= 1s (sim: effective context 1k < 4k"}},
	}
	// The fixture's 4000-token accuracy is 0.25: at the default threshold
	// an objective fails, and report exits with exitObjectives.
	failing := map[string]bool{"default threshold": true, "slo from flags fails every point": true, "objectives from the manifest": true,
		"interrupted run": true, "requirement beyond the effective context": true}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeRunDir(t, tt.status, tt.objectives)
			out, err := runApp(append([]string{"report", dir}, tt.args...)...)
			want := exitOK
			if failing[tt.name] {
				want = exitObjectives
			}
			if code := campaignTestExitCode(err); code != want {
				t.Fatalf("report: exit %d (%v), want %d\n%s", code, err, want, out)
			}
			for _, want := range append(tt.text, filepath.Join(dir, reports.HTMLFile)) {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			b, err := os.ReadFile(filepath.Join(dir, reports.EnvelopeFile))
			if err != nil {
				t.Fatal(err)
			}
			var env reports.Envelope
			if err := json.Unmarshal(b, &env); err != nil {
				t.Fatal(err)
			}
			if got := env.Targets[0].EffectiveContextLength; got != tt.effective {
				t.Errorf("effective context %d, want %d", got, tt.effective)
			}
			for _, f := range []string{reports.HTMLFile, reports.MarkdownFile, reports.JSONFile, reports.CSVFile} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestReportCommandErrors(t *testing.T) {
	dir := writeRunDir(t, run.StatusComplete, nil)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"report"}, "needs one run directory"},
		{[]string{"report", dir, "--slo", "speed_p95=2s"}, "--slo: unknown objective"},
		{[]string{"report", dir, "--accuracy", "85"}, "give a fraction"},
		{[]string{"report", dir, "--tolerance", "-3"}, "--tolerance -3"},
		{[]string{"report", dir, "--require", "rate=4"}, "--require: a requirement needs a length"},
		{[]string{"report", dir, "--require", "length=32k,speed=3"}, `--require: unknown requirement part "speed"`},
		{[]string{"report", dir, "--require", "length=32q"}, "--require: requirement length=32q"},
		{[]string{"report", t.TempDir()}, "a needlestorm run directory?"},
	}
	for _, tt := range tests {
		out, err := runApp(tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v (output %q), want one containing %q", tt.args, err, out, tt.want)
		}
	}
}

// TestReportCommandPricesFromManifest checks that a regenerated report costs
// what the run cost: the prices come from the manifest's targets.
func TestReportCommandPricesFromManifest(t *testing.T) {
	dir := writeRunDir(t, run.StatusComplete, nil)
	m, err := run.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	m.Targets = json.RawMessage(`[{"name":"sim","kind":"sim","prices":{"input":1,"output":2},"currency":"EUR"}]`)
	if err := run.WriteManifest(dir, m); err != nil {
		t.Fatal(err)
	}
	if out, err := runApp("report", dir); campaignTestExitCode(err) != exitObjectives {
		t.Fatalf("report: %v, want the 4000-token accuracy to fail the objectives\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, reports.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Spend    float64 `json:"spend"`
		Currency string  `json:"currency"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	// 20 requests of 1000+7 and 20 of 4000+7 server prompt tokens at 1 per
	// million, and 40×6 output tokens at 2 per million.
	want := (20*1007 + 20*4007 + 2*40*6) / 1e6
	if math.Abs(s.Spend-want) > 1e-9 || s.Currency != "EUR" {
		t.Errorf("spend %v %s, want %v EUR", s.Spend, s.Currency, want)
	}
}

// TestHelpDefaultsEveryCommand checks every command's --help: each flag
// shows at most one default, no zero default that means something else, and
// the sim profile table has no blank cell.
func TestHelpDefaultsEveryCommand(t *testing.T) {
	app := newApp()
	for _, cmd := range app.Commands {
		t.Run(cmd.Name, func(t *testing.T) {
			out, _, err := runTestApp(t, cmd.Name, "--help")
			if err != nil {
				t.Fatal(err)
			}
			flags := 0
			for _, l := range strings.Split(out, "\n") {
				l = strings.TrimSpace(l)
				if !strings.HasPrefix(l, "--") {
					continue
				}
				flags++
				if n := strings.Count(l, "(default"); n > 1 {
					t.Errorf("%d defaults: %s", n, l)
				}
				for _, zero := range []string{"(default: 0)", "(default: 0s)"} {
					if strings.Contains(l, zero) {
						t.Errorf("a zero default that means something else: %s", l)
					}
				}
			}
			if flags < len(cmd.VisibleFlags()) {
				t.Errorf("found %d flag lines for %d flags in the help:\n%s", flags, len(cmd.VisibleFlags()), out)
			}
		})
	}
}

func TestSimProfileTableHasNoBlankCell(t *testing.T) {
	lines := strings.Split(strings.TrimRight(profileTable(), "\n"), "\n")
	if len(lines) < 3 {
		t.Fatalf("profile table too short:\n%s", profileTable())
	}
	// tabwriter aligns every cell with its header: a profile's cell starts
	// where its name does.
	header := lines[0]
	var starts []int
	for i := 1; i < len(header); i++ {
		if header[i] != ' ' && header[i-1] == ' ' {
			starts = append(starts, i)
		}
	}
	if len(starts) < 3 {
		t.Fatalf("header %q: want a flag column, profile columns and a meaning", header)
	}
	for _, l := range lines[1:] {
		for _, at := range starts {
			if at >= len(l) || l[at] == ' ' {
				t.Errorf("row with a blank cell under %q: %s", strings.Fields(header[at:])[0], l)
			}
		}
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	tests := [][]string{
		{"report"},
		{"report", "a", "b"},
		{"report", "--nope", "x"},
		{"corpus", "extra"},
		{"corpus", "--nope"},
		{"corpus", "--lengths", "x"},
		{"tokens", "a", "b"},
		{"tokens", "--encoding", "nope"},
		{"tokens", "--nope"},
		{"sim", "extra"},
		{"sim", "--nope"},
		{"sim", "--profile", "nope"},
		{"sim", "--listen", "0.0.0.0:1"},
		{"sim", "--listen", "127.0.0.1:0", "--overflow", "sideways"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, _, err := runTestApp(t, args...)
			var ec cli.ExitCoder
			if !errors.As(err, &ec) || ec.ExitCode() != 2 {
				t.Errorf("error %v: want a usage error with exit status 2", err)
			}
		})
	}
}

// reportTestSums are the SHA-256 sums of every file in dir, by name.
func reportTestSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = fmt.Sprintf("%x", sha256.Sum256(b))
	}
	return out
}

func TestReportOut(t *testing.T) {
	dir := writeRunDir(t, run.StatusComplete, nil)
	if _, err := runApp("report", dir); campaignTestExitCode(err) != exitObjectives {
		t.Fatalf("report: %v", err)
	}
	before := reportTestSums(t, dir)
	other := filepath.Join(t.TempDir(), "rejudged")
	out, err := runApp("report", dir, "--accuracy", "0.2", "--out", other)
	if err != nil {
		t.Fatalf("report --out: %v\n%s", err, out)
	}
	if after := reportTestSums(t, dir); !maps.Equal(before, after) {
		t.Errorf("report --out changed the run directory:\nbefore %v\nafter  %v", before, after)
	}
	for _, f := range []string{reports.HTMLFile, reports.MarkdownFile, reports.JSONFile, reports.EnvelopeFile, reports.CSVFile} {
		if _, err := os.Stat(filepath.Join(other, f)); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(out, filepath.Join(other, reports.HTMLFile)) {
		t.Errorf("the output does not point at the new report:\n%s", out)
	}
	// The re-judged figures are the new folder's; compare reads them.
	md, err := os.ReadFile(filepath.Join(other, reports.MarkdownFile))
	if err != nil || !strings.Contains(string(md), `accuracy \>= 0.20`) {
		t.Errorf("summary.md of the re-judged run (%v) lacks the new threshold:\n%s", err, md)
	}
	if f, err := reports.LoadFigures(other); err != nil || f.Kind != reports.FiguresSummary || f.Env.Targets[0].EffectiveContextLength != 4000 {
		t.Errorf("LoadFigures(--out folder) = %+v, %v; want the re-judged summary (effective context 4000)", f, err)
	}
	// --out naming another run is refused.
	if _, err := runApp("report", dir, "--out", writeRunDir(t, run.StatusComplete, nil)); campaignTestExitCode(err) != exitUsage || !strings.Contains(err.Error(), "holds another run") {
		t.Errorf("--out over another run: %v, want a usage error", err)
	}
}
