package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
)

// DefaultAddr is where Start listens unless told otherwise: loopback, on a
// port the system picks.
const DefaultAddr = "127.0.0.1:0"

// Server is a simulated model server. Build one with New (for httptest, via
// Handler) or Start (listening). It is safe for concurrent use.
type Server struct {
	cfg   Config
	tok   *corpus.Tokenizer
	enc   *corpus.Tokenizer
	sched *scheduler
	occ   occurrences
	// cache is the prefix cache; nil when PrefixCacheBlocks is 0.
	cache *prefixCache
	// read reads kept prompt text; corpus.ReadPrompt except in tests.
	read func(string) corpus.Reading
	// dataset holds the cases of Config.Dataset; nil without one.
	dataset datasetIndex
	ids     atomic.Uint64
	metrics serverMetrics // GET /metrics (metrics.go)
	born    int64
	log     *slog.Logger
	addr    string
	remote  bool

	done      chan struct{}
	closeOnce sync.Once

	mu  sync.Mutex
	ln  net.Listener
	hs  *http.Server
	url string
}

type options struct {
	addr   string
	remote bool
	log    *slog.Logger
}

// Option configures a Server.
type Option func(*options)

// WithAddr sets the address Start listens on (default DefaultAddr). Start
// refuses non-loopback addresses unless WithRemote is also given.
func WithAddr(addr string) Option { return func(o *options) { o.addr = addr } }

// WithRemote lets Start listen on a non-loopback address. The simulator has
// no authentication: use it only on a network you trust.
func WithRemote() Option { return func(o *options) { o.remote = true } }

// WithLogger sets where the server logs its start, stop and handler errors
// (default: discarded).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// New builds a Server from cfg without listening; serve its Handler.
func New(cfg Config, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("simulator configuration: %w", err)
	}
	o := options{addr: DefaultAddr, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, opt := range opts {
		opt(&o)
	}
	tok, err := corpus.GetTokenizer(cfg.Encoding)
	if err != nil {
		return nil, fmt.Errorf("simulator tokenizer: %w", err)
	}
	var ds datasetIndex
	if cfg.Dataset != "" {
		if ds, err = loadDataset(cfg.Dataset); err != nil {
			return nil, fmt.Errorf("simulator dataset: %w", err)
		}
	}
	return &Server{
		dataset: ds,
		cfg:     cfg,
		tok:     tok,
		enc:     tok,
		sched:   newScheduler(cfg.MaxSeqs, cfg.Queue),
		cache:   newPrefixCache(cfg.PrefixCacheBlocks),
		read:    corpus.ReadPrompt,
		born:    time.Now().Unix(),
		log:     o.log,
		addr:    o.addr,
		remote:  o.remote,
		done:    make(chan struct{}),
	}, nil
}

// Start builds a Server and serves it on its address (DefaultAddr unless
// WithAddr says otherwise) until Close or until ctx ends.
func Start(ctx context.Context, cfg Config, opts ...Option) (*Server, error) {
	s, err := New(cfg, opts...)
	if err != nil {
		return nil, err
	}
	if !s.remote {
		if err := CheckLoopback(s.addr); err != nil {
			return nil, err
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.addr)
	if err != nil {
		return nil, fmt.Errorf("simulator cannot listen on %s: %w", s.addr, err)
	}
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.mu.Lock()
	s.ln, s.hs = ln, hs
	s.url = "http://" + ln.Addr().String() + "/v1"
	s.mu.Unlock()
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("simulator stopped serving", "err", err)
		}
	}()
	context.AfterFunc(ctx, func() { _ = s.Close() })
	s.log.Info("simulator listening", "url", s.url, "model", cfg.Model)
	return s, nil
}

// CheckLoopback returns an error unless addr (host:port) is a loopback
// address or "localhost".
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("listen address %q is not a loopback address: the simulator is a test server; use 127.0.0.1 or allow remote listening explicitly", addr)
	}
	return nil
}

// Handler returns the server's HTTP handler (the Server itself).
func (s *Server) Handler() http.Handler { return s }

// URL is the base URL for an OpenAI client, ending in /v1 ("" before Start).
// Anthropic clients use it without the /v1.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Config is the server's configuration.
func (s *Server) Config() Config { return s.cfg }

// Stats returns the scheduler's counters and the prefix cache's size.
func (s *Server) Stats() Stats {
	st := s.sched.stats()
	st.CachedBlocks = s.cache.len()
	return st
}

// Shutdown stops accepting requests and waits for those in flight until ctx
// ends; then it closes them.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	hs := s.hs
	s.mu.Unlock()
	if hs == nil {
		s.closeOnce.Do(func() { close(s.done) })
		return nil
	}
	err := hs.Shutdown(ctx)
	s.closeOnce.Do(func() { close(s.done) })
	if err != nil {
		_ = hs.Close()
		return fmt.Errorf("simulator shutdown: %w", err)
	}
	return nil
}

// Close stops the server at once, ending requests in flight.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.done) })
	s.mu.Lock()
	hs := s.hs
	s.mu.Unlock()
	if hs == nil {
		return nil
	}
	if err := hs.Close(); err != nil {
		return fmt.Errorf("closing simulator: %w", err)
	}
	return nil
}

// ServeHTTP routes the OpenAI and Anthropic endpoints; anything else is a
// 404 in the shape of the API the request looks like.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := guessAPI(r)
	path := strings.TrimSuffix(r.URL.Path, "/")
	if s.serveMetadata(w, r, path) || s.serveMetrics(w, r, path) {
		return
	}
	var want string
	switch path {
	case "/v1/chat/completions", "/chat/completions":
		want = http.MethodPost
		if r.Method == want {
			s.serveOpenAI(w, r)
			return
		}
	case "/v1/messages":
		want = http.MethodPost
		if r.Method == want {
			s.serveAnthropic(w, r)
			return
		}
	case "/v1/models", "/models":
		want = http.MethodGet
		if r.Method == want {
			s.serveModels(w)
			return
		}
	case "/health", "/v1/health":
		want = http.MethodGet
		if r.Method == want {
			w.WriteHeader(http.StatusOK)
			return
		}
	default:
		(&apiError{status: http.StatusNotFound, kind: kindNotFound,
			message: fmt.Sprintf("Invalid URL (%s %s): the simulator serves POST /v1/chat/completions, POST /v1/messages and GET /v1/models", r.Method, r.URL.Path)}).write(w, a)
		return
	}
	w.Header().Set("Allow", want)
	(&apiError{status: http.StatusMethodNotAllowed, kind: kindMethod,
		message: fmt.Sprintf("Method %s is not allowed on %s; use %s", r.Method, r.URL.Path, want)}).write(w, a)
}

// guessAPI picks the error shape of a request: Anthropic's for its path or
// headers, OpenAI's otherwise.
func guessAPI(r *http.Request) api {
	if strings.HasPrefix(r.URL.Path, "/v1/messages") || r.Header.Get("anthropic-version") != "" || r.Header.Get("x-api-key") != "" {
		return apiAnthropic
	}
	return apiOpenAI
}

// id returns a fresh response id with prefix.
func (s *Server) id(prefix string) string {
	const hx = "0123456789abcdef"
	n := s.ids.Add(1)
	b := make([]byte, 0, len(prefix)+16)
	b = append(b, prefix...)
	for i := 60; i >= 0; i -= 4 {
		b = append(b, hx[(n>>uint(i))&0xf])
	}
	return string(b)
}
