package sim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/needlestorm/needlestorm/corpus"
)

// errClosed ends a request whose server is closing.
var errClosed = errors.New("sim: server closed")

// exchange is one admitted chat request: what the server read, what it will
// answer, and its planned timeline.
type exchange struct {
	s   *Server
	req chat
	// sent is the prompt length the client sent (content tokens); kept what
	// survived the window; promptTokens what usage reports (kept + template).
	sent, kept, promptTokens int
	// cached is the number of kept tokens the prefix cache held.
	cached int
	queued int
	load   Load
	fault  Fault
	ans    answer
	out    []int
	// pieces are the output's chunks: one token each, merged where a token
	// ends inside a UTF-8 character.
	pieces   []string
	finish   string // "stop" or "length"
	timing   Timing
	pace     pacer
	decoding bool
	released bool
}

// begin reads, checks and admits a request: context window, injected
// errors, the queue. On success the caller must call end.
func (s *Server) begin(ctx context.Context, a api, req chat) (*exchange, *apiError) {
	cfg := &s.cfg
	p := tokenize(s.enc, req.contents)
	room := cfg.ContextWindow - cfg.TemplateOverhead
	if cfg.Overflow == OverflowReject {
		// vLLM refuses a prompt whose tokens plus max_tokens exceed the
		// window; Anthropic's "prompt is too long" is about the prompt.
		completion := 0
		if a == apiOpenAI {
			completion = req.maxTokens
		}
		if p.total > room || p.total+cfg.TemplateOverhead+completion > cfg.ContextWindow {
			return nil, overflowError(a, p.total+cfg.TemplateOverhead, completion, cfg.ContextWindow)
		}
	}
	kept := p.keep(room, cfg.Overflow)

	// Faults are server-side events: every request draws afresh, from its
	// prompt and how many times that prompt came before. The answer draws
	// afresh too, except at temperature 0 (greedy decoding), where it is
	// the same for every repeat of a prompt.
	h := hashPrompt(req.contents)
	occ := s.occ.next(h)
	answerOcc := occ
	if req.greedy {
		answerOcc = 0
	}
	fr := newRNG(cfg.Seed, h, occ, streamFault)
	fault := cfg.pickFault(&fr)
	switch fault {
	case Fault429, Fault500, Fault503:
		return nil, faultError(fault, cfg.RetryAfter)
	}

	arrived := time.Now()
	queued, err := s.sched.acquire(ctx)
	if errors.Is(err, errQueueFull) {
		return nil, queueFullError(queued, cfg.RetryAfter)
	}
	if err != nil {
		return nil, &apiError{status: 499, kind: kindInvalid, message: "client went away while queued"}
	}
	admitted := time.Now()

	x := &exchange{s: s, req: req, sent: p.total, kept: count(kept), queued: queued, fault: fault, finish: "stop"}
	x.promptTokens = x.kept + cfg.TemplateOverhead
	x.load = s.sched.load(queued)
	if s.cache != nil {
		// Like vLLM, the last prompt token is always computed, so at most
		// the full blocks before it are reused.
		x.cached = PrefixBlockTokens * s.cache.use(p.blockHashes(kept, x.kept-1))
	}

	text := p.text(s.tok, kept)
	ar := newRNG(cfg.Seed, h, answerOcc, streamAnswer)
	if dc := s.dataset.lookup(req.contents); dc != nil {
		x.ans = cfg.answerCase(dc, x.kept == p.total || dc.readIn(text), queued, &ar)
	} else {
		x.ans = cfg.compose(s.read(text), text, x.kept, queued, &ar)
	}
	x.out = outputTokens(s.enc, x.ans.text, cfg.OutputTokens)
	if req.maxTokens > 0 && len(x.out) > req.maxTokens {
		x.out = x.out[:req.maxTokens]
		x.finish = "length"
	}
	x.pieces = pieces(s.tok, x.out)
	s.metrics.admitted(x)

	var wait time.Duration
	if cfg.TimeScale > 0 {
		wait = time.Duration(float64(admitted.Sub(arrived)) / cfg.TimeScale)
	} else {
		service := cfg.PlanCached(x.promptTokens, x.cached, len(x.out), x.load, 0, FaultNone).E2E
		wait = cfg.EstimateQueueWait(queued, service)
	}
	x.timing = cfg.PlanCached(x.promptTokens, x.cached, len(x.out), x.load, wait, fault)
	x.pace = pacer{scale: cfg.TimeScale, start: admitted, done: s.done}
	return x, nil
}

// prefill sleeps through prefill (and a stall) and starts decoding.
func (x *exchange) prefill(ctx context.Context) error {
	err := x.pace.wait(ctx, x.timing.Prefill+x.timing.Stall)
	x.s.sched.decodeStarted()
	x.decoding = true
	return err
}

// end frees the request's slot.
func (x *exchange) end() {
	if x.released {
		return
	}
	x.released = true
	x.s.sched.release(x.decoding)
	x.s.metrics.released(x)
}

// brokenAt is the number of pieces sent before a broken stream breaks
// (-1 when it does not break).
func (x *exchange) brokenAt() int {
	if x.fault != FaultBroken {
		return -1
	}
	return len(x.pieces) / 2
}

// text is the whole answer as sent.
func (x *exchange) text() string {
	n := 0
	for _, p := range x.pieces {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for _, p := range x.pieces {
		b = append(b, p...)
	}
	return string(b)
}

// setHeaders writes the X-Sim-* headers: the server's own account of the
// request, in tokens and simulated seconds.
func (x *exchange) setHeaders(h http.Header) {
	secs := func(d time.Duration) []string { return []string{strconv.FormatFloat(d.Seconds(), 'f', 6, 64)} }
	h["X-Sim-Prompt-Tokens-Sent"] = []string{strconv.Itoa(x.sent)}
	h["X-Sim-Prompt-Tokens-Kept"] = []string{strconv.Itoa(x.kept)}
	h["X-Sim-Cached-Tokens"] = []string{strconv.Itoa(x.cached)}
	h["X-Sim-Prefill"] = secs(x.timing.Prefill)
	h["X-Sim-Queued"] = []string{strconv.Itoa(x.queued)}
	h["X-Sim-Load"] = []string{strconv.Itoa(x.load.Prefilling) + " prefilling, " + strconv.Itoa(x.load.Decoding) + " decoding"}
	h["X-Sim-Queue-Wait"] = secs(x.timing.QueueWait)
	h["X-Sim-Ttft"] = secs(x.timing.TTFT)
	h["X-Sim-Token-Gap"] = secs(x.timing.TokenGap)
	h["X-Sim-E2e"] = secs(x.timing.E2E)
	h["X-Sim-Fault"] = []string{x.fault.String()}
	h["X-Sim-Accuracy"] = []string{strconv.FormatFloat(x.ans.accuracy, 'f', 4, 64)}
	h["X-Sim-Right"] = []string{strconv.Itoa(x.ans.right) + "/" + strconv.Itoa(x.ans.asks)}
}

// pieces decodes tokens one by one, merging a token into the next while its
// text is not valid UTF-8 on its own.
func pieces(tok *corpus.Tokenizer, out []int) []string {
	ps := make([]string, 0, len(out))
	var pending []byte
	for _, t := range out {
		piece := tok.Decode([]int{t})
		if len(pending) > 0 {
			pending = append(pending, piece...)
			if utf8.Valid(pending) {
				ps = append(ps, string(pending))
				pending = pending[:0]
			}
			continue
		}
		if !utf8.ValidString(piece) {
			pending = append(pending, piece...)
			continue
		}
		ps = append(ps, piece)
	}
	if len(pending) > 0 {
		ps = append(ps, string(pending))
	}
	return ps
}

// accept reads and decodes a request of API a and admits it to the
// scheduler. On failure it has already written the API's own error (or, for a
// client that went away, nothing) and returns nil.
func (s *Server) accept(w http.ResponseWriter, r *http.Request, a api, decode func([]byte) (chat, *apiError)) (chat, *exchange) {
	body, e := readBody(w, r)
	if e == nil {
		var req chat
		if req, e = decode(body); e == nil {
			var x *exchange
			if x, e = s.begin(r.Context(), a, req); e == nil {
				x.setHeaders(w.Header())
				return req, x
			}
		}
	}
	if e.status != 499 {
		e.write(w, a)
	}
	return chat{}, nil
}

// serveChat answers one chat request of API a: the shared prologue
// (accept), then the event stream (stream) or, after the simulated prefill
// and decode, the whole response (whole) as JSON. A broken-stream fault
// closes the connection without a response.
func (s *Server) serveChat(w http.ResponseWriter, r *http.Request, a api, decode func([]byte) (chat, *apiError),
	stream func(context.Context, http.ResponseWriter, *exchange), whole func(chat, *exchange) any) {
	req, x := s.accept(w, r, a, decode)
	if x == nil {
		return
	}
	defer x.end()
	ctx := r.Context()
	if req.stream {
		stream(ctx, w, x)
		return
	}
	if x.prefill(ctx) != nil || x.pace.wait(ctx, x.timing.E2E-x.timing.TTFT) != nil {
		return
	}
	if x.fault == FaultBroken {
		panic(http.ErrAbortHandler) // close the connection without a response
	}
	out, err := json.Marshal(whole(req, x))
	if err != nil {
		s.log.Error("encoding a response", "err", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// eventStream is a response being written as server-sent events.
type eventStream struct {
	rc   *http.ResponseController
	live bool // time scale > 0: events are paced, so flush each one
}

// flush sends what was written so far, when events are paced; at time
// scale 0 nothing waits between events and they go out together.
func (e eventStream) flush() {
	if e.live {
		_ = e.rc.Flush()
	}
}

// flushNow sends what was written so far, whatever the time scale (before
// the stream ends or breaks).
func (e eventStream) flushNow() { _ = e.rc.Flush() }

// streamPieces waits for the prefill, then writes each piece of the answer
// with write, paced by the token gap and flushed, and breaks the stream
// where the fault plan says (no end events follow). It reports whether
// the whole answer was written: false when ctx ended or the stream broke.
func (x *exchange) streamPieces(ctx context.Context, es eventStream, write func(piece string)) bool {
	if x.prefill(ctx) != nil {
		return false
	}
	broken := x.brokenAt()
	for i, p := range x.pieces {
		if i == broken {
			es.flushNow()
			panic(http.ErrAbortHandler) // the stream breaks: no end events
		}
		if i > 0 && x.pace.wait(ctx, x.timing.TokenGap) != nil {
			return false
		}
		write(p)
		es.flush()
	}
	return true
}

// startEventStream answers 200 with the headers of a server-sent event
// stream.
func startEventStream(w http.ResponseWriter, x *exchange) eventStream {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	return eventStream{rc: http.NewResponseController(w), live: x.s.cfg.TimeScale > 0}
}
