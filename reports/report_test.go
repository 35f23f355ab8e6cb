package reports

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/needlestorm/needlestorm/run"
)

const planted = `<script>alert("x")</script>`

// writeRun writes a run directory holding the envelope fixture, with a
// <script> planted in an answer, a model name and a target name, plus
// truncation, errors and repeats, and returns its path.
func writeRun(t testing.TB, status string, tail string) string {
	t.Helper()
	dir := t.TempDir()
	recs := envelopeFixture()
	recs[3].Answer = "I found " + planted + " and nothing else"
	for i := range recs {
		recs[i].Model = "model " + planted
	}
	evil := stage(planted, 0, 1, 1000, 0, 6, 4, 200*time.Millisecond)
	evil = append(evil, stage(planted, 0, 1, 4000, 0, 6, 0, 400*time.Millisecond)...)
	evil = interleave(evil)
	for i := range evil {
		if evil[i].Length == 4000 {
			evil[i].PromptTokensServer = 2048 // truncated
		}
	}
	evil[len(evil)-1].ErrorClass, evil[len(evil)-1].Status = run.ErrRateLimited, 429
	recs = append(recs, evil...)
	var buf bytes.Buffer
	for i := range recs {
		recs[i].Seq = int64(i)
		b, err := json.Marshal(&recs[i])
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(append(b, '\n'))
	}
	buf.WriteString(tail)
	if err := os.WriteFile(filepath.Join(dir, run.RecordsFile), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	obj, _ := ParseSLO("ttft_p95=2s,error_rate=0.05")
	raw, _ := json.Marshal(obj)
	m := &run.Manifest{Tool: "needlestorm", Version: "test", StartedAt: t0, Status: status, Records: int64(len(recs)), Objectives: raw}
	if status == run.StatusInterrupted {
		m.Reason = "signal: interrupt"
	} else {
		m.EndedAt = t0.Add(5 * time.Hour)
	}
	if err := run.WriteManifest(dir, m); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestWriteOutputs(t *testing.T) {
	dir := writeRun(t, run.StatusComplete, "")
	obj, _ := ParseSLO("ttft_p95=2s,error_rate=0.05")
	s, err := Write(dir, Options{Objectives: obj, Prices: Prices{Currency: "USD", Targets: map[string]Price{"a": {Input: 0.5, Output: 1.5}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{HTMLFile, MarkdownFile, JSONFile, EnvelopeFile, CSVFile} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s: %v (size %v)", name, err, st)
		}
	}
	if !strings.Contains(s.Text(), filepath.Join(dir, HTMLFile)) {
		t.Errorf("Text() does not name report.html:\n%s", s.Text())
	}

	var env Envelope
	b, _ := os.ReadFile(filepath.Join(dir, EnvelopeFile))
	if err := json.Unmarshal(b, &env); err != nil || env.Schema != EnvelopeSchema || len(env.Targets) != 2 {
		t.Fatalf("envelope.json: %v, schema %q, %d targets", err, env.Schema, len(env.Targets))
	}
	for _, et := range env.Targets {
		if et.Target == "a" && (et.EffectiveContextLength != 4000 || et.Lengths[0].At == nil || et.Lengths[0].At.Cost == nil) {
			t.Errorf("envelope for a: effective %d, first length %+v", et.EffectiveContextLength, et.Lengths[0])
		}
	}

	var sum Summary
	b, _ = os.ReadFile(filepath.Join(dir, JSONFile))
	if err := json.Unmarshal(b, &sum); err != nil || sum.Schema != SummarySchema || len(sum.Cells) != len(s.Cells) {
		t.Errorf("summary.json: %v, schema %q, %d cells", err, sum.Schema, len(sum.Cells))
	}

	f, _ := os.Open(filepath.Join(dir, CSVFile))
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], CSVColumns()) || len(rows) != s.Run.Records+1 {
		t.Errorf("records.csv: header %v, %d rows for %d records", rows[0], len(rows), s.Run.Records)
	}
	attr := slices.Index(rows[0], "attribution")
	truncated := 0
	for _, row := range rows[1:] {
		if len(row) != len(rows[0]) {
			t.Fatalf("row of %d fields, header has %d", len(row), len(rows[0]))
		}
		if row[attr] == "server_truncated" {
			truncated++
		}
	}
	if truncated == 0 {
		t.Error("records.csv carries no server_truncated row; the re-attribution is missing")
	}

	md, _ := os.ReadFile(filepath.Join(dir, MarkdownFile))
	if bytes.Contains(md, []byte("<script>")) {
		t.Error("summary.md carries a raw <script>")
	}
}

func TestReportHTML(t *testing.T) {
	dir := writeRun(t, run.StatusComplete, "")
	s, err := Write(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatalf("report.html does not parse: %v", err)
	}
	var scripts, external []string
	charts := map[string]int{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				switch strings.ToLower(a.Key) {
				case "src", "href", "xlink:href", "action", "poster", "data":
					v := strings.ToLower(strings.TrimSpace(a.Val))
					if strings.Contains(v, "http://") || strings.Contains(v, "https://") || strings.HasPrefix(v, "//") {
						external = append(external, n.Data+" "+a.Key+"="+a.Val)
					}
				}
			}
			if n.Data == "script" {
				var b strings.Builder
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					b.WriteString(c.Data)
				}
				scripts = append(scripts, b.String())
			}
			if n.Data == "link" || n.Data == "iframe" || n.Data == "img" {
				external = append(external, "<"+n.Data+"> element")
			}
			if n.Data == "figure" {
				kind := ""
				for _, a := range n.Attr {
					if a.Key == "data-chart" {
						kind = a.Val
					}
				}
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					if c.Type == html.ElementNode && c.Data == "svg" {
						charts[kind]++
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if len(external) > 0 {
		t.Errorf("report.html refers to the network or other files: %v", external)
	}
	if bytes.Contains(page, []byte("@import")) || bytes.Contains(page, []byte("url(")) {
		t.Error("report.html CSS imports or loads something")
	}
	if len(scripts) != 1 || strings.Contains(scripts[0], "alert") {
		t.Errorf("report.html has %d scripts (want our one inline script): %q", len(scripts), scripts)
	}
	if bytes.Contains(page, []byte(planted)) {
		t.Error("a planted <script> from an answer, model or target name came out unescaped")
	}
	if !bytes.Contains(page, []byte("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;")) {
		t.Error("the planted <script> does not appear escaped; was it dropped instead of shown?")
	}
	kinds := []string{ChartHeatmap, ChartTTFT, ChartAccuracy, ChartEnvelope, ChartOverTime, ChartAttribution}
	for _, k := range kinds {
		if charts[k] != len(s.Targets) {
			t.Errorf("chart %s: %d inline <svg>, want one per target (%d)", k, charts[k], len(s.Targets))
		}
	}
	// Two targets: the overlaid charts, once each (cost only with prices).
	for _, k := range []string{ChartCompareAccuracy, ChartCompareTTFT, ChartCompareEnvelope} {
		if charts[k] != 1 {
			t.Errorf("comparison chart %s: %d inline <svg>, want 1", k, charts[k])
		}
	}
	if charts[ChartCompareCost] != 0 {
		t.Error("a cost comparison without prices")
	}
	if bytes.Contains(page, []byte("<?xml")) {
		t.Error("an SVG kept its XML prolog")
	}
	if !bytes.Contains(page, []byte(`id="cells-table"`)) {
		t.Error("no sortable table of cells")
	}
}

func TestReportInterruptedRun(t *testing.T) {
	// An interrupted run whose last line was cut mid-write.
	dir := writeRun(t, run.StatusInterrupted, `{"schema":"needlestorm.record/v1","seq":9999,"tar`)
	s, err := Write(dir, Options{})
	if err != nil {
		t.Fatalf("report on an interrupted run: %v", err)
	}
	if s.Run.Complete || !strings.Contains(s.Run.Note, "interrupted") || !strings.Contains(s.Run.Note, "unreadable line") {
		t.Errorf("run info %+v does not say it was interrupted and cut", s.Run)
	}
	page, _ := os.ReadFile(filepath.Join(dir, HTMLFile))
	if !bytes.Contains(page, []byte("this run was interrupted (signal: interrupt)")) {
		t.Error("report.html does not say the run was interrupted")
	}
	md, _ := os.ReadFile(filepath.Join(dir, MarkdownFile))
	if !bytes.Contains(md, []byte("interrupted")) {
		t.Error("summary.md does not say the run was interrupted")
	}
	if !strings.Contains(s.Text(), "INTERRUPTED") {
		t.Errorf("Text() does not shout INTERRUPTED:\n%s", s.Text())
	}

	// A complete run with a broken line is an error the user must see.
	bad := writeRun(t, run.StatusComplete, "{not json\n")
	if _, err := Write(bad, Options{}); err == nil || !strings.Contains(err.Error(), "records line") {
		t.Errorf("complete run with a malformed line: %v, want an error naming the line", err)
	}
	if _, err := Write(t.TempDir(), Options{}); err == nil || !strings.Contains(err.Error(), "run directory") {
		t.Errorf("empty directory: %v, want an error saying it is not a run directory", err)
	}
}
