package scrape

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/needlestorm/needlestorm/internal/termsafe"
	"github.com/needlestorm/needlestorm/run"
)

// Limits of a scrape.
const (
	// DefaultInterval is how often a Scraper scrapes unless told.
	DefaultInterval = time.Second
	// MinInterval and MaxInterval bound the interval.
	MinInterval = 100 * time.Millisecond
	MaxInterval = time.Minute
	// MaxTimeout bounds one scrape (it is also bounded by the interval).
	MaxTimeout = 5 * time.Second
	// MaxBody is the largest response read; a longer one is a failed
	// scrape.
	MaxBody = 8 << 20
	// MaxSeries is the most distinct series (metric and labels) kept per
	// Scraper; later ones are counted and left out.
	MaxSeries = 64
	// maxError bounds a failed scrape's error message.
	maxError = 300
)

// Sink receives the samples of each scrape (a *run.ServerMetricsWriter).
type Sink interface {
	Write(samples []run.ServerSample) error
}

// Config says what a Scraper scrapes.
type Config struct {
	// URL is the metrics endpoint (http or https, absolute).
	URL string
	// Interval between scrapes (0: DefaultInterval).
	Interval time.Duration
	// Target names the target in every sample.
	Target string
	// Origin is the target's base URL. Headers (the API key, the
	// target's own headers) are sent only when URL has the same scheme,
	// host and port as Origin: a key is never handed to another server.
	Origin  string
	Headers http.Header
	// Secrets are removed from every error message (the key, header
	// values).
	Secrets []string
	// Client sends the scrapes (nil: a client of its own). Its timeout is
	// replaced by the scrape's.
	Client *http.Client
	// Sink receives the samples; required.
	Sink Sink
}

// Stats count what a Scraper did.
type Stats struct {
	Scrapes, Failed int64
	// Dropped counts the series left out over MaxSeries.
	Dropped int64
	// SinkErr is the first error the sink returned.
	SinkErr error
}

// Scraper scrapes one target's metrics endpoint. SetStage may be called
// from any goroutine while Run runs.
type Scraper struct {
	cfg     Config
	u       *url.URL
	timeout time.Duration
	client  *http.Client
	send    bool // send the headers (same origin)

	stage atomic.Pointer[stageRef]

	mu      sync.Mutex
	seen    map[string]bool
	prev    map[string]float64 // last summed counters, by series
	prevOK  bool
	scrapes int64
	failed  int64
	dropped int64
	sinkErr error
}

type stageRef struct {
	index int
	label string
}

// New checks cfg and returns its Scraper.
func New(cfg Config) (*Scraper, error) {
	u, err := CheckURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Interval < MinInterval || cfg.Interval > MaxInterval {
		return nil, fmt.Errorf("server_metrics_interval %s is outside %s..%s", cfg.Interval, MinInterval, MaxInterval)
	}
	if cfg.Sink == nil {
		return nil, errors.New("scrape: no sink for the samples")
	}
	s := &Scraper{cfg: cfg, u: u, timeout: min(cfg.Interval, MaxTimeout), seen: map[string]bool{}}
	if o, err := url.Parse(cfg.Origin); err == nil && sameOrigin(u, o) {
		s.send = true
	}
	s.client = &http.Client{Timeout: s.timeout}
	if cfg.Client != nil {
		c := *cfg.Client
		c.Timeout = s.timeout
		s.client = &c
	}
	// A redirect to another origin must not carry the headers there.
	s.client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("stopped after 5 redirects")
		}
		if !sameOrigin(req.URL, u) {
			for k := range cfg.Headers {
				req.Header.Del(k)
			}
		}
		return nil
	}
	s.stage.Store(&stageRef{index: -1})
	return s, nil
}

// CheckURL parses a metrics URL: absolute http or https, with no user
// name, password or query string.
func CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("server_metrics %q is not a URL: %v", termsafe.Line(raw), errors.Unwrap(err))
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("server_metrics %q: use an http:// or https:// URL such as http://127.0.0.1:8000/metrics, or a path such as /metrics on the target's host", termsafe.Line(raw))
	case u.User != nil:
		return nil, errors.New("server_metrics: the URL holds a user name or password; remove them (the target's api_key_env and headers are sent when the URL is on the target's own host and port)")
	case u.RawQuery != "" || u.ForceQuery:
		return nil, fmt.Errorf("server_metrics %q has a query string: give the metrics path alone, such as /metrics", termsafe.Line(u.Scheme+"://"+u.Host+u.Path))
	case u.Host == "":
		return nil, fmt.Errorf("server_metrics %q has no host", termsafe.Line(raw))
	}
	return u, nil
}

// sameOrigin reports whether a and b have the same scheme, host and port
// (an omitted port is the scheme's).
func sameOrigin(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if u.Scheme == "https" {
			return "443"
		}
		return "80"
	}
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

// SendsHeaders reports whether the scrapes carry the target's headers.
func (s *Scraper) SendsHeaders() bool { return s.send }

// SetStage names the stage now running; later samples carry it (until the
// first call, stage -1: before the first stage).
func (s *Scraper) SetStage(index int, label string) {
	s.stage.Store(&stageRef{index: index, label: label})
}

// Run scrapes at once, then every interval, until ctx ends. A scrape in
// flight when ctx ends is abandoned and not written.
func (s *Scraper) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		samples := s.Scrape(ctx)
		if ctx.Err() != nil {
			return
		}
		s.write(samples)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Scraper) write(samples []run.ServerSample) {
	if err := s.cfg.Sink.Write(samples); err != nil {
		s.mu.Lock()
		if s.sinkErr == nil {
			s.sinkErr = err
		}
		s.mu.Unlock()
	}
}

// Stats returns the counts so far.
func (s *Scraper) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Scrapes: s.scrapes, Failed: s.failed, Dropped: s.dropped, SinkErr: s.sinkErr}
}

// Scrape scrapes once and returns its samples: the kept series, and the
// prefix-cache hit rate since the previous scrape; or one sample with the
// error.
func (s *Scraper) Scrape(ctx context.Context) []run.ServerSample {
	st := s.stage.Load()
	base := run.ServerSample{Time: time.Now().UTC(), Target: s.cfg.Target, Stage: st.index, StageLabel: st.label}
	pts, err := s.fetch(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scrapes++
	if err == nil && len(pts) == 0 {
		err = errors.New("the response holds none of the known series (vllm:num_requests_running, llamacpp:requests_processing, tgi_queue_size, ...): is this the server's Prometheus endpoint?")
	}
	if err != nil {
		s.failed++
		base.Error = s.sanitise(err.Error())
		return []run.ServerSample{base}
	}
	out := make([]run.ServerSample, 0, len(pts)+1)
	sums := map[string]float64{}
	for _, p := range pts {
		k := p.key()
		if !s.seen[k] {
			if len(s.seen) >= MaxSeries {
				s.dropped++
				continue
			}
			s.seen[k] = true
		}
		smp := base
		smp.Series, smp.Metric, smp.Labels = p.series, p.metric, p.labels
		v := p.value
		smp.Value = &v
		out = append(out, smp)
		sums[p.series] += v
	}
	if rate, ok := s.hitRate(sums); ok {
		smp := base
		smp.Series, smp.Metric = run.SeriesPrefixCacheHitRate, "increase(prefix_cache_hits)/increase(prefix_cache_queries)"
		smp.Value = &rate
		out = append(out, smp)
	}
	return out
}

// hitRate is the share of the prefix-cache queries since the previous
// scrape that hit; s.mu held. A counter that went down (the server
// restarted) gives none.
func (s *Scraper) hitRate(sums map[string]float64) (float64, bool) {
	h, hok := sums[run.SeriesPrefixCacheHits]
	q, qok := sums[run.SeriesPrefixCacheQueries]
	if !hok || !qok {
		return 0, false
	}
	prev, had := s.prev, s.prevOK
	s.prev, s.prevOK = map[string]float64{run.SeriesPrefixCacheHits: h, run.SeriesPrefixCacheQueries: q}, true
	if !had {
		return 0, false
	}
	dh, dq := h-prev[run.SeriesPrefixCacheHits], q-prev[run.SeriesPrefixCacheQueries]
	if dq <= 0 || dh < 0 || dh > dq {
		return 0, false
	}
	return dh / dq, true
}

// fetch GETs the URL and parses the known series out of its body.
func (s *Scraper) fetch(ctx context.Context) ([]point, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.u.String(), nil)
	if err != nil {
		return nil, err
	}
	if s.send {
		for k, vs := range s.cfg.Headers {
			req.Header[k] = vs
		}
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := s.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("no response within %s (the scrape timeout: the interval, at most %s)", s.timeout, MaxTimeout)
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d from %s", resp.StatusCode, s.u.Redacted())
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("the response did not end within %s (the scrape timeout)", s.timeout)
		}
		return nil, fmt.Errorf("reading the response: %w", err)
	}
	if len(body) > MaxBody {
		return nil, fmt.Errorf("the response is over %d MiB, the most a scrape reads", MaxBody>>20)
	}
	return parse(filter(body))
}

// sanitise makes an error fit a sample: one line, no control characters,
// no secret, bounded.
func (s *Scraper) sanitise(msg string) string {
	for _, sec := range s.cfg.Secrets {
		if len(sec) >= 4 {
			msg = strings.ReplaceAll(msg, sec, "[redacted]")
		}
	}
	msg = termsafe.Line(msg)
	if len(msg) > maxError {
		cut := maxError
		for cut > 0 && !utf8Start(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "..."
	}
	return msg
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
