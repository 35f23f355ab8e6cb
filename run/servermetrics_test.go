package run

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServerMetricsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if got, err := ReadServerMetricsFile(dir); got != nil || err != nil {
		t.Fatalf("a run without the file: %v, %v", got, err)
	}
	w, err := CreateServerMetrics(dir)
	if err != nil {
		t.Fatal(err)
	}
	v, zero := 3.0, 0.0
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	in := []ServerSample{
		{Time: at, Target: "a", Stage: 1, StageLabel: "rate=2/s", Series: SeriesRunning, Metric: "vllm:num_requests_running", Labels: map[string]string{"engine": "0"}, Value: &v},
		{Time: at, Target: "a", Stage: 1, Series: SeriesWaiting, Metric: "vllm:num_requests_waiting", Value: &zero},
		{Time: at, Target: "a", Stage: 1, Error: "HTTP 503"},
	}
	if err := w.Write(in); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(in); err == nil {
		t.Errorf("a write after Close succeeded")
	}
	raw, _ := os.ReadFile(filepath.Join(dir, ServerMetricsFile))
	if !strings.Contains(string(raw), `"value":0`) || strings.Count(string(raw), "\n") != 3 {
		t.Errorf("file:\n%s", raw)
	}
	got, err := ReadServerMetricsFile(dir)
	if err != nil || len(got) != 3 {
		t.Fatalf("%d samples, %v", len(got), err)
	}
	if !got[0].Time.Equal(at) || *got[0].Value != 3 || got[0].Labels["engine"] != "0" || got[1].Value == nil || *got[1].Value != 0 || !got[2].Failed() || got[2].Value != nil {
		t.Errorf("read back %+v", got)
	}
	// A killed writer's torn last line: the samples before it are kept.
	torn := append(raw, []byte(`{"time":"2026-01-02T03:04:05Z","tar`)...)
	got, err = ReadServerMetrics(strings.NewReader(string(torn)))
	if len(got) != 3 || !errors.Is(err, ErrTornTail) {
		t.Errorf("torn tail: %d samples, %v", len(got), err)
	}
	bad := "{}\nnot json\n{}\n"
	if got, err = ReadServerMetrics(strings.NewReader(bad)); len(got) != 1 || err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad line: %d, %v", len(got), err)
	}
	if err := RemoveServerMetrics(dir); err != nil {
		t.Fatal(err)
	}
	if err := RemoveServerMetrics(dir); err != nil {
		t.Errorf("removing a missing file: %v", err)
	}
}
