package reports

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jstemmer/go-junit-report/v2/junit"
)

// junitTimestamp is the JUnit schema's timestamp: ISO 8601 without a zone
// (the Ant schema's ISO8601_DATETIME_PATTERN); written in UTC.
const junitTimestamp = "2006-01-02T15:04:05"

// WriteRegressionJUnit writes the comparison as JUnit XML, so that CI
// systems show it as test results: one test suite per target, one test
// case per metric (its lengths together), failing when the metric
// regressed at some length and skipped when no threshold gates it. A
// target the current run did not measure is a suite with one failing case,
// "measured". hostname names the machine (the schema requires one;
// "localhost" when empty). The output follows the Apache Ant JUnit schema
// (windyroad/JUnit-Schema), which Jenkins, GitLab and GitHub test
// reporters read.
func WriteRegressionJUnit(w io.Writer, r *Regression, hostname string) error {
	if hostname == "" {
		hostname = "localhost"
	}
	stamp := r.Current.Run.StartedAt
	if stamp.IsZero() {
		stamp = time.Now()
	}
	var suites junit.Testsuites
	for i, target := range r.junitTargets() {
		suite := junit.Testsuite{
			Name: "needlestorm compare " + target, Package: "needlestorm.compare", ID: i,
			Hostname: hostname, Time: "0", Timestamp: stamp.UTC().Format(junitTimestamp),
			SystemOut: &junit.Output{}, SystemErr: &junit.Output{},
		}
		suite.AddProperty("baseline", r.Baseline.Source)
		suite.AddProperty("current", r.Current.Source)
		suite.AddProperty("alpha", strconv.FormatFloat(r.Alpha, 'g', -1, 64))
		suite.AddProperty("thresholds", thresholdList(r.Thresholds))
		for _, u := range r.Unmeasured {
			if u.Target == target {
				suite.AddTestcase(junit.Testcase{Name: "measured", Classname: junitClass(target), Time: "0",
					Failure: &junit.Result{Message: u.String(), Type: "not_measured", Data: u.String()}})
			}
		}
		var out strings.Builder
		for _, metric := range r.metricsOf(target) {
			tc, lines := r.junitCase(target, metric)
			suite.AddTestcase(tc)
			out.WriteString(lines)
		}
		suite.SystemOut.Data = out.String()
		// The schema's testsuites element has no attributes: totals are
		// per suite.
		suites.Suites = append(suites.Suites, suite)
	}
	if _, err := io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"); err != nil {
		return fmt.Errorf("writing JUnit XML: %w", err)
	}
	if err := suites.WriteXML(w); err != nil {
		return fmt.Errorf("writing JUnit XML: %w", err)
	}
	return nil
}

// junitCase is one target's metric as a test case, with its figures as
// lines for the suite's system-out.
func (r *Regression) junitCase(target, metric string) (junit.Testcase, string) {
	tc := junit.Testcase{Name: metric, Classname: junitClass(target), Time: "0"}
	var lines, failed []string
	gated := false
	for _, c := range r.Changes {
		if c.Target != target || c.Metric != metric {
			continue
		}
		line := fmt.Sprintf("%s %s tokens=%s: %s -> %s (%s) %s", target, metric, c.lengthText(),
			c.valueText(c.Baseline, 0), c.valueText(c.Current, 1), c.deltaText(), c.verdictText())
		lines = append(lines, line)
		if c.Status != ChangeInfo && c.Status != ChangeMissing {
			gated = true
		}
		if c.Status == ChangeRegressed {
			failed = append(failed, c.sentence())
		}
	}
	switch {
	case len(failed) > 0:
		tc.Failure = &junit.Result{Message: metric + " regressed: " + failed[0], Type: "regression", Data: strings.Join(failed, "\n")}
	case !gated:
		tc.Skipped = &junit.Result{Message: metric + ": no threshold gates it, or it was not measured in both runs"}
	}
	return tc, strings.Join(lines, "\n") + "\n"
}

// junitTargets are the targets compared or left unmeasured, in order.
func (r *Regression) junitTargets() []string {
	var out []string
	add := func(t string) {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	for _, c := range r.Changes {
		add(c.Target)
	}
	for _, u := range r.Unmeasured {
		add(u.Target)
	}
	return out
}

// metricsOf are a target's metrics in the order of the changes.
func (r *Regression) metricsOf(target string) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range r.Changes {
		if c.Target == target && !seen[c.Metric] {
			seen[c.Metric] = true
			out = append(out, c.Metric)
		}
	}
	return out
}

// junitClass is a test case's class name: the target under a fixed
// package, as CI systems group by it.
func junitClass(target string) string { return "needlestorm.compare." + target }
