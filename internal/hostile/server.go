package hostile

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is a hostile LLM server on 127.0.0.1, misbehaving as its
// Behaviour says. It answers chat requests at any path ending in
// /chat/completions (OpenAI) or /messages (Anthropic).
type Server struct {
	// URL is the base URL of an OpenAI-compatible target, such as
	// http://127.0.0.1:1234/v1.
	URL string
	// Root is the server's root URL (no /v1): the base URL of an
	// Anthropic target, and where /health is.
	Root string

	b   Behaviour
	cfg config
	srv *httptest.Server

	ctx    context.Context
	cancel context.CancelFunc

	handlers sync.WaitGroup
	mu       sync.Mutex
	hijacked map[net.Conn]struct{}
	closed   bool

	requests atomic.Int64 // every request
	chats    atomic.Int64 // chat requests (OpenAI or Anthropic)
	answered atomic.Int64 // chat requests whose handler returned
	conns    atomic.Int64 // connections accepted
}

// Option changes how Start builds a Server.
type Option func(*config)

type config struct {
	key   string
	model string
	bytes int64
}

// Key is the API key the server expects and, for the behaviours that leak
// it, quotes back (default "sk-hostile-key").
func Key(k string) Option { return func(c *config) { c.key = k } }

// Model is the model id the server answers as (default "hostile").
func Model(m string) Option { return func(c *config) { c.model = m } }

// Bytes sets how much a behaviour that sends "a lot" sends: the
// whitespace-free answer, the runaway stream's cap, the huge line and the
// huge error body. 0 keeps each behaviour's default.
func Bytes(n int64) Option { return func(c *config) { c.bytes = n } }

// Start starts a Server misbehaving as b. It panics on an unknown
// behaviour (a test's mistake). Close it when done (t.Cleanup(s.Close)).
func Start(b Behaviour, opts ...Option) *Server {
	if _, ok := behaviours[b]; !ok {
		panic(fmt.Sprintf("hostile: unknown behaviour %q", b))
	}
	cfg := config{key: "sk-hostile-key", model: "hostile"}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{b: b, cfg: cfg, hijacked: map[net.Conn]struct{}{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Config.BaseContext = func(net.Listener) context.Context { return s.ctx }
	s.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.srv.Start()
	s.Root = s.srv.URL
	s.URL = s.srv.URL + "/v1"
	return s
}

// Behaviour is what the server does wrong.
func (s *Server) Behaviour() Behaviour { return s.b }

// Requests is the number of requests received, of any path.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Chats is the number of chat requests received (POST .../chat/completions
// or .../messages).
func (s *Server) Chats() int64 { return s.chats.Load() }

// Answered is the number of chat requests the server is done with: their
// handlers returned, whether the answer was written whole or the client
// went away.
func (s *Server) Answered() int64 { return s.answered.Load() }

// Close stops the server and every handler it started: requests in flight
// are cut, hijacked connections closed, and Close returns once every
// handler has returned.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.cancel()
	for c := range s.hijacked {
		c.Close()
	}
	s.mu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
	s.handlers.Wait()
}

// serve routes a request to the behaviour's handler.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.handlers.Add(1)
	defer s.handlers.Done()
	n := s.requests.Add(1)
	chat := r.Method == http.MethodPost && (strings.HasSuffix(r.URL.Path, "/chat/completions") || strings.HasSuffix(r.URL.Path, "/messages"))
	if chat {
		s.chats.Add(1)
		defer s.answered.Add(1)
	}
	// The request body is read (bounded) so the client's write never
	// blocks on it.
	buf := make([]byte, 32<<10)
	for read := 0; read < 64<<20; {
		m, err := r.Body.Read(buf)
		read += m
		if err != nil {
			break
		}
	}
	x := &exchange{s: s, w: w, r: r, n: n, ctx: r.Context(), chat: chat}
	if strings.HasSuffix(r.URL.Path, "/messages") {
		x.dialect = anthropic
	}
	behaviours[s.b].serve(x)
}

// hijack takes over the connection of x, tracking it so that Close closes
// it. ok is false when the connection cannot be hijacked or the server is
// closing.
func (s *Server) hijack(w http.ResponseWriter) (net.Conn, bool) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, false
	}
	c, _, err := hj.Hijack()
	if err != nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return nil, false
	}
	s.hijacked[c] = struct{}{}
	return c, true
}

// release closes a hijacked connection and forgets it.
func (s *Server) release(c net.Conn) {
	s.mu.Lock()
	delete(s.hijacked, c)
	s.mu.Unlock()
	c.Close()
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
