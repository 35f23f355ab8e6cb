package reports

import (
	"cmp"
	"fmt"
	"html/template"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// The client-bottleneck rule (docs/metrics.md). A stage's figures measure
// the server only when the client kept to its schedule; a stage is marked
// ClientBottleneck when any of these holds:
//   - its send lag p99 is above its late limit: more than 1% of its
//     requests, and at least two (one late send on a busy machine is
//     noise, not a client that cannot keep up; below 100 requests the p99
//     is the maximum), were sent later than the larger of SendLagLimit
//     and LateGapShare of the scheduled gap between requests (a send 20 ms
//     late at 2/s hardly changes the load the server sees; at 100/s it
//     doubles a gap);
//   - its achieved send rate is more than SendRateShortfall below the rate
//     its own scheduled times give (only with at least
//     minRateRequests requests, as one late send skews a short stage,
//     and only when sending took longer than scheduled by more than the
//     late limit: see sendSpanExcess);
//   - the in-flight cap held back at least one of its requests.
//
// A bottlenecked stage's points do not count for the envelope: they are
// unresolved, neither held nor failed.
const (
	// SendLagLimit is the send lag p99 above which the client was the
	// bottleneck. 10 ms is above the pacer's precision on a loaded machine
	// (about 1 ms) and well below any latency objective worth stating.
	SendLagLimit = 10 * time.Millisecond
	// LateGapShare is the share of the scheduled gap between requests
	// (1/rate) a send may be late before it counts as late, when that is
	// more than SendLagLimit.
	LateGapShare = 0.25
	// SendRateShortfall is how far below the schedule the achieved send
	// rate may fall, as a share of the scheduled rate.
	SendRateShortfall = 0.02
	minRateRequests   = 10
	minLate           = 2
	lateShare         = 0.01
)

// StageInfo is one stage of one target, over its non-warm-up records.
// Rates are in requests per second and computed from the records:
//   - Rate is the scheduled rate, (n-1)/(last scheduled - first
//     scheduled): the load the schedule put on the target, the x of the
//     envelope;
//   - AskedRate is the stage's mean asked rate, as each record names it
//     (0 for closed-loop stages and older records);
//   - SentRate is the achieved send rate, (n-1)/(last sent - first sent);
//   - CompletedRate is (k-1)/(last end - first end) over the k successful
//     responses: the rate the server actually completed at, measured
//     like SentRate (0 below two);
//   - Goodput is CompletedRate times the share of successful responses
//     meeting every latency objective, CorrectGoodput of those also
//     answered right;
//   - Window is from the first send to the last response's end (the
//     drain included); a target's rate and goodput are over the sum of
//     its stages' windows.
type StageInfo struct {
	Stage          int     `json:"stage"`
	Label          string  `json:"label"`
	Requests       int     `json:"requests"`
	Rate           float64 `json:"rate"`
	AskedRate      float64 `json:"asked_rate"`
	SentRate       float64 `json:"sent_rate"`
	CompletedRate  float64 `json:"completed_rate"`
	Goodput        float64 `json:"goodput"`
	CorrectGoodput float64 `json:"correct_goodput"`
	// Window is in seconds.
	Window float64 `json:"window"`
	// SendLag is the distribution of sent_at - scheduled_at.
	SendLag Lag `json:"send_lag"`
	// HeldBack counts the requests the in-flight cap held back; Late
	// those sent more than LateLimit seconds after their scheduled time
	// (SendLagLimit, or LateGapShare of the gap between requests when
	// that is longer).
	HeldBack  int     `json:"held_back"`
	Late      int     `json:"late"`
	LateLimit float64 `json:"late_limit"`
	// ClientBottleneck says the client fell behind its schedule (see
	// SendLagLimit); BottleneckReasons say how.
	ClientBottleneck  bool     `json:"client_bottleneck"`
	BottleneckReasons []string `json:"client_bottleneck_reasons,omitempty"`
	// NotSent are the planned lengths this stage sent no request of
	// (outside an envelope search, whose steps probe one length each).
	NotSent []int     `json:"planned_not_sent,omitempty"`
	First   time.Time `json:"first_scheduled"`
	Last    time.Time `json:"last_scheduled"`
}

// Lag is a send lag distribution in seconds over N requests (nearest
// rank; Max is the largest).
type Lag struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// stageAcc gathers one stage's records.
type stageAcc struct {
	info                        StageInfo
	firstSent, lastSent, ending time.Time
	okFirst, okLast             time.Time // the successful responses' first and last ends
	lags                        []time.Duration
	ok, good, correctGood       int
}

// stageInfos are the stages of every target, over non-warm-up records.
type stageInfos map[stageKey]*stageAcc

// add counts one record in its stage.
func (m stageInfos) add(sc *scored) {
	r := sc.rec
	k := stageKey{r.Target, r.Stage}
	a := m[k]
	if a == nil {
		a = &stageAcc{info: StageInfo{Stage: r.Stage, Label: r.StageLabel, First: r.ScheduledAt, Last: r.ScheduledAt}, firstSent: r.SentAt, lastSent: r.SentAt}
		m[k] = a
	}
	st := &a.info
	st.Requests++
	if r.ScheduledAt.Before(st.First) {
		st.First = r.ScheduledAt
	}
	if r.ScheduledAt.After(st.Last) {
		st.Last = r.ScheduledAt
	}
	if r.SentAt.Before(a.firstSent) {
		a.firstSent = r.SentAt
	}
	if r.SentAt.After(a.lastSent) {
		a.lastSent = r.SentAt
	}
	if end := r.SentAt.Add(r.E2E.Duration()); end.After(a.ending) {
		a.ending = end
	}
	st.AskedRate = max(st.AskedRate, r.AskedRate)
	a.lags = append(a.lags, r.SendLag.Duration())
	if r.HeldBack {
		st.HeldBack++
	}
	if r.ErrorClass == "" {
		a.ok++
		end := r.SentAt.Add(r.E2E.Duration())
		if a.okFirst.IsZero() || end.Before(a.okFirst) {
			a.okFirst = end
		}
		if end.After(a.okLast) {
			a.okLast = end
		}
	}
	if sc.good {
		a.good++
		if sc.a.Correct {
			a.correctGood++
		}
	}
}

// measureRates sets each stage's rates, send lag and bottleneck flag.
func (m stageInfos) measureRates(lagLimit time.Duration) {
	for _, a := range m {
		st := &a.info
		st.Rate = rateOver(st.Requests, st.Last.Sub(st.First))
		st.SentRate = rateOver(st.Requests, a.lastSent.Sub(a.firstSent))
		if w := a.ending.Sub(a.firstSent); w > 0 {
			st.Window = w.Seconds()
		}
		if st.CompletedRate = rateOver(a.ok, a.okLast.Sub(a.okFirst)); a.ok > 0 {
			st.Goodput = st.CompletedRate * float64(a.good) / float64(a.ok)
			st.CorrectGoodput = st.CompletedRate * float64(a.correctGood) / float64(a.ok)
		}
		st.LateLimit = lateLimit(st.Rate, lagLimit).Seconds()
		st.Late = 0
		for _, l := range a.lags {
			if l.Seconds() > st.LateLimit {
				st.Late++
			}
		}
		st.SendLag = lagOf(a.lags)
		st.BottleneckReasons = bottleneckReasons(st)
		st.ClientBottleneck = len(st.BottleneckReasons) > 0
	}
}

// lateLimit is how late a send may be at a scheduled rate before it
// counts as late: lag (SendLagLimit, or the objectives' send_lag), or
// LateGapShare of the gap between requests when that is longer.
func lateLimit(rate float64, lag time.Duration) time.Duration {
	if rate <= 0 {
		return lag
	}
	return max(lag, time.Duration(LateGapShare/rate*float64(time.Second)))
}

// rateOver is (n-1)/span, 0 when it is not defined.
func rateOver(n int, span time.Duration) float64 {
	if n < 2 || span <= 0 {
		return 0
	}
	return float64(n-1) / span.Seconds()
}

func lagOf(ds []time.Duration) Lag {
	if len(ds) == 0 {
		return Lag{}
	}
	slices.Sort(ds)
	return Lag{N: len(ds), P50: nearestRank(ds, 50).Seconds(), P99: nearestRank(ds, 99).Seconds(), Max: ds[len(ds)-1].Seconds()}
}

// bottleneckReasons applies the client-bottleneck rule to one stage.
func bottleneckReasons(st *StageInfo) []string {
	var out []string
	if st.Late >= minLate && float64(st.Late) > lateShare*float64(st.Requests) {
		out = append(out, fmt.Sprintf("send lag p99 %s > %s (%d of %d requests sent more than %s late)", formatSeconds(st.SendLag.P99), formatSeconds(st.LateLimit), st.Late, st.Requests, formatSeconds(st.LateLimit)))
	}
	if st.Requests >= minRateRequests && st.Rate > 0 && st.SentRate < st.Rate*(1-SendRateShortfall) && sendSpanExcess(st) > st.LateLimit {
		out = append(out, fmt.Sprintf("sent %s, more than %g%% below the scheduled %s", formatRate(st.SentRate), SendRateShortfall*100, formatRate(st.Rate)))
	}
	if st.HeldBack > 0 {
		out = append(out, fmt.Sprintf("the in-flight cap held back %d requests", st.HeldBack))
	}
	return out
}

// sendSpanExcess is how much longer, in seconds, the stage took to send
// than its schedule: the sending span less the scheduled span. A shortfall
// of the achieved rate that this explains within the late limit is one
// late last send, which the send-lag rule judges (2% of a one-second stage
// is 20 ms).
func sendSpanExcess(st *StageInfo) float64 {
	if st.SentRate <= 0 || st.Rate <= 0 || st.Requests < 2 {
		return 0
	}
	return float64(st.Requests-1) * (1/st.SentRate - 1/st.Rate)
}

// perRequest is a stage's rate divided by its request count: what one
// request of a group within the stage adds to the group's rate.
func (m stageInfos) perRequest(k stageKey) float64 {
	a := m[k]
	if a == nil || a.info.Requests == 0 {
		return 0
	}
	return a.info.Rate / float64(a.info.Requests)
}

// of returns one target's stages in stage order.
func (m stageInfos) of(target string) []StageInfo {
	var out []StageInfo
	for k, a := range m {
		if k.target == target {
			out = append(out, a.info)
		}
	}
	slices.SortFunc(out, func(a, b StageInfo) int { return cmp.Compare(a.Stage, b.Stage) })
	return out
}

// targetRates sets a target's whole-run rates from its stages: requests,
// good and correct good requests over the sum of the stages' windows.
func targetRates(ts *TargetSummary) {
	var window float64
	for _, st := range ts.Stages {
		window += st.Window
	}
	if window <= 0 {
		return
	}
	ts.Rate = float64(ts.Requests) / window
	ts.Goodput = float64(ts.Good) / window
	ts.CorrectGoodput = float64(ts.CorrectGood) / window
}

// BottleneckWarnings are one sentence per stage where the client, not the
// server, was the bottleneck.
func (s *Summary) BottleneckWarnings() []string {
	var out []string
	for _, ts := range s.Targets {
		for _, st := range ts.Stages {
			if st.ClientBottleneck {
				out = append(out, fmt.Sprintf("%s, stage %d (%s): the client was the bottleneck (%s); its figures measure the client as much as the server and are not used for the envelope",
					ts.Target, st.Stage, st.Label, strings.Join(st.BottleneckReasons, "; ")))
			}
		}
	}
	return out
}

// markBottlenecks marks every point of a bottlenecked stage unresolved.
func markBottlenecks(s *Summary) {
	bad := map[stageKey][]string{}
	for _, ts := range s.Targets {
		for _, st := range ts.Stages {
			if st.ClientBottleneck {
				bad[stageKey{ts.Target, st.Stage}] = st.BottleneckReasons
			}
		}
	}
	for i := range s.Points {
		p := &s.Points[i]
		if why, ok := bad[stageKey{p.Target, p.Stage}]; ok {
			p.Unresolved = append(p.Unresolved, "client was the bottleneck: "+strings.Join(why, "; "))
		}
	}
}

// formatLag writes a send lag as p50/p99/max.
func formatLag(l Lag) string {
	if l.N == 0 {
		return "-"
	}
	return formatSeconds(l.P50) + " / " + formatSeconds(l.P99) + " / " + formatSeconds(l.Max)
}

// stageClient is "ok" or the bottleneck warning of a stage, for tables.
func stageClient(st StageInfo) string {
	if !st.ClientBottleneck {
		return "ok"
	}
	return "BOTTLENECK: " + strings.Join(st.BottleneckReasons, "; ")
}

// formatAsked writes a stage's asked rate, "-" for closed loop or unknown.
func formatAsked(r float64) string {
	if r <= 0 {
		return "-"
	}
	return formatRate(r)
}

// stageFuncs are the template functions of the stage table.
func stageFuncs() template.FuncMap {
	return template.FuncMap{
		"lag":       formatLag,
		"client":    stageClient,
		"asked":     formatAsked,
		"lagLimit":  func() string { return formatSeconds(SendLagLimit.Seconds()) },
		"shortfall": func() string { return fmt.Sprintf("%g%%", SendRateShortfall*100) },
	}
}

// writeStagesText writes a target's stages for a terminal: the rates and
// send lag of each, and whether the client kept up.
func writeStagesText(b *strings.Builder, ts TargetSummary) {
	if len(ts.Stages) == 0 {
		return
	}
	tw := tabwriter.NewWriter(b, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  stage\tasked\tsent\tcompleted\tgoodput\tsend lag p50/p99/max\tclient\n")
	for _, st := range ts.Stages {
		fmt.Fprintf(tw, "  %d %s\t%s\t%s\t%s\t%s\t%s\t%s\n", st.Stage, plain(st.Label), formatAsked(st.AskedRate), formatRate(st.SentRate), formatRate(st.CompletedRate), formatRate(st.Goodput), formatLag(st.SendLag), plain(stageClient(st)))
	}
	tw.Flush()
}

// writeBottlenecksText writes the run's client-bottleneck warnings.
func writeBottlenecksText(b *strings.Builder, s *Summary) {
	for _, w := range append(s.BottleneckWarnings(), s.NotSentWarnings()...) {
		fmt.Fprintf(b, "WARNING: %s\n", plain(w))
	}
}

// writeStagesMarkdown writes the load the client sent, per target and
// stage, with the bottleneck rule.
func writeStagesMarkdown(b *strings.Builder, s *Summary) {
	b.WriteString("\n## Load the client sent\n\n")
	fmt.Fprintf(b, "Per stage, from the records: asked rate, the schedule's rate, the achieved send rate, the completion rate ((k-1)/(last end - first end) over the k successful responses) and goodput (its share meeting every latency objective). The client was the bottleneck when send lag p99 > %s, the sent rate is more than %g%% below the schedule, or the in-flight cap held requests back; such a stage is not used for the envelope.\n",
		formatSeconds(SendLagLimit.Seconds()), SendRateShortfall*100)
	for _, w := range append(s.BottleneckWarnings(), s.NotSentWarnings()...) {
		fmt.Fprintf(b, "\n- **warning: %s**\n", md(w))
	}
	for _, ts := range s.Targets {
		fmt.Fprintf(b, "\n### %s\n\n| stage | label | requests | asked | scheduled | sent | completed | goodput | send lag p50 / p99 / max | held back | client |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n", md(ts.Target))
		for _, st := range ts.Stages {
			fmt.Fprintf(b, "| %d | %s | %d | %s | %s | %s | %s | %s | %s | %d | %s |\n", st.Stage, md(st.Label), st.Requests, formatAsked(st.AskedRate), formatRate(st.Rate), formatRate(st.SentRate), formatRate(st.CompletedRate), formatRate(st.Goodput), formatLag(st.SendLag), st.HeldBack, md(stageClient(st)))
		}
	}
}

// achievedAxis labels the x axis of charts against the achieved rate: the
// completion rate measured from the records (StageInfo.CompletedRate);
// each point is labelled with the rate its stage asked for.
const achievedAxis = "achieved rate: completed requests/s (labels: asked)"

// addAskedLabels labels each point of a chart against the achieved rate
// with its stage's asked rate (the scheduled rate when none was named).
func addAskedLabels(p *plot.Plot, points []Point, y func(Point) (float64, bool)) {
	var l plotter.XYLabels
	for _, pt := range points {
		v, ok := y(pt)
		if !ok {
			continue
		}
		asked := pt.AskedRate
		if asked <= 0 {
			asked = pt.StageRate
		}
		l.XYs = append(l.XYs, plotter.XY{X: pt.CompletedRate, Y: v})
		l.Labels = append(l.Labels, formatRate(asked))
	}
	if len(l.XYs) == 0 {
		return
	}
	if labels, err := plotter.NewLabels(l); err == nil {
		p.Add(labels)
	}
}
