package sim

import (
	"bytes"
	"net/http"
	"sync/atomic"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// serverMetrics are the counters behind GET /metrics. The zero value is
// ready.
type serverMetrics struct {
	// activeTokens are the KV-cache tokens the admitted requests hold: each
	// its prompt and its whole answer, from admission to its end.
	activeTokens atomic.Int64
	// prefixQueries and prefixHits count prompt tokens looked up in the
	// prefix cache and found there (vLLM's counters, in tokens).
	prefixQueries, prefixHits atomic.Int64
}

// admitted counts an admitted request's tokens; released undoes it.
func (m *serverMetrics) admitted(x *exchange) {
	m.activeTokens.Add(int64(x.promptTokens + len(x.out)))
	m.prefixQueries.Add(int64(x.kept))
	m.prefixHits.Add(int64(x.cached))
}

func (m *serverMetrics) released(x *exchange) {
	m.activeTokens.Add(-int64(x.promptTokens + len(x.out)))
}

// kvCapacity is the simulated KV cache, in tokens: room for every sequence
// slot at the full context window.
func (s *Server) kvCapacity() int64 { return int64(s.cfg.MaxSeqs) * int64(s.cfg.ContextWindow) }

// serveMetrics answers GET /metrics in the Prometheus text format with
// vLLM's names (vllm:num_requests_running, vllm:num_requests_waiting,
// vllm:kv_cache_usage_perc as a fraction 0..1, and the prefix-cache
// counters in tokens), each labelled with the model, so that scraping a
// target's own metrics can be tested against the simulator. It reports
// whether path was /metrics.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request, path string) bool {
	if path != "/metrics" {
		return false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "use GET /metrics", http.StatusMethodNotAllowed)
		return true
	}
	st := s.sched.stats()
	usage := 0.0
	if c := s.kvCapacity(); c > 0 {
		usage = min(1, max(0, float64(s.metrics.activeTokens.Load())/float64(c)))
	}
	families := []struct {
		name, help string
		typ        dto.MetricType
		value      float64
	}{
		{"vllm:num_requests_running", "Number of requests in model execution batches.", dto.MetricType_GAUGE, float64(st.Active)},
		{"vllm:num_requests_waiting", "Number of requests waiting to be processed.", dto.MetricType_GAUGE, float64(st.Waiting)},
		{"vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", dto.MetricType_GAUGE, usage},
		{"vllm:prefix_cache_queries_total", "Prefix cache queries, in terms of number of queried tokens.", dto.MetricType_COUNTER, float64(s.metrics.prefixQueries.Load())},
		{"vllm:prefix_cache_hits_total", "Prefix cache hits, in terms of number of cached tokens.", dto.MetricType_COUNTER, float64(s.metrics.prefixHits.Load())},
	}
	var buf bytes.Buffer
	labelName, model := "model_name", s.cfg.Model
	for _, f := range families {
		m := &dto.Metric{Label: []*dto.LabelPair{{Name: &labelName, Value: &model}}}
		v := f.value
		if f.typ == dto.MetricType_COUNTER {
			m.Counter = &dto.Counter{Value: &v}
		} else {
			m.Gauge = &dto.Gauge{Value: &v}
		}
		name, help, typ := f.name, f.help, f.typ
		if _, err := expfmt.MetricFamilyToText(&buf, &dto.MetricFamily{Name: &name, Help: &help, Type: &typ, Metric: []*dto.Metric{m}}); err != nil {
			s.log.Error("encoding /metrics", "err", err)
			http.Error(w, "could not encode the metrics", http.StatusInternalServerError)
			return true
		}
	}
	w.Header().Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	_, _ = w.Write(buf.Bytes())
	return true
}
