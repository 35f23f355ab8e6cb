package campaign

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/needlestorm/needlestorm/endpoint"
	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/run"
	"github.com/needlestorm/needlestorm/scrape"
)

// serverMetrics is the run's server_metrics.jsonl, created when the first
// target that names server_metrics takes its turn (a run without one
// writes none).
type serverMetrics struct {
	mu  sync.Mutex
	dir string
	w   *run.ServerMetricsWriter
}

// writer returns the file's writer, creating the file on first use.
func (m *serverMetrics) writer() (*run.ServerMetricsWriter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.w == nil {
		w, err := run.CreateServerMetrics(m.dir)
		if err != nil {
			return nil, err
		}
		m.w = w
	}
	return m.w, nil
}

func (m *serverMetrics) close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.w == nil {
		return nil
	}
	return m.w.Close()
}

// scrapeStages tells a Scraper which stage is running.
type scrapeStages struct{ s *scrape.Scraper }

func (o scrapeStages) StageStarted(i int, st loadgen.Stage) { o.s.SetStage(i, st.Name()) }
func (o scrapeStages) Sent(*run.Record)                     {}
func (o scrapeStages) Completed(*run.Record)                {}

// startScrape starts scraping cfg's server_metrics for the target's turn,
// when it names one: it returns the observer that keeps the samples'
// stage, and stop, which ends the scrapes (the one in flight is dropped)
// and logs what they came to. Without server_metrics both are nil.
func (e *execution) startScrape(ctx context.Context, cfg endpoint.TargetConfig) (loadgen.Observer, func(), error) {
	if cfg.ServerMetrics == "" {
		return nil, nil, nil
	}
	u, err := endpoint.ResolveServerMetrics(cfg.ServerMetrics, cfg.BaseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("target %s: server_metrics: %w", cfg.Name, err)
	}
	w, err := e.metrics.writer()
	if err != nil {
		return nil, nil, err
	}
	headers, secrets := cfg.ServerMetricsHeaders(e.o.LookupEnv)
	s, err := scrape.New(scrape.Config{
		URL: u.String(), Interval: cfg.ServerMetricsInterval, Target: cfg.Name,
		Origin: cfg.BaseURL, Headers: http.Header(headers), Secrets: secrets, Sink: w,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("target %s: %w", cfg.Name, err)
	}
	interval := cfg.ServerMetricsInterval
	if interval == 0 {
		interval = endpoint.DefaultServerMetricsInterval
	}
	key := "without the target's key and headers (another host or port)"
	if s.SendsHeaders() {
		key = "with the target's key and headers"
	}
	fmt.Fprintf(e.o.Log, "target %s: scraping %s every %s into %s, %s\n", cfg.Name, u.Redacted(), interval, run.ServerMetricsFile, key)
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); s.Run(sctx) }()
	stop := func() {
		cancel()
		<-done
		st := s.Stats()
		msg := fmt.Sprintf("target %s: server metrics: %d scrapes, %d failed", cfg.Name, st.Scrapes, st.Failed)
		if st.Dropped > 0 {
			msg += fmt.Sprintf(", %d series values left out over the cap of %d series", st.Dropped, scrape.MaxSeries)
		}
		if st.SinkErr != nil {
			msg += "; writing them failed: " + st.SinkErr.Error()
		}
		fmt.Fprintln(e.o.Log, msg)
	}
	return scrapeStages{s}, stop, nil
}
