package sim

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkStreamedRequest measures the server's own cost per short streamed
// chat request at time scale 0, over a real loopback connection with a
// plain HTTP client (keep-alive), with b.N requests from GOMAXPROCS clients.
func BenchmarkStreamedRequest(b *testing.B) {
	s, err := New(testConfig(b, nil))
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	body := []byte(`{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"You are a careful reader."},{"role":"user","content":"The value of happy-falcon is 1234567. Some short filler text goes here. What is the value of happy-falcon?"}]}`)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	url := ts.URL + "/v1/chat/completions"
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || n == 0 {
				b.Errorf("status %d, %d bytes", resp.StatusCode, n)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkHandler is the handler alone (no network) for the same request.
func BenchmarkHandler(b *testing.B) {
	s, err := New(testConfig(b, nil))
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"You are a careful reader."},{"role":"user","content":"The value of happy-falcon is 1234567. Some short filler text goes here. What is the value of happy-falcon?"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
		w := newRecorder()
		s.ServeHTTP(w, req)
		if w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
	}
}

// BenchmarkPrefixCache is the prefix cache's cost for one 128k-token prompt:
// hashing its blocks and looking them up (all hits after the first round)
// in a cache that holds them.
func BenchmarkPrefixCache(b *testing.B) {
	const n = 128_000
	seg := make([]int, n)
	for i := range seg {
		seg[i] = i * 7919 % 100_000
	}
	p := prompt{segs: [][]int{seg}, total: n}
	kept := []span{{0, n}}
	c := newPrefixCache(2 * n / PrefixBlockTokens)
	b.ReportAllocs()
	for b.Loop() {
		if hits := c.use(p.blockHashes(kept, n-1)); hits < 0 {
			b.Fatal(hits)
		}
	}
	b.ReportMetric(n*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
