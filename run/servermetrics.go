package run

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// ServerMetricsFile is the file in a run directory holding the samples
// scraped from the targets' own Prometheus endpoints (server_metrics), one
// ServerSample per line. A run whose targets name no server_metrics has
// none.
const ServerMetricsFile = "server_metrics.jsonl"

// The neutral series a scrape normalises the servers' own names into
// (vLLM's, llama.cpp's, TGI's; see scrape).
const (
	// SeriesRunning is the number of requests the server is running
	// (in its batch) at the scrape.
	SeriesRunning = "running"
	// SeriesWaiting is the number of requests queued for a slot.
	SeriesWaiting = "waiting"
	// SeriesKVCacheUsage is the fraction (0..1) of the KV cache in use.
	SeriesKVCacheUsage = "kv_cache_usage"
	// SeriesPrefixCacheHits and SeriesPrefixCacheQueries are the prefix
	// cache's counters (tokens, since the server started).
	SeriesPrefixCacheHits    = "prefix_cache_hits"
	SeriesPrefixCacheQueries = "prefix_cache_queries"
	// SeriesPrefixCacheHitRate is the share of the prompt tokens queried
	// since the previous scrape that the prefix cache held.
	SeriesPrefixCacheHitRate = "prefix_cache_hit_rate"
)

// ServerSample is one value scraped from a target's metrics endpoint, or one
// failed scrape (Error set, no Series and no Value).
type ServerSample struct {
	// Time is when the scrape was sent.
	Time   time.Time `json:"time"`
	Target string    `json:"target"`
	// Stage is the index of the stage running when the scrape was sent
	// (-1 before the first stage started), StageLabel its label.
	Stage      int    `json:"stage"`
	StageLabel string `json:"stage_label,omitempty"`
	// Series is the neutral name (SeriesRunning, ...); Metric the server's
	// own name (vllm:num_requests_running) and Labels its labels.
	Series string            `json:"series,omitempty"`
	Metric string            `json:"metric,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	Value  *float64          `json:"value,omitempty"`
	// Error says why the scrape failed (sanitised: one line, no control
	// characters, no secret).
	Error string `json:"error,omitempty"`
}

// Failed reports whether s records a failed scrape.
func (s ServerSample) Failed() bool { return s.Error != "" }

// ServerMetricsWriter appends ServerSamples to a run directory's
// server_metrics.jsonl. Each Write is one write to the file, so an
// interrupted run keeps every scrape written before. It is safe for
// concurrent use.
type ServerMetricsWriter struct {
	mu  sync.Mutex
	f   *os.File
	buf bytes.Buffer
	n   int64
}

// CreateServerMetrics creates (or truncates) dir's server_metrics.jsonl.
func CreateServerMetrics(dir string) (*ServerMetricsWriter, error) {
	f, err := os.OpenFile(filepath.Join(dir, ServerMetricsFile), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", ServerMetricsFile, err)
	}
	return &ServerMetricsWriter{f: f}, nil
}

// RemoveServerMetrics removes a server_metrics.jsonl left in dir by a run it
// replaces (nothing when there is none).
func RemoveServerMetrics(dir string) error {
	err := os.Remove(filepath.Join(dir, ServerMetricsFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the old %s: %w", ServerMetricsFile, err)
	}
	return nil
}

// Write appends samples, one JSON line each, in one write.
func (w *ServerMetricsWriter) Write(samples []ServerSample) error {
	if len(samples) == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return fmt.Errorf("writing %s: the writer is closed", ServerMetricsFile)
	}
	w.buf.Reset()
	enc := json.NewEncoder(&w.buf)
	enc.SetEscapeHTML(false)
	for i := range samples {
		if err := enc.Encode(&samples[i]); err != nil {
			return fmt.Errorf("encoding a server metrics sample: %w", err)
		}
	}
	if _, err := w.f.Write(w.buf.Bytes()); err != nil {
		return fmt.Errorf("writing %s: %w", ServerMetricsFile, err)
	}
	w.n += int64(len(samples))
	return nil
}

// Count is the number of samples written.
func (w *ServerMetricsWriter) Count() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// Close closes the file; later writes fail.
func (w *ServerMetricsWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// maxServerSampleLine bounds one line of server_metrics.jsonl.
const maxServerSampleLine = 1 << 20

// ReadServerMetrics reads every sample from r. On a malformed line it
// returns the samples before it with an error naming the line; a malformed
// last line without a newline (what a killed writer leaves) wraps
// ErrTornTail.
func ReadServerMetrics(r io.Reader) ([]ServerSample, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var out []ServerSample
	for line := 1; ; line++ {
		b, err := br.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(b) > maxServerSampleLine {
				return out, fmt.Errorf("%s line %d is longer than %d KiB", ServerMetricsFile, line, maxServerSampleLine>>10)
			}
			var more []byte
			more, err = br.ReadSlice('\n')
			b = append(append([]byte(nil), b...), more...)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return out, fmt.Errorf("reading %s after line %d: %w", ServerMetricsFile, line-1, err)
		}
		if t := trimSpace(bytes.TrimSuffix(b, []byte("\n"))); len(t) > 0 {
			var s ServerSample
			if jerr := json.Unmarshal(t, &s); jerr != nil {
				if errors.Is(err, io.EOF) {
					return out, fmt.Errorf("%s line %d: %w", ServerMetricsFile, line, ErrTornTail)
				}
				return out, fmt.Errorf("%s line %d: %w", ServerMetricsFile, line, jerr)
			}
			out = append(out, s)
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
	}
}

// ReadServerMetricsFile reads dir's server_metrics.jsonl: nil and no error
// when the run has none.
func ReadServerMetricsFile(dir string) ([]ServerSample, error) {
	f, err := os.Open(filepath.Join(dir, ServerMetricsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ServerMetricsFile, err)
	}
	defer f.Close()
	return ReadServerMetrics(f)
}

// mergeServerMetrics writes the shards' server_metrics.jsonl into out as
// one file, in time order (every shard scraped the same servers: their
// samples are more samples of the same series); nothing when no shard has
// one. A shard's torn last line (a killed shard) loses that line only.
func mergeServerMetrics(out string, shards []shardRun) error {
	var all []ServerSample
	found := false
	for _, s := range shards {
		got, err := ReadServerMetricsFile(s.dir)
		if err != nil && !errors.Is(err, ErrTornTail) {
			return fmt.Errorf("shard %s: %w", s.dir, err)
		}
		if got != nil {
			found = true
		}
		all = append(all, got...)
	}
	if err := RemoveServerMetrics(out); err != nil || !found {
		return err
	}
	slices.SortStableFunc(all, func(a, b ServerSample) int { return a.Time.Compare(b.Time) })
	w, err := CreateServerMetrics(out)
	if err != nil {
		return err
	}
	return errors.Join(w.Write(all), w.Close())
}
