package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/needlestorm/needlestorm/run"

	"github.com/needlestorm/needlestorm/loadgen"
)

// Metrics is an Observer that keeps a run's live metrics in its own
// VictoriaMetrics Set, in Prometheus' base units:
//
//	needlestorm_ttft_seconds, needlestorm_e2e_seconds, needlestorm_tpot_seconds (histograms)
//	needlestorm_requests_sent_total
//	needlestorm_requests_total{status="200"}    (HTTP status, "none" without a response)
//	needlestorm_errors_total{class="timeout"}   (error_class)
//	needlestorm_verdicts_total{verdict="correct"} (the verdict's attribution)
//
// Every series is labelled target, stage (the stage label, e.g. "rate=4/s")
// and length (prompt length in tokens).
type Metrics struct {
	set *metrics.Set
}

var _ loadgen.Observer = (*Metrics)(nil)

// NewMetrics returns Metrics over a new, empty Set.
func NewMetrics() *Metrics { return &Metrics{set: metrics.NewSet()} }

// Set returns the underlying metrics Set.
func (m *Metrics) Set() *metrics.Set { return m.set }

// StageStarted implements Observer.
func (m *Metrics) StageStarted(int, loadgen.Stage) {}

// Sent implements Observer.
func (m *Metrics) Sent(rec *run.Record) {
	m.set.GetOrCreateCounter("needlestorm_requests_sent_total" + metricLabels(rec)).Inc()
}

// Completed implements Observer.
func (m *Metrics) Completed(rec *run.Record) {
	base := metricLabels(rec)
	status := "none"
	if rec.Status != 0 {
		status = strconv.Itoa(rec.Status)
	}
	m.set.GetOrCreateCounter(withLabel("needlestorm_requests_total", base, "status", status)).Inc()
	if rec.ErrorClass != "" {
		m.set.GetOrCreateCounter(withLabel("needlestorm_errors_total", base, "class", rec.ErrorClass)).Inc()
	}
	verdict := rec.Attribution
	if verdict == "" {
		verdict = "wrong"
		if rec.Correct {
			verdict = "correct"
		}
	}
	m.set.GetOrCreateCounter(withLabel("needlestorm_verdicts_total", base, "verdict", verdict)).Inc()
	if rec.TTFT > 0 {
		m.set.GetOrCreateHistogram("needlestorm_ttft_seconds" + base).Update(rec.TTFT.Duration().Seconds())
	}
	if rec.E2E > 0 {
		m.set.GetOrCreateHistogram("needlestorm_e2e_seconds" + base).Update(rec.E2E.Duration().Seconds())
	}
	if rec.TPOT > 0 {
		m.set.GetOrCreateHistogram("needlestorm_tpot_seconds" + base).Update(rec.TPOT.Duration().Seconds())
	}
}

// WritePrometheus writes every metric in Prometheus text format.
func (m *Metrics) WritePrometheus(w io.Writer) { m.set.WritePrometheus(w) }

// Handler serves the metrics in Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		m.set.WritePrometheus(w)
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

// StartPush pushes the metrics to a VictoriaMetrics server every interval
// until ctx ends (pushURL such as http://host:8428/api/v1/import/prometheus).
// Push errors go to logErr (nil: dropped). Call PushOnce at the end of a run
// for the final values.
func (m *Metrics) StartPush(ctx context.Context, pushURL string, interval time.Duration, logErr func(format string, args ...any)) error {
	if logErr == nil {
		logErr = func(string, ...any) {}
	}
	opts := &metrics.PushOptions{Method: http.MethodPost, LogErr: logErr}
	if err := m.set.InitPushWithOptions(ctx, pushURL, interval, opts); err != nil {
		return fmt.Errorf("pushing metrics to %s: %w", pushURL, err)
	}
	return nil
}

// PushOnce pushes the metrics once.
func (m *Metrics) PushOnce(ctx context.Context, pushURL string) error {
	if err := m.set.PushMetrics(ctx, pushURL, &metrics.PushOptions{Method: http.MethodPost}); err != nil {
		return fmt.Errorf("pushing metrics to %s: %w", pushURL, err)
	}
	return nil
}

// metricLabels returns `{target="...",stage="...",length="..."}` for rec.
func metricLabels(rec *run.Record) string {
	var b strings.Builder
	b.WriteString(`{target="`)
	b.WriteString(metricEscape(rec.Target))
	b.WriteString(`",stage="`)
	b.WriteString(metricEscape(rec.StageLabel))
	b.WriteString(`",length="`)
	b.WriteString(strconv.Itoa(rec.Length))
	b.WriteString(`"}`)
	return b.String()
}

// withLabel returns name with base's labels plus one more.
func withLabel(name, base, key, value string) string {
	return name + base[:len(base)-1] + "," + key + `="` + metricEscape(value) + `"}`
}

// metricEscape escapes a Prometheus label value.
func metricEscape(s string) string {
	if !strings.ContainsAny(s, "\\\"\n") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return r.Replace(s)
}
