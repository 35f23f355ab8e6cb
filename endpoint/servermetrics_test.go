package endpoint

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestServerMetricsConfig(t *testing.T) {
	base := TargetConfig{Kind: KindOpenAI, Model: "m", BaseURL: "http://127.0.0.1:8000/v1"}
	for _, c := range []struct {
		metrics  string
		interval time.Duration
		want     string // "" for valid; else a part of the error
	}{
		{"/metrics", 0, ""},
		{"http://10.0.0.2:9400/metrics", 2 * time.Second, ""},
		{"https://h/metrics", time.Minute, ""},
		{"/metrics", 50 * time.Millisecond, "server_metrics_interval: 50ms is outside 100ms..1m0s"},
		{"/metrics", 2 * time.Minute, "outside"},
		{"ftp://h/metrics", 0, "server_metrics: \"ftp://h/metrics\": use an http:// or https:// URL"},
		{"http://u:hunter2@h/metrics", 0, "user name or password"},
		{"http://h/metrics?token=abc", 0, "query string"},
		{"/metrics?x=1", 0, "query string"},
		{"metrics", 0, "http:// or https://"},
	} {
		cfg := base
		cfg.ServerMetrics, cfg.ServerMetricsInterval = c.metrics, c.interval
		err := cfg.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q %s: %v", c.metrics, c.interval, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q %s: %v, want an error with %q", c.metrics, c.interval, err, c.want)
		case err != nil && (strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "abc")):
			t.Errorf("the error repeats a secret: %v", err)
		}
	}
	u, err := ResolveServerMetrics("/metrics", "https://api.example.com:8443/v1")
	if err != nil || u.String() != "https://api.example.com:8443/metrics" {
		t.Errorf("resolve a path: %v, %v", u, err)
	}
	if _, err := ResolveServerMetrics("/metrics", ""); err == nil || !strings.Contains(err.Error(), "no base_url") {
		t.Errorf("a path without a base URL: %v", err)
	}
}

func TestServerMetricsIntervalJSON(t *testing.T) {
	cfg := TargetConfig{Kind: KindOpenAI, Model: "m", ServerMetrics: "/metrics", ServerMetricsInterval: 1500 * time.Millisecond}
	b, err := json.Marshal(cfg)
	if err != nil || !strings.Contains(string(b), `"server_metrics_interval":1.5`) || !strings.Contains(string(b), `"server_metrics":"/metrics"`) {
		t.Fatalf("%s, %v", b, err)
	}
	var back TargetConfig
	if err := json.Unmarshal(b, &back); err != nil || back.ServerMetricsInterval != cfg.ServerMetricsInterval || back.ServerMetrics != "/metrics" {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"server_metrics_interval":"250ms"}`), &back); err != nil || back.ServerMetricsInterval != 250*time.Millisecond {
		t.Errorf("a duration string: %v, %v", back.ServerMetricsInterval, err)
	}
	if b, _ := json.Marshal(TargetConfig{Kind: KindOpenAI}); strings.Contains(string(b), "server_metrics") {
		t.Errorf("an unset server_metrics is written: %s", b)
	}
}
