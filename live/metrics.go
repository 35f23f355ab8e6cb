package live

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/run"
)

// Metrics is an Observer that keeps a run's live metrics in its own
// VictoriaMetrics Set and writes them in the Prometheus text format, each
// family with its # HELP and # TYPE lines, in base units, histograms with
// Prometheus' cumulative le buckets (not VictoriaMetrics' vmrange ones), so
// that both a Prometheus scraping /metrics and a VictoriaMetrics receiving
// pushes can run histogram_quantile on them. The series are listed in
// Families (and in the README).
//
// Every series is labelled run, campaign (see WithRun, WithCampaign), target,
// model (the record's), stage (the stage label, e.g. "rate=4/s") and length
// (prompt length in tokens), so that nightly runs pushed to one database
// stay apart.
type Metrics struct {
	set           *metrics.Set
	run, campaign string

	mu       sync.Mutex
	inFlight map[flightKey]*metrics.Gauge
}

// flightKey names a request in flight: the gauge it raised is lowered when
// it completes, whatever its record's labels became in between.
type flightKey struct {
	target string
	seq    int64
}

var _ loadgen.Observer = (*Metrics)(nil)

// MetricsOption sets a label every series of a Metrics carries.
type MetricsOption func(*Metrics)

// WithRun sets the run label: what tells one run's series from another's
// in a database that holds many (the command line gives the run
// directory's name).
func WithRun(id string) MetricsOption { return func(m *Metrics) { m.run = id } }

// WithCampaign sets the campaign label (the campaign's name).
func WithCampaign(name string) MetricsOption { return func(m *Metrics) { m.campaign = name } }

// NewMetrics returns Metrics over a new, empty Set.
func NewMetrics(opts ...MetricsOption) *Metrics {
	m := &Metrics{set: metrics.NewSet(), inFlight: map[flightKey]*metrics.Gauge{}}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Set returns the underlying metrics Set.
func (m *Metrics) Set() *metrics.Set { return m.set }

// StageStarted implements Observer.
func (m *Metrics) StageStarted(int, loadgen.Stage) {}

// Sent implements Observer.
func (m *Metrics) Sent(rec *run.Record) {
	base := m.labels(rec)
	m.set.GetOrCreateCounter(famSent + base).Inc()
	g := m.set.GetOrCreateGauge(famInFlight+base, nil)
	g.Inc()
	m.mu.Lock()
	m.inFlight[flightKey{rec.Target, rec.Seq}] = g
	m.mu.Unlock()
}

// Completed implements Observer.
func (m *Metrics) Completed(rec *run.Record) {
	key := flightKey{rec.Target, rec.Seq}
	m.mu.Lock()
	g := m.inFlight[key]
	delete(m.inFlight, key)
	m.mu.Unlock()
	if g != nil {
		g.Dec()
	}

	base := m.labels(rec)
	status := "none"
	if rec.Status != 0 {
		status = strconv.Itoa(rec.Status)
	}
	m.set.GetOrCreateCounter(withLabels(famRequests, base, "status", status)).Inc()
	if rec.ErrorClass != "" {
		m.set.GetOrCreateCounter(withLabels(famErrors, base, "class", rec.ErrorClass)).Inc()
	}
	verdict := "wrong"
	if rec.Correct {
		verdict = "correct"
	}
	attribution := rec.Attribution
	if attribution == "" {
		attribution = "none"
	}
	m.set.GetOrCreateCounter(withLabels(famAnswers, base, "verdict", verdict, "attribution", attribution)).Inc()

	if n := promptTokens(rec); n > 0 {
		m.set.GetOrCreateCounter(famPromptTokens + base).Add(n)
	}
	if rec.OutputTokens > 0 {
		m.set.GetOrCreateCounter(famOutputTokens + base).Add(rec.OutputTokens)
	}
	m.observe(famTTFT, base, rec.TTFT)
	m.observe(famE2E, base, rec.E2E)
	m.observe(famTPOT, base, rec.TPOT)
	if len(rec.ChunkGaps) > 0 {
		h := m.histogram(famChunkGap, base)
		for _, g := range rec.ChunkGaps {
			h.Update(g.Duration().Seconds())
		}
	}
}

// promptTokens is what needlestorm_prompt_tokens_total counts of rec: the
// server's count when it reported one, else the client's.
func promptTokens(rec *run.Record) int {
	if rec.PromptTokensServer > 0 {
		return rec.PromptTokensServer
	}
	return rec.PromptTokensClient
}

// observe adds d to the histogram family fam when it was observed (> 0).
func (m *Metrics) observe(fam, base string, d run.Seconds) {
	if d > 0 {
		m.histogram(fam, base).Update(d.Duration().Seconds())
	}
}

func (m *Metrics) histogram(fam, base string) *metrics.PrometheusHistogram {
	return m.set.GetOrCreatePrometheusHistogramExt(fam+base, familyOf[fam].Buckets)
}

// WritePrometheus writes every metric in the Prometheus text format, each
// family after its # HELP and # TYPE lines.
func (m *Metrics) WritePrometheus(w io.Writer) {
	var b bytes.Buffer
	m.set.WritePrometheus(&b)
	_, _ = w.Write(withMetadata(b.Bytes()))
}

// Handler serves the metrics in Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		m.WritePrometheus(w)
	})
}

// Serve serves /metrics on addr (such as "127.0.0.1:9464"; port 0 picks a
// free one) until ctx ends. It returns the address it listens on.
func (m *Metrics) Serve(ctx context.Context, addr string) (net.Addr, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serving metrics on %s: %w (is the address in use? choose another with --metrics-addr)", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = ln.Close()
		}
	}()
	return ln.Addr(), nil
}

// labels returns `{run="...",campaign="...",target="...",model="...",
// stage="...",length="..."}` for rec.
func (m *Metrics) labels(rec *run.Record) string {
	var b strings.Builder
	for i, kv := range [][2]string{
		{"run", m.run}, {"campaign", m.campaign}, {"target", rec.Target}, {"model", rec.Model},
		{"stage", rec.StageLabel}, {"length", strconv.Itoa(rec.Length)},
	} {
		if i == 0 {
			b.WriteByte('{')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(kv[0])
		b.WriteString(`="`)
		b.WriteString(metricEscape(kv[1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// withLabels returns name with base's labels plus the key, value pairs kv.
func withLabels(name, base string, kv ...string) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteString(base[:len(base)-1])
	for i := 0; i+1 < len(kv); i += 2 {
		b.WriteString("," + kv[i] + `="` + metricEscape(kv[i+1]) + `"`)
	}
	b.WriteByte('}')
	return b.String()
}

// metricEscape escapes a Prometheus label value.
func metricEscape(s string) string {
	if !strings.ContainsAny(s, "\\\"\n") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return r.Replace(s)
}
