package endpoint

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"time"

	"github.com/needlestorm/needlestorm/run"
)

// The instrumented HTTP client of the targets: one http.Transport per target,
// tuned for many concurrent streamed requests to one host, and a per-request
// call that records when the request was sent, when the first response byte
// arrived, the status, the headers, and the body of an error response.
// It never retries.

// Defaults of the HTTP client.
const (
	// DefaultTimeout bounds one whole request, first byte to last. Long
	// prompts on slow servers take minutes.
	DefaultTimeout = 10 * time.Minute
	// DefaultConnectTimeout bounds establishing a connection (TCP and TLS).
	DefaultConnectTimeout = 10 * time.Second
	// DefaultIdleConnsPerHost is how many idle keep-alive connections a
	// target keeps to its host. net/http's default of 2 would make every
	// request beyond the second open a new connection at high rates.
	DefaultIdleConnsPerHost = 2048
)

// httpclientErrorDrain bounds how much of an error body is read past the part
// kept, so the connection can be reused.
const httpclientErrorDrain = 256 << 10

// newHTTPTransport returns a transport for one target: HTTP/1.1 keep-alive,
// a connect timeout on the dialer and the TLS handshake, no response header
// timeout (prefill of a long prompt can take minutes before the first byte),
// no transparent compression (a gzip reader would hold back stream chunks),
// and a large idle pool.
func newHTTPTransport(connectTimeout time.Duration, idlePerHost int) *http.Transport {
	d := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   connectTimeout,
		MaxIdleConns:          0, // no total limit
		MaxIdleConnsPerHost:   idlePerHost,
		MaxConnsPerHost:       0,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: 0,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		WriteBufferSize:       16 << 10,
		ReadBufferSize:        8 << 10,
	}
}

// targetHTTP sends the requests of one target.
type targetHTTP struct {
	rt http.RoundTripper
	// transport is rt when the target built its own; nil when one was given.
	transport *http.Transport
	// headers are set on every request after the target's own headers, so a
	// user can override any of them.
	headers [][2]string
	host    string // a "Host" header from the configuration
}

// targetCallKey is the context key of a request's *targetCall, which
// go-openai passes through to the HTTPDoer.
type targetCallKey struct{}

// targetCall is the instrumented state of one request.
type targetCall struct {
	sentAt    time.Time // just before the request was handed to the transport
	firstByte time.Time // first response byte (httptrace), or headers received
	resp      *http.Response
	status    int
	header    http.Header
	errBody   []byte // the first errorBodyLimit bytes of a non-2xx body
	doErr     error  // the transport's error, when no response came
	trace     httptrace.ClientTrace

	// bytesOut and bytesIn count the request body sent and the response
	// body read.
	bytesOut, bytesIn int64
}

// init prepares c for a new request.
func (c *targetCall) init() {
	*c = targetCall{}
	c.trace.GotFirstResponseByte = c.gotFirstResponseByte
}

func (c *targetCall) gotFirstResponseByte() { c.firstByte = time.Now() }

// identityEncoding is the Accept-Encoding value of every request: shared,
// never written (Header.Set replaces a value slice, it does not write it).
var identityEncoding = []string{"identity"}

// header returns base with what every request of the target carries on
// top: Accept-Encoding identity, then the configured headers, which
// replace any of the same name. A target builds the header of its
// requests once; they share it, and nothing writes to it (a RoundTripper
// must not modify its request).
func (h *targetHTTP) header(base http.Header) http.Header {
	out := make(http.Header, len(base)+1+len(h.headers))
	for k, v := range base {
		out[k] = v
	}
	// Ask for the body as it is: a compressed stream would be held back
	// by the decompressor, and the transport does not decode (see
	// newHTTPTransport), so a server that compresses anyway is an error
	// that names the encoding (encodingError).
	out["Accept-Encoding"] = identityEncoding
	for _, kv := range h.headers {
		out[kv[0]] = []string{kv[1]}
	}
	return out
}

// post returns the POST of body to u under ctx with header (from header,
// shared): net/http's request without parsing the target's URL again for
// every request.
func (h *targetHTTP) post(ctx context.Context, u *url.URL, body []byte, header http.Header) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "", nil)
	if err != nil {
		return nil, err
	}
	req.URL, req.Host, req.Header = u, u.Host, header
	req.ContentLength = int64(len(body))
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return req, nil
}

// do sends req with the target's headers over its own (see header); the
// targets' requests, whose header is the target's already, go through
// roundTrip.
func (h *targetHTTP) do(req *http.Request, call *targetCall) (*http.Response, error) {
	req.Header = h.header(req.Header)
	return h.roundTrip(req, call)
}

// roundTrip sends req and records it in call. For a status outside 2xx it
// reads the body into call.errBody, closes it, and hands back a response
// whose body replays those bytes, so the error can still be read.
func (h *targetHTTP) roundTrip(req *http.Request, call *targetCall) (*http.Response, error) {
	if h.host != "" {
		req.Host = h.host
	}
	call.sentAt = time.Now()
	call.bytesOut = max(req.ContentLength, 0)
	resp, err := h.rt.RoundTrip(req)
	if err != nil {
		call.doErr = err
		return nil, err
	}
	resp.Body = &countingBody{ReadCloser: resp.Body, n: &call.bytesIn}
	if call.firstByte.IsZero() {
		// A RoundTripper that does not trace (an in-process one): the headers
		// are the first thing known to have arrived.
		call.firstByte = time.Now()
	}
	call.resp = resp
	call.status = resp.StatusCode
	call.header = resp.Header
	if ce := call.encodingError(); ce != "" && (resp.StatusCode < 200 || resp.StatusCode > 299) {
		_, _ = io.CopyN(io.Discard, resp.Body, httpclientErrorDrain)
		resp.Body.Close()
		call.errBody = []byte("(" + ce + ")")
		resp.Body = io.NopCloser(bytes.NewReader(call.errBody))
	} else if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, errorBodyLimit))
		// Drain a little more so the connection can be reused, then close.
		_, _ = io.CopyN(io.Discard, resp.Body, httpclientErrorDrain)
		resp.Body.Close()
		call.errBody = body
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if rerr != nil && len(body) == 0 {
			call.errBody = []byte(fmt.Sprintf("(the error body could not be read: %v)", rerr))
		}
	}
	return resp, nil
}

// encodingError says, when the response came with a Content-Encoding other
// than identity, that it cannot be read; "" otherwise.
func (c *targetCall) encodingError() string {
	if c.header == nil {
		return ""
	}
	ce := strings.TrimSpace(c.header.Get("Content-Encoding"))
	if ce == "" || strings.EqualFold(ce, "identity") {
		return ""
	}
	return fmt.Sprintf("the server answered with Content-Encoding %s although identity (no compression) was asked: configure the server, or the proxy in front of it, not to compress responses",
		oneLine(ce, 40))
}

// account writes the body sizes of the call into rec; deferred in Send, it
// runs once the response has been read.
func (c *targetCall) account(rec *run.Record) {
	rec.BytesOut, rec.BytesIn = c.bytesOut, c.bytesIn
	if rec.ServerRequestID == "" {
		rec.ServerRequestID = serverRequestID(c.header)
	}
}

// serverRequestID is the server's id of a request from its response
// headers: x-request-id (OpenAI, vLLM with --enable-request-id-headers,
// most proxies), else request-id (Anthropic); "" when neither is sent.
// It is cut to 200 bytes and kept to printable ASCII, as it comes from
// the server.
func serverRequestID(h http.Header) string {
	id := h.Get("X-Request-Id")
	if id == "" {
		id = h.Get("Request-Id")
	}
	return cleanID(id)
}

// cleanID keeps an id from the server to printable ASCII, cut to 200 bytes.
func cleanID(id string) string {
	id = strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e {
			return -1
		}
		return r
	}, id)
	return id[:min(len(id), 200)]
}

// countingBody counts the bytes read from a response body.
type countingBody struct {
	io.ReadCloser
	n *int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	*b.n += int64(n)
	return n, err
}

// close releases the idle connections of a transport the target owns.
func (h *targetHTTP) close() {
	if h.transport != nil {
		h.transport.CloseIdleConnections()
	}
}
