package live

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// ImportPath is VictoriaMetrics' import path for the Prometheus text
// format (also served by vmagent, and under /insert/<tenant>/prometheus/
// by a cluster's vminsert).
const ImportPath = "/api/v1/import/prometheus"

// PushURL checks a push URL and completes it: an http(s) URL whose path is
// empty or ends in "/" (http://127.0.0.1:8428, http://proxy/vm/) gets
// ImportPath; one whose path already ends in ImportPath is kept; any
// other path is refused, since VictoriaMetrics would answer every push
// with 400. Errors say what to give instead; the URL's password, if any,
// is never shown.
func PushURL(raw string) (string, error) {
	const example = "such as http://127.0.0.1:8428 or http://127.0.0.1:8428" + ImportPath
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("metrics push URL: %w: give an http(s) URL of VictoriaMetrics, %s", err, example)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("metrics push URL %s: give an http(s) URL with a host, %s", u.Redacted(), example)
	}
	switch {
	case u.Path == "" || strings.HasSuffix(u.Path, "/"):
		u.Path = strings.TrimSuffix(u.Path, "/") + ImportPath
	case strings.HasSuffix(u.Path, ImportPath):
	default:
		// Suggest the import path in place of another API path
		// (/api/v1/write), or under a prefix (/vm).
		want := *u
		prefix, _, _ := strings.Cut(u.Path, "/api/")
		want.Path = prefix + ImportPath
		return "", fmt.Errorf("metrics push URL %s: path %s is not VictoriaMetrics' import path; give the server's root (completed to %s) or the full import path: did you mean %s?",
			u.Redacted(), u.Path, ImportPath, want.Redacted())
	}
	return u.String(), nil
}

// pushOptions are the options of every push: POST, gzip-compressed.
func pushOptions(logErr func(format string, args ...any)) *metrics.PushOptions {
	return &metrics.PushOptions{Method: http.MethodPost, LogErr: logErr}
}

// StartPush checks and completes pushURL (PushURL), pushes the metrics
// once, so that a server that cannot take them (down, or answering with an
// error) stops the run before it starts, then pushes them every interval
// until ctx ends. Later push errors go to logErr (nil: dropped). Call
// PushOnce at the end of a run for the final values.
func (m *Metrics) StartPush(ctx context.Context, pushURL string, interval time.Duration, logErr func(format string, args ...any)) error {
	u, err := PushURL(pushURL)
	if err != nil {
		return err
	}
	if interval <= 0 {
		return fmt.Errorf("metrics push interval %s: give a positive duration, such as 10s", interval)
	}
	if logErr == nil {
		logErr = func(string, ...any) {}
	}
	first, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := metrics.PushMetricsExt(first, u, m.WritePrometheus, pushOptions(nil)); err != nil {
		return fmt.Errorf("pushing metrics: %w (is VictoriaMetrics up at that address?)", err)
	}
	if err := metrics.InitPushExtWithOptions(ctx, u, interval, m.WritePrometheus, pushOptions(logErr)); err != nil {
		return fmt.Errorf("pushing metrics: %w", err)
	}
	return nil
}

// PushOnce checks and completes pushURL (PushURL) and pushes the metrics
// once.
func (m *Metrics) PushOnce(ctx context.Context, pushURL string) error {
	u, err := PushURL(pushURL)
	if err != nil {
		return err
	}
	if err := metrics.PushMetricsExt(ctx, u, m.WritePrometheus, pushOptions(nil)); err != nil {
		return fmt.Errorf("pushing metrics: %w", err)
	}
	return nil
}
