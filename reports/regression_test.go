package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// envPoint is one fixture envelope point: n requests at rate, correct
// right, errors failed, with a ttft and e2e p95 (p50 half of it).
func envPoint(rate float64, n, correct, errors int, ttft, e2e float64, cost float64) EnvelopePoint {
	q := func(v float64) Quantiles {
		return Quantiles{N: n - errors, P50: v / 2, P90: v * 0.9, P95: v, P99: v * 1.1}
	}
	p := EnvelopePoint{StageLabel: "rate=" + formatRate(rate)[:len(formatRate(rate))-2] + "/s", Rate: rate, LengthRate: rate, Requests: n,
		Pass: true, Accuracy: float64(correct) / float64(n), ErrorRate: float64(errors) / float64(n),
		TTFT: q(ttft), TPOT: q(ttft / 10), E2E: q(e2e)}
	if n == errors {
		p.TTFT, p.TPOT, p.E2E = Quantiles{}, Quantiles{}, Quantiles{}
	}
	if cost > 0 {
		p.Cost = &Cost{Currency: "USD", Total: cost, PerRequest: cost / float64(n)}
	}
	return p
}

func envLength(length int, maxRate *float64, points ...EnvelopePoint) EnvelopeLength {
	el := EnvelopeLength{Length: length, Accuracy: points[0].Accuracy, MaxRate: maxRate, Points: points}
	return el
}

// regressionFixture is a baseline and a current run of two targets: "fast"
// got worse in accuracy at 4k (significantly), slower at 1k, lost its max
// rate and effective context at 4k; its 1k accuracy dropped by 3.75 points
// on 80 requests (noise); "gone" was not run again.
func regressionFixture() (base, cur *Figures) {
	rate := func(r float64) *float64 { return &r }
	obj := Objectives{Latency: []LatencyObjective{{"ttft", 95, 2}}, Accuracy: 0.8}
	start := time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)
	corpus := json.RawMessage(`{"tasks":["single"],"lengths":[1024,4096],"seed":1}`)
	base = &Figures{Source: "nightly/base", Kind: FiguresRun, Corpus: corpus,
		Run: RunInfo{Tool: "needlestorm", Version: "v1.0.0", Status: "complete", StartedAt: start, Complete: true},
		Env: Envelope{Schema: EnvelopeSchema, Status: "complete", Objectives: obj, Targets: []EnvelopeTarget{
			{Target: "fast", EffectiveContextLength: 4096, Lengths: []EnvelopeLength{
				envLength(1024, rate(4), envPoint(2, 40, 38, 0, 0.2, 1.0, 0.04), envPoint(4, 40, 38, 0, 0.3, 1.2, 0.04)),
				envLength(4096, rate(4), envPoint(2, 40, 38, 0, 0.5, 2.0, 0.16), envPoint(4, 40, 37, 0, 0.6, 2.2, 0.16)),
			}},
			{Target: "gone", EffectiveContextLength: 1024, Lengths: []EnvelopeLength{
				envLength(1024, rate(2), envPoint(2, 40, 40, 0, 0.1, 0.5, 0)),
				envLength(4096, nil, envPoint(2, 40, 10, 0, 0.1, 0.5, 0)),
			}},
		}}}
	cur = &Figures{Source: "nightly/current", Kind: FiguresRun, Corpus: corpus,
		Run: RunInfo{Tool: "needlestorm", Version: "v1.1.0", Status: "complete", StartedAt: start.Add(24 * time.Hour), Complete: true},
		Env: Envelope{Schema: EnvelopeSchema, Status: "complete", Objectives: obj, Targets: []EnvelopeTarget{
			{Target: "fast", EffectiveContextLength: 1024, Lengths: []EnvelopeLength{
				envLength(1024, rate(4), envPoint(2, 40, 36, 0, 0.4, 1.0, 0.04), envPoint(4, 40, 37, 0, 0.5, 1.25, 0.04)),
				envLength(4096, nil, envPoint(2, 40, 20, 2, 0.5, 2.01, 0.16), envPoint(4, 40, 18, 4, 0.6, 2.2, 0.16)),
			}},
		}}}
	return base, cur
}

func TestCompareRunsFixture(t *testing.T) {
	base, cur := regressionFixture()
	r, err := CompareRuns(base, cur, RegressionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, c := range r.Changes {
		status[c.Target+"/"+formatLength(c.Length)+"/"+c.Metric] = c.Status
	}
	for key, want := range map[string]string{
		"fast/none/effective_context": ChangeRegressed, // 4096 -> 1024
		"fast/4096/accuracy":          ChangeRegressed, // 75/80 -> 38/80
		"fast/4096/max_rate":          ChangeRegressed, // 4/s -> none
		"fast/4096/error_rate":        ChangeRegressed, // 0/80 -> 6/80: +7.5pt, Fisher p < 0.05
		"fast/1024/accuracy":          ChangeOK,        // 76/80 -> 73/80: -3.75pt, within 5pt
		"fast/1024/ttft_p95":          ChangeRegressed, // 0.2s -> 0.4s
		"fast/1024/tpot_p95":          ChangeRegressed, // 20 ms -> 40 ms: +100%, 20 ms above the 10 ms floor
		"fast/1024/ttft_p50":          ChangeInfo,      // no threshold
		"fast/1024/e2e_p95":           ChangeOK,        // unchanged
		"fast/4096/e2e_p95":           ChangeOK,        // +0.5%
		"fast/4096/tpot_p95":          ChangeOK,        // 50 ms -> 50 ms
		"fast/1024/cost_per_correct":  ChangeOK,        // 0.08/76 -> 0.08/73: +4%
		"fast/4096/cost_per_correct":  ChangeRegressed, // 0.32/75 -> 0.32/38
		"fast/1024/max_rate":          ChangeOK,
		"fast/1024/chunk_gap_p95":     "", // not shown without a threshold
	} {
		if got := status[key]; got != want {
			t.Errorf("%s: %q, want %q", key, got, want)
		}
	}
	if len(r.Unmeasured) != 1 || r.Unmeasured[0].Target != "gone" {
		t.Errorf("unmeasured %+v, want the target gone", r.Unmeasured)
	}
	if !r.Regressed() {
		t.Error("Regressed() = false")
	}

	// The latency floor makes small changes count as none.
	r, err = CompareRuns(base, cur, RegressionOptions{LatencyFloor: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Changes {
		if c.Target == "fast" && c.Length == 1024 && c.Metric == "ttft_p95" && (c.Status != ChangeOK || !strings.Contains(c.Note, "latency floor")) {
			t.Errorf("ttft_p95 +200 ms under a 250 ms floor: %s (%s), want ok below the floor", c.Status, c.Note)
		}
	}

	// The same 3.75-point drop with a 3-point threshold is beyond it but not
	// significant on 80 requests: within noise.
	th, _ := ParseRegressionThresholds("accuracy_drop=3pt")
	r, err = CompareRuns(base, cur, RegressionOptions{Thresholds: th})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Changes {
		if c.Target == "fast" && c.Length == 1024 && c.Metric == CmpAccuracy && (c.Status != ChangeNoise || c.Test != TestZ) {
			t.Errorf("1k accuracy 95%% -> 91%% with accuracy_drop=3pt: %s by %s (p %v), want within noise by the z-test", c.Status, c.Test, *c.PValue)
		}
		if c.Metric == "ttft_p95" && c.Status != ChangeInfo {
			t.Errorf("ttft_p95 without a threshold: %s, want not gated", c.Status)
		}
	}
}

func TestCompareRunsRefusesIncomparable(t *testing.T) {
	base, cur := regressionFixture()
	cur.Corpus = json.RawMessage(`{"tasks":["single"],"lengths":[1024,4096],"seed":2}`)
	cur.Env.Objectives.Accuracy = 0.9
	cur.Env.Targets[0].Lengths = cur.Env.Targets[0].Lengths[:1]
	_, err := CompareRuns(base, cur, RegressionOptions{})
	if !IsNotComparable(err) {
		t.Fatalf("CompareRuns = %v, want a NotComparableError", err)
	}
	for _, want := range []string{"corpus seed: 1 in the baseline, 2 in the current run", "lengths tested: 1024, 4096 in the baseline, 1024 in the current run",
		"objectives: ttft_p95=2s, accuracy >= 0.80 in the baseline, ttft_p95=2s, accuracy >= 0.90 in the current run", "--force"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	r, err := CompareRuns(base, cur, RegressionOptions{Force: true})
	if err != nil || len(r.Differences) != 3 {
		t.Fatalf("with Force: %v, differences %q", err, r.Differences)
	}
	// An unknown recipe (an envelope file) is not a difference.
	cur.Corpus, cur.Env.Objectives.Accuracy, cur.Env.Targets[0].Lengths = nil, 0.8, base.Env.Targets[0].Lengths
	if d := Differences(base, cur); len(d) != 0 {
		t.Errorf("differences with an unknown recipe: %q", d)
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -run %s -update rewrites it):\n--- got\n%s\n--- want\n%s", name, t.Name(), got, want)
	}
}

func TestRegressionMarkdownGolden(t *testing.T) {
	base, cur := regressionFixture()
	r, err := CompareRuns(base, cur, RegressionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteRegressionMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	golden(t, "regression.md", b.Bytes())
	// Every table row has as many cells as its header.
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "| target") {
			continue
		}
		if strings.HasPrefix(line, "| ") && strings.Count(line, " | ") != 6 && strings.Count(line, " | ") != 7 && strings.Count(line, " | ") != 1 {
			t.Errorf("table row with a stray cell separator: %s", line)
		}
	}
	text := r.Text()
	for _, want := range []string{"7 regressions", "fast at 4096 tokens: accuracy 0.94 (75/80) → 0.47 (38/80)", "not measured: gone: in the baseline"} {
		if !strings.Contains(text, want) {
			t.Errorf("terminal text lacks %q:\n%s", want, text)
		}
	}
}

// junitDoc mirrors what the Ant JUnit schema (testdata/junit.xsd, from
// github.com/windyroad/JUnit-Schema) requires, to check it without a
// schema validator.
type junitDoc struct {
	XMLName xml.Name `xml:"testsuites"`
	Attrs   []xml.Attr
	Suites  []struct {
		Attrs      []xml.Attr `xml:",any,attr"`
		Properties *struct {
			Property []struct {
				Name  *string `xml:"name,attr"`
				Value *string `xml:"value,attr"`
			} `xml:"property"`
		} `xml:"properties"`
		Cases []struct {
			Attrs   []xml.Attr `xml:",any,attr"`
			Failure *struct {
				Type *string `xml:"type,attr"`
			} `xml:"failure"`
			Skipped *struct{} `xml:"skipped"`
			Inner   []struct {
				XMLName xml.Name
			} `xml:",any"`
		} `xml:"testcase"`
		SystemOut *string `xml:"system-out"`
		SystemErr *string `xml:"system-err"`
	} `xml:"testsuite"`
}

func attrsOf(as []xml.Attr) map[string]string {
	m := map[string]string{}
	for _, a := range as {
		m[a.Name.Local] = a.Value
	}
	return m
}

func TestRegressionJUnitGolden(t *testing.T) {
	base, cur := regressionFixture()
	r, err := CompareRuns(base, cur, RegressionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteRegressionJUnit(&b, r, "ci-runner"); err != nil {
		t.Fatal(err)
	}
	golden(t, "regression.junit.xml", b.Bytes())

	var doc junitDoc
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suites) != 2 {
		t.Fatalf("%d test suites, want one per target (fast, gone)", len(doc.Suites))
	}
	failures := map[string]bool{}
	for _, s := range doc.Suites {
		a := attrsOf(s.Attrs)
		for _, req := range []string{"name", "timestamp", "hostname", "tests", "failures", "errors", "time", "package", "id"} {
			if a[req] == "" {
				t.Errorf("testsuite %q lacks the required attribute %s", a["name"], req)
			}
		}
		if _, err := time.Parse(junitTimestamp, a["timestamp"]); err != nil {
			t.Errorf("timestamp %q is not the schema's ISO 8601 without a zone: %v", a["timestamp"], err)
		}
		if s.Properties == nil || s.SystemOut == nil || s.SystemErr == nil {
			t.Errorf("testsuite %q lacks properties, system-out or system-err", a["name"])
		}
		for _, c := range s.Cases {
			ca := attrsOf(c.Attrs)
			for _, req := range []string{"name", "classname", "time"} {
				if ca[req] == "" {
					t.Errorf("testcase %q lacks the required attribute %s", ca["name"], req)
				}
			}
			if len(c.Inner) > 1 {
				t.Errorf("testcase %q holds %d elements; the schema allows one of skipped, error, failure", ca["name"], len(c.Inner))
			}
			if c.Failure != nil {
				if c.Failure.Type == nil {
					t.Errorf("testcase %q: failure without its required type", ca["name"])
				}
				failures[strings.TrimPrefix(ca["classname"], "needlestorm.compare.")+"/"+ca["name"]] = true
			}
		}
	}
	for _, want := range []string{"fast/accuracy", "fast/effective_context", "fast/max_rate", "fast/ttft_p95", "gone/measured"} {
		if !failures[want] {
			t.Errorf("no failing test case %s; failing: %v", want, failures)
		}
	}
	if failures["fast/e2e_p95"] {
		t.Error("e2e_p95 fails, but it did not regress")
	}

	// The real schema, where xmllint (Debian package libxml2-utils) is at
	// hand.
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed (Debian package libxml2-utils): checked the required elements only, not against testdata/junit.xsd")
	}
	path := filepath.Join(t.TempDir(), "junit.xml")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "junit.xsd"), path).CombinedOutput()
	if err != nil {
		t.Errorf("xmllint --schema testdata/junit.xsd: %v\n%s", err, out)
	}
}
