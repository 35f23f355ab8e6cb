package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// testConfig is the fast profile at time scale 0, changed by edit.
func testConfig(t testing.TB, edit func(*Config)) Config {
	t.Helper()
	c, err := Profile("fast")
	if err != nil {
		t.Fatal(err)
	}
	c.TimeScale = 0
	if edit != nil {
		edit(&c)
	}
	return c
}

// startTest serves cfg on a loopback httptest server closed at cleanup.
func startTest(t testing.TB, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		_ = s.Close()
	})
	return s, ts
}

// post sends a JSON body and returns the response with its body read.
func post(t testing.TB, client *http.Client, url string, body any, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, []byte(err.Error())
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp, append(out, []byte("\nREAD ERROR: "+err.Error())...)
	}
	return resp, out
}

// chatBody is an OpenAI chat request for user text.
func chatBody(text string, stream bool) map[string]any {
	b := map[string]any{
		"model":    "any-model",
		"messages": []map[string]any{{"role": "user", "content": text}},
		"stream":   stream,
	}
	if stream {
		b["stream_options"] = map[string]any{"include_usage": true}
	}
	return b
}

// headerSeconds reads an X-Sim-* duration header.
func headerSeconds(t testing.TB, h http.Header, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(h.Get(name), 64)
	if err != nil {
		t.Fatalf("header %s = %q: %v", name, h.Get(name), err)
	}
	return v
}

func words(n int) string {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "word%d ", i%50)
	}
	return b.String()
}
