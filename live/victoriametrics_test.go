package live_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/campaign"
	"github.com/needlestorm/needlestorm/internal/testkit"
	"github.com/needlestorm/needlestorm/live"
	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/run"
)

// lockedBuffer is a bytes.Buffer a process may write while a test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// victoriaMetrics is a real VictoriaMetrics (Debian package
// victoria-metrics) on a free port of 127.0.0.1, its data in a temporary
// directory, queried without cache or latency offset so that what was
// pushed is seen at once. It is stopped when the test ends.
type victoriaMetrics struct {
	url string
	log *lockedBuffer
}

func startVictoriaMetrics(t *testing.T) *victoriaMetrics {
	t.Helper()
	bin := testkit.Binary(t, "victoria-metrics", "victoria-metrics", "victoria-metrics-prod")
	// The port is free when chosen; another process may take it before
	// VictoriaMetrics binds it, so a start that fails is tried again.
	for attempt := 1; ; attempt++ {
		vm, err := tryVictoriaMetrics(t, bin)
		if err == nil {
			return vm
		}
		if attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("VictoriaMetrics did not start (attempt %d): %v", attempt, err)
	}
}

func tryVictoriaMetrics(t *testing.T, bin string) (*victoriaMetrics, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	log := &lockedBuffer{}
	cmd := exec.Command(bin,
		"-httpListenAddr="+addr,
		"-storageDataPath="+filepath.Join(t.TempDir(), "vm"),
		"-search.latencyOffset=0s", "-search.disableCache",
		"-loggerLevel=WARN")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	vm := &victoriaMetrics{url: "http://" + addr, log: log}
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case <-exited:
			return nil, fmt.Errorf("VictoriaMetrics exited at start:\n%s", log)
		default:
		}
		if resp, err := client.Get(vm.url + "/health"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.TrimSpace(string(body)) == "OK" {
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("VictoriaMetrics on %s not healthy within 30 s:\n%s", addr, log)
		}
	}
	t.Cleanup(stop)
	return vm, nil
}

// get GETs path with the query values and returns the body, failing the
// test on an error or a status other than 200 or 204.
func (vm *victoriaMetrics) get(t *testing.T, path string, q url.Values) []byte {
	t.Helper()
	u := vm.url + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v\nVictoriaMetrics log:\n%s", u, err, vm.log)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 && resp.StatusCode != 204 {
		t.Fatalf("GET %s: %s: %s", u, resp.Status, body)
	}
	return body
}

// query returns the value of an instant query that yields one sample,
// 0 for one that yields none (a sum over no series).
func (vm *victoriaMetrics) query(t *testing.T, expr string) float64 {
	t.Helper()
	body := vm.get(t, "/api/v1/query", url.Values{"query": {expr}, "nocache": {"1"}})
	var r struct {
		Status string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Status != "success" {
		t.Fatalf("query %s: %v: %s", expr, err, body)
	}
	switch len(r.Data.Result) {
	case 0:
		return 0
	case 1:
		s, _ := r.Data.Result[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("query %s: value %v: %v", expr, r.Data.Result[0].Value, err)
		}
		return v
	}
	t.Fatalf("query %s: %d samples, want one: %s", expr, len(r.Data.Result), body)
	return 0
}

// TestVictoriaMetricsPush runs a small campaign on the built-in simulator
// (with injected 429s and 5xx; at time scale 1, so that its answers'
// tokens arrive apart and every family, TPOT's too, has samples) pushing its live metrics to a real
// VictoriaMetrics, then reads them back: through /api/v1/query the counts
// equal those of records.jsonl, and through /api/v1/export every series
// carries the run, campaign, target and model labels.
func TestVictoriaMetricsPush(t *testing.T) {
	vm := startVictoriaMetrics(t)
	c, err := campaign.Parse("vm.yaml", []byte(`
name: vm-push
targets:
  - {name: s, kind: sim, sim_profile: fast, time_scale: 1, sim: {fault_429: 0.1, fault_5xx: 0.1, base_accuracy: 0.7, output_tokens: 12}}
corpus:
  lengths: [300, 600]
  depths: [0, 100]
load:
  stages:
    - {rate: 200, requests: 40}
`))
	if err != nil {
		t.Fatal(err)
	}
	runID := fmt.Sprintf("vmtest-%d", time.Now().UnixNano())
	m := live.NewMetrics(live.WithRun(runID), live.WithCampaign(c.Name))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The server's root, completed to the import path; the first push (of
	// nothing yet) is made at once, the periodic ones would come hourly.
	push, endPush := context.WithCancel(ctx)
	if err := m.StartPush(push, vm.url, time.Hour, t.Logf); err != nil {
		t.Fatalf("%v\nVictoriaMetrics log:\n%s", err, vm.log)
	}
	dir := filepath.Join(t.TempDir(), "run")
	var log bytes.Buffer
	res, err := c.Execute(ctx, dir, campaign.ExecOptions{Log: &log, Observers: []loadgen.Observer{m}})
	endPush()
	if err != nil || res.Run.Status != run.StatusComplete {
		t.Fatalf("execute: %v\n%s", err, log.String())
	}
	if err := m.PushOnce(ctx, vm.url); err != nil {
		t.Fatalf("final push: %v\nVictoriaMetrics log:\n%s", err, vm.log)
	}
	vm.get(t, "/internal/force_flush", nil)

	f, err := os.Open(filepath.Join(dir, run.RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := run.ReadRecords(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var correct, failed, ok200, promptTokens, outputTokens, ttfts, gaps int
	for _, r := range recs {
		if r.Correct {
			correct++
		}
		if r.ErrorClass != "" {
			failed++
		}
		if r.Status == 200 {
			ok200++
		}
		if r.PromptTokensServer > 0 {
			promptTokens += r.PromptTokensServer
		} else {
			promptTokens += r.PromptTokensClient
		}
		outputTokens += r.OutputTokens
		if r.TTFT > 0 {
			ttfts++
		}
		gaps += len(r.ChunkGaps)
	}
	if len(recs) < 40 || failed == 0 || correct == 0 || gaps == 0 {
		t.Fatalf("%d records, %d failed, %d correct, %d chunk gaps: want at least 40, some failed and some correct, with chunk gaps", len(recs), failed, correct, gaps)
	}

	sel := `{run="` + runID + `"}`
	checks := []struct {
		expr string
		want int
	}{
		{`sum(needlestorm_requests_sent_total` + sel + `)`, len(recs)},
		{`sum(needlestorm_requests_total` + sel + `)`, len(recs)},
		{`sum(needlestorm_requests_total{run="` + runID + `",status="200"})`, ok200},
		{`sum(needlestorm_requests_in_flight` + sel + `)`, 0},
		{`sum(needlestorm_answers_total` + sel + `)`, len(recs)},
		{`sum(needlestorm_answers_total{run="` + runID + `",verdict="correct"})`, correct},
		{`sum(needlestorm_errors_total` + sel + `)`, failed},
		{`sum(needlestorm_prompt_tokens_total` + sel + `)`, promptTokens},
		{`sum(needlestorm_output_tokens_total` + sel + `)`, outputTokens},
		{`sum(needlestorm_ttft_seconds_count` + sel + `)`, ttfts},
		{`sum(needlestorm_chunk_gap_seconds_count` + sel + `)`, gaps},
		{`sum(needlestorm_ttft_seconds_bucket{run="` + runID + `",le="+Inf"})`, ttfts},
	}
	// VictoriaMetrics makes what it took in searchable within about a
	// second, force_flush or not: ask until every count agrees, for at
	// most 30 s, then report what still differs.
	var wrong []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		wrong = wrong[:0]
		for _, q := range checks {
			if got := vm.query(t, q.expr); got != float64(q.want) {
				wrong = append(wrong, fmt.Sprintf("%s = %g, records say %d", q.expr, got, q.want))
			}
		}
		if len(wrong) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, w := range wrong {
		t.Error(w)
	}
	// Prometheus' le buckets: histogram_quantile answers.
	expr := `histogram_quantile(0.95, sum by (le) (needlestorm_ttft_seconds_bucket` + sel + `))`
	if q := vm.query(t, expr); !(q > 0) || math.IsInf(q, 0) {
		t.Errorf("%s = %g, want a time to first token", expr, q)
	}

	// Every series carries the labels; the last values of the requests
	// counters add up to the records.
	body := vm.get(t, "/api/v1/export", url.Values{"match[]": {sel}})
	families := map[string]bool{}
	var requests float64
	series := 0
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var s struct {
			Metric map[string]string
			Values []float64
		}
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		series++
		name := s.Metric["__name__"]
		families[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")] = true
		for _, l := range []string{"run", "campaign", "target", "model", "stage", "length"} {
			if s.Metric[l] == "" {
				t.Errorf("exported series %v has no %s label", s.Metric, l)
			}
		}
		if s.Metric["campaign"] != "vm-push" || s.Metric["target"] != "s" || s.Metric["model"] != recs[0].Model {
			t.Errorf("exported series %v: want campaign vm-push, target s, model %s", s.Metric, recs[0].Model)
		}
		if name == "needlestorm_requests_total" && len(s.Values) > 0 {
			requests += s.Values[len(s.Values)-1]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if requests != float64(len(recs)) {
		t.Errorf("exported needlestorm_requests_total adds up to %g, records.jsonl holds %d", requests, len(recs))
	}
	for _, f := range live.Families {
		if !families[f.Name] {
			t.Errorf("no exported series of %s (exported: %v)", f.Name, families)
		}
	}
	t.Logf("%d records, %d series exported", len(recs), series)
}
