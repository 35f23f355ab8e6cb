package reports

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/needlestorm/needlestorm/run"
)

// ServerMetricsStage is what a target's own metrics endpoint said during
// one stage (from the run's server_metrics.jsonl): each figure is over
// the stage's scrapes, a scrape being one sample every interval (an
// instant, not an average over the interval).
type ServerMetricsStage struct {
	Target     string `json:"target"`
	Stage      int    `json:"stage"`
	StageLabel string `json:"stage_label"`
	// AskedRate is the stage's asked rate (its scheduled rate when it named
	// none; 0 for a closed-loop stage), from the records.
	AskedRate float64 `json:"asked_rate"`
	// Scrapes counts the scrapes that answered, Failed those that did not.
	Scrapes int `json:"scrapes"`
	Failed  int `json:"failed_scrapes"`
	// Running and Waiting are the requests in the server's batch and its
	// queue (summed over label sets), KVCacheUsage the fraction of its KV
	// cache in use (mean over label sets); nil when the server exposed none.
	Running      *MeanMax `json:"running,omitempty"`
	Waiting      *MeanMax `json:"waiting,omitempty"`
	KVCacheUsage *MeanMax `json:"kv_cache_usage,omitempty"`
	// PrefixCacheHitRate is the share of the prompt tokens the prefix cache
	// was queried for during the stage that it held: the increase of the
	// hit counter over the increase of the query counter, from the scrape
	// before the stage's first to its last (nil without both counters or
	// without a query).
	PrefixCacheHitRate *float64 `json:"prefix_cache_hit_rate,omitempty"`
	// Metrics are the server's own names the figures come from.
	Metrics []string `json:"metrics,omitempty"`
}

// MeanMax is the mean and the maximum of a series over N scrapes.
type MeanMax struct {
	Mean float64 `json:"mean"`
	Max  float64 `json:"max"`
	N    int     `json:"n"`
}

// scrapePoint is one scrape of one target: its neutral series combined
// over label sets.
type scrapePoint struct {
	at     time.Time
	stage  int
	label  string
	failed bool
	values map[string]float64
}

// addServerMetrics reads dir's server_metrics.jsonl, when the run has one,
// into s.ServerMetrics. A file that cannot be read whole is used up to the
// bad line, and the run's note says so.
func addServerMetrics(dir string, s *Summary) {
	samples, err := run.ReadServerMetricsFile(dir)
	if err != nil {
		note := fmt.Sprintf("%s could not be read whole, %d samples before the bad line were used (%v)", run.ServerMetricsFile, len(samples), err)
		if errors.Is(err, run.ErrTornTail) {
			note = fmt.Sprintf("%s ends in a half-written line (an interrupted run); the %d samples before it were used", run.ServerMetricsFile, len(samples))
		}
		s.Run.Note = joinNotes(s.Run.Note, note)
	}
	s.serverSamples = samples
	s.ServerMetrics = serverMetricsStages(samples, s)
}

// scrapesOf groups a target's samples into scrapes (the samples of one
// scrape share its time), in time order.
func scrapesOf(samples []run.ServerSample, target string) []scrapePoint {
	byTime := map[time.Time]*scrapePoint{}
	kvSets := map[time.Time]int{}
	var out []*scrapePoint
	for _, smp := range samples {
		if smp.Target != target {
			continue
		}
		p := byTime[smp.Time]
		if p == nil {
			p = &scrapePoint{at: smp.Time, stage: smp.Stage, label: smp.StageLabel, values: map[string]float64{}}
			byTime[smp.Time] = p
			out = append(out, p)
		}
		if smp.Failed() {
			p.failed = true
			continue
		}
		if smp.Value == nil || math.IsNaN(*smp.Value) || math.IsInf(*smp.Value, 0) {
			continue
		}
		p.values[smp.Series] += *smp.Value
		if smp.Series == run.SeriesKVCacheUsage {
			kvSets[smp.Time]++
		}
	}
	res := make([]scrapePoint, len(out))
	for i, p := range out {
		if n := kvSets[p.at]; n > 1 {
			p.values[run.SeriesKVCacheUsage] /= float64(n)
		}
		res[i] = *p
	}
	slices.SortStableFunc(res, func(a, b scrapePoint) int { return a.at.Compare(b.at) })
	return res
}

// serverMetricsTargets are the targets with samples, in name order.
func serverMetricsTargets(samples []run.ServerSample) []string {
	var out []string
	for _, smp := range samples {
		if !slices.Contains(out, smp.Target) {
			out = append(out, smp.Target)
		}
	}
	slices.Sort(out)
	return out
}

// serverMetricsStages summarises the samples per target and stage (the
// scrapes before a target's first stage only serve as the counters' base).
func serverMetricsStages(samples []run.ServerSample, s *Summary) []ServerMetricsStage {
	var out []ServerMetricsStage
	for _, target := range serverMetricsTargets(samples) {
		scrapes := scrapesOf(samples, target)
		names := metricNames(samples, target)
		byStage := map[int]*ServerMetricsStage{}
		acc := map[int]map[string][]float64{}
		hits, queries := map[int]float64{}, map[int]float64{}
		var prev *scrapePoint
		for i := range scrapes {
			p := &scrapes[i]
			if p.stage < 0 {
				if !p.failed {
					prev = p
				}
				continue
			}
			st := byStage[p.stage]
			if st == nil {
				st = &ServerMetricsStage{Target: target, Stage: p.stage, StageLabel: p.label, AskedRate: askedRateOf(s, target, p.stage), Metrics: names}
				byStage[p.stage] = st
				acc[p.stage] = map[string][]float64{}
			}
			if p.failed {
				st.Failed++
				continue
			}
			st.Scrapes++
			for _, series := range []string{run.SeriesRunning, run.SeriesWaiting, run.SeriesKVCacheUsage} {
				if v, ok := p.values[series]; ok {
					acc[p.stage][series] = append(acc[p.stage][series], v)
				}
			}
			if dh, dq, ok := counterIncrease(prev, p); ok {
				hits[p.stage] += dh
				queries[p.stage] += dq
			}
			prev = p
		}
		for _, idx := range slices.Sorted(maps.Keys(byStage)) {
			st := byStage[idx]
			st.Running = meanMax(acc[idx][run.SeriesRunning])
			st.Waiting = meanMax(acc[idx][run.SeriesWaiting])
			st.KVCacheUsage = meanMax(acc[idx][run.SeriesKVCacheUsage])
			if q := queries[idx]; q > 0 {
				r := hits[idx] / q
				st.PrefixCacheHitRate = &r
			}
			out = append(out, *st)
		}
	}
	return out
}

// counterIncrease is how much the prefix-cache counters rose from prev to
// p; false when either lacks them or they went down (a restart).
func counterIncrease(prev, p *scrapePoint) (dh, dq float64, ok bool) {
	if prev == nil {
		return 0, 0, false
	}
	h0, ok1 := prev.values[run.SeriesPrefixCacheHits]
	q0, ok2 := prev.values[run.SeriesPrefixCacheQueries]
	h1, ok3 := p.values[run.SeriesPrefixCacheHits]
	q1, ok4 := p.values[run.SeriesPrefixCacheQueries]
	if !ok1 || !ok2 || !ok3 || !ok4 || h1 < h0 || q1 < q0 {
		return 0, 0, false
	}
	return h1 - h0, q1 - q0, true
}

// metricNames are the server's own names a target's samples carry.
func metricNames(samples []run.ServerSample, target string) []string {
	var out []string
	for _, smp := range samples {
		if smp.Target == target && smp.Metric != "" && smp.Series != run.SeriesPrefixCacheHitRate && !slices.Contains(out, smp.Metric) {
			out = append(out, smp.Metric)
		}
	}
	slices.Sort(out)
	return out
}

func meanMax(vs []float64) *MeanMax {
	if len(vs) == 0 {
		return nil
	}
	m := &MeanMax{Max: vs[0], N: len(vs)}
	sum := 0.0
	for _, v := range vs {
		sum += v
		m.Max = max(m.Max, v)
	}
	m.Mean = sum / float64(len(vs))
	return m
}

// askedRateOf is a stage's asked rate as its records say (its scheduled
// rate when none was named).
func askedRateOf(s *Summary, target string, stage int) float64 {
	for _, ts := range s.Targets {
		if ts.Target != target {
			continue
		}
		for _, st := range ts.Stages {
			if st.Stage == stage {
				return cmp.Or(st.AskedRate, st.Rate)
			}
		}
	}
	return 0
}

// serverMetricsHeader and serverMetricsRow are the section's table.
var serverMetricsHeader = []string{"target", "stage", "asked", "running mean / max", "waiting mean / max", "KV cache mean / max", "prefix hit rate", "scrapes", "failed"}

func serverMetricsRow(st ServerMetricsStage) []string {
	count := func(m *MeanMax) string {
		if m == nil {
			return "-"
		}
		return strconv.FormatFloat(m.Mean, 'f', 1, 64) + " / " + strconv.FormatFloat(m.Max, 'g', 4, 64)
	}
	share := func(m *MeanMax) string {
		if m == nil {
			return "-"
		}
		return formatShare(m.Mean) + " / " + formatShare(m.Max)
	}
	hit := "-"
	if st.PrefixCacheHitRate != nil {
		hit = formatShare(*st.PrefixCacheHitRate)
	}
	return []string{st.Target, cmp.Or(st.StageLabel, strconv.Itoa(st.Stage)), formatRate(st.AskedRate), count(st.Running), count(st.Waiting), share(st.KVCacheUsage), hit, strconv.Itoa(st.Scrapes), strconv.Itoa(st.Failed)}
}

// serverMetricsNote says what the figures rest on.
const serverMetricsNote = "From each target's own metrics endpoint (server_metrics), scraped every interval into server_metrics.jsonl: " +
	"running and waiting are the requests in the server's batch and queue, KV cache the fraction of its KV cache in use, each a sample at the scrape (not an average over the interval) over the stage's scrapes; " +
	"the prefix hit rate is the rise of the prefix-cache hit counter over that of its query counter (tokens) across the stage. See docs/metrics.md."

// writeServerMetricsMarkdown writes the server-metrics section of
// summary.md (nothing for a run without server_metrics.jsonl).
func writeServerMetricsMarkdown(b *strings.Builder, s *Summary) {
	if len(s.ServerMetrics) == 0 {
		return
	}
	b.WriteString("\n## Server metrics\n\n")
	cells := make([]string, len(serverMetricsHeader))
	for i, h := range serverMetricsHeader {
		cells[i] = md(h)
	}
	fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(cells, " | "), strings.Repeat(" --- |", len(cells)))
	for _, st := range s.ServerMetrics {
		row := serverMetricsRow(st)
		for i := range row {
			row[i] = md(row[i])
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(row, " | "))
	}
	targets := map[string][]string{}
	for _, st := range s.ServerMetrics {
		targets[st.Target] = st.Metrics
	}
	for _, t := range slices.Sorted(maps.Keys(targets)) {
		fmt.Fprintf(b, "\n%s: %s.", md(t), md(strings.Join(targets[t], ", ")))
	}
	fmt.Fprintf(b, "\n\n%s\n", md(serverMetricsNote))
}

// writeServerMetricsText writes one line per scraped target for the
// terminal: its scrapes and the peaks of its queue and KV cache, with the
// stage each peak fell in (the tables and charts are in summary.md and
// report.html).
func writeServerMetricsText(b *strings.Builder, s *Summary) {
	type peak struct {
		v     float64
		label string
		ok    bool
	}
	type acc struct {
		scrapes, failed         int
		running, waiting, kvUse peak
	}
	var order []string
	by := map[string]*acc{}
	up := func(p *peak, m *MeanMax, label string) {
		if m != nil && (!p.ok || m.Max > p.v) {
			*p = peak{m.Max, label, true}
		}
	}
	for _, st := range s.ServerMetrics {
		a := by[st.Target]
		if a == nil {
			a = &acc{}
			by[st.Target] = a
			order = append(order, st.Target)
		}
		a.scrapes += st.Scrapes
		a.failed += st.Failed
		up(&a.running, st.Running, st.StageLabel)
		up(&a.waiting, st.Waiting, st.StageLabel)
		up(&a.kvUse, st.KVCacheUsage, st.StageLabel)
	}
	if len(order) > 0 {
		b.WriteString("\n")
	}
	for _, t := range order {
		a := by[t]
		parts := []string{fmt.Sprintf("%d scrapes, %d failed", a.scrapes, a.failed)}
		if a.running.ok {
			parts = append(parts, fmt.Sprintf("running at most %g (%s)", a.running.v, plain(a.running.label)))
		}
		if a.waiting.ok {
			parts = append(parts, fmt.Sprintf("waiting at most %g (%s)", a.waiting.v, plain(a.waiting.label)))
		}
		if a.kvUse.ok {
			parts = append(parts, fmt.Sprintf("KV cache at most %.0f%% (%s)", a.kvUse.v*100, plain(a.kvUse.label)))
		}
		fmt.Fprintf(b, "server metrics of %s: %s\n", plain(t), strings.Join(parts, ", "))
	}
}
