package hostile

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestBehavioursDocumented(t *testing.T) {
	bs := Behaviours()
	if len(bs) < 24 {
		t.Errorf("%d behaviours, want at least 24", len(bs))
	}
	for _, b := range bs {
		if d := b.Doc(); d == "" || strings.ContainsAny(d, "\n\r") || len(d) > 160 {
			t.Errorf("behaviour %s: doc %q, want one line", b, d)
		}
	}
}

// TestServerEndsEverything sends one chat request of each dialect to every
// behaviour, reads at most 4 MiB of the answer within 2 s, and checks that
// Close returns promptly and leaves no handler goroutine behind, and that
// the server held little memory however much it sent.
func TestServerEndsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, b := range Behaviours() {
		for _, path := range []string{"/chat/completions", "/messages"} {
			t.Run(string(b)+path, func(t *testing.T) {
				s := Start(b, Key("sk-test-0123456789"))
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+path, strings.NewReader(`{"stream":true}`))
				tr := &http.Transport{DisableKeepAlives: true}
				resp, err := tr.RoundTrip(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<20))
					resp.Body.Close()
				}
				cancel()
				tr.CloseIdleConnections()
				done := make(chan struct{})
				go func() { s.Close(); close(done) }()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Fatalf("Close took more than 10 s")
				}
				if s.Chats() != 1 {
					t.Errorf("%d chat requests counted, want 1", s.Chats())
				}
			})
		}
	}
	// Every handler has returned; the client's and the server's
	// connection goroutines wind down shortly after.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+5 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines left running, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// TestServerMemoryBounded reads 48 MiB of the runaway stream and of the
// huge line and checks that the heap did not grow with them.
func TestServerMemoryBounded(t *testing.T) {
	for _, b := range []Behaviour{Runaway, HugeLine, Huge500} {
		t.Run(string(b), func(t *testing.T) {
			s := Start(b)
			defer s.Close()
			runtime.GC()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/chat/completions", strings.NewReader(`{}`))
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, io.LimitReader(resp.Body, 48<<20))
			resp.Body.Close()
			runtime.ReadMemStats(&m1)
			if n < 48<<20 {
				t.Errorf("read %d bytes, want 48 MiB", n)
			}
			if grew := int64(m1.TotalAlloc - m0.TotalAlloc); grew > 24<<20 {
				t.Errorf("sending 48 MiB allocated %d MiB", grew>>20)
			}
		})
	}
}

func TestLoadingThenReady(t *testing.T) {
	s := Start(Loading)
	defer s.Close()
	var codes []int
	for i := 0; i < LoadingRequests+1; i++ {
		resp, err := http.Get(s.Root + "/health")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 503 || codes[LoadingRequests-1] != 503 || codes[LoadingRequests] != 200 {
		t.Errorf("health codes %v, want 503 %d times then 200", codes, LoadingRequests)
	}
}

func TestEOFFirstThenFine(t *testing.T) {
	s := Start(EOFFirst)
	defer s.Close()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	if resp, err := c.Get(s.URL + "/models"); err == nil {
		resp.Body.Close()
		t.Fatalf("first request answered %d, want the connection closed", resp.StatusCode)
	}
	resp, err := c.Get(s.URL + "/models")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("second request: %d", resp.StatusCode)
	}
}
