package endpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/run"
)

// The stream loop both dialects read their answers with: events come from
// the SSE reader, a streamDialect decodes each into text, reasoning, usage,
// a finish reason, the end or an error, and the loop measures them into the
// record. What the record keeps and how far a stream is read are bounded
// here, once, whatever the server sends:
//
//   - the answer is kept up to MaxAnswerBytes and the reasoning (counted,
//     not kept) up to MaxReasoningBytes; past that only their true sizes
//     are counted, and the record says it was cut;
//   - chunk gaps are kept for the first MaxChunkGaps chunks;
//   - reading stops with run.ErrRunaway when the output passes
//     RunawayTokens(max_tokens) tokens, or the response body passes
//     MaxResponseBytes;
//   - one event stream line and one event are bounded by the SSE reader.
//
// So a record stays a few MiB at most, far under the records reader's
// 64 MiB line limit, and a request's memory does not grow with what the
// server sends.

// Caps of one streamed answer.
const (
	// MaxAnswerBytes is how much of an answer a record keeps.
	MaxAnswerBytes = 256 << 10
	// MaxReasoningBytes is how much reasoning text is kept for counting.
	MaxReasoningBytes = 256 << 10
	// MaxChunkGaps is how many chunk gaps a record keeps.
	MaxChunkGaps = 100_000
	// MaxResponseBytes is how much of a response body is read at most.
	MaxResponseBytes = 64 << 20
	// runawayBytesPerToken turns bytes of output into a token estimate
	// while streaming; see RunawayTokens.
	runawayBytesPerToken = 4
)

// RunawayTokens is how many output tokens a stream may carry for a request
// with max_tokens m before reading stops as a runaway: max(4m, m+1024).
//
// While streaming, the tokens are estimated cheaply as the larger of the
// number of content chunks (every chunk carries at least one token) and the
// output's bytes divided by 4 (English text averages about 4 bytes a token),
// so a stream is called a runaway only when it is several times longer than
// the server was allowed to make it.
func RunawayTokens(maxTokens int) int {
	return max(4*maxTokens, maxTokens+1024)
}

// errResponseTooLarge ends reading a response body past MaxResponseBytes.
var errResponseTooLarge = fmt.Errorf("the response passed %d MiB", MaxResponseBytes>>20)

// streamDialect decodes the events of one API's stream. A dialect value
// serves one request and may keep decoding state between events.
type streamDialect interface {
	// decode decodes one event (its SSE name, possibly empty, and data)
	// into ev, which the loop has cleared. An error means the event is not
	// one the dialect can read; the loop records a bad response quoting it.
	decode(name, data []byte, ev *streamEvent) error
}

// streamEvent is what one event meant for the measurement.
type streamEvent struct {
	// Content and Reasoning may alias the event's data: they are valid
	// until the next event is read.
	Content, Reasoning []byte
	// Finish is the finish or stop reason, if the event carried one.
	Finish string
	// End is the stream's explicit end ("[DONE]", message_stop).
	End bool
	// Err is an error the server reported in the stream (its JSON), and
	// ErrStatus the HTTP status it implies.
	Err       []byte
	ErrStatus int
	// ID is the answer's id in the API's response, if the event carried
	// one (an OpenAI chunk's id, Anthropic's message_start message.id).
	ID []byte
	// Usage is the usage the event carried, if any.
	Usage *streamUsage
	// UsageNote says why a usage member could not be read at all.
	UsageNote string
}

// streamState is what reading one stream needs beyond the record, kept in
// a pool between requests so a request allocates none of it.
type streamState struct {
	sse       *sseReader
	limit     streamLimit
	ev        streamEvent
	openai    openaiDecoder
	anthropic anthropicDecoder
}

// openaiDialect and anthropicDialect pick a state's decoder (readStream's
// dialect argument).
func (s *streamState) openaiDialect() streamDialect    { return &s.openai }
func (s *streamState) anthropicDialect() streamDialect { return &s.anthropic }

// streamLimit reads a response body up to MaxResponseBytes.
type streamLimit struct {
	r    io.Reader
	left int64
}

func (l *streamLimit) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errResponseTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// readStream reads the event stream of a 2xx response with the decoder
// dialect picks of a pooled stream state, and measures it into rec. cancel ends the request (used to stop a runaway
// and to bound draining the body after the end event).
func (t *targetBase) readStream(ctx context.Context, cancel context.CancelFunc, body io.Reader, dialect func(*streamState) streamDialect, c *corpus.Case, rec *run.Record, sentAt time.Time) {
	st := t.streams.Get().(*streamState)
	d := dialect(st)
	r, limited := st.sse, &st.limit
	*limited = streamLimit{r: body, left: MaxResponseBytes}
	r.reset(limited)
	defer func() {
		r.reset(nil)
		*limited = streamLimit{}
		st.ev = streamEvent{}
		t.streams.Put(st)
	}()
	m := targetMeter{rec: rec, sentAt: sentAt, maxTokens: t.maxTokens}
	if c.MaxTokens > 0 {
		m.maxTokens = c.MaxTokens // the case's own cap was sent
	}
	ev := &st.ev
	var now time.Duration
	reads := -1
	for {
		sev, err := r.Next()
		// An event arrived when the read that brought its last byte
		// returned: the clock is read once per read from the connection
		// (a monotonic read: time.Now reads two clocks), so the events
		// that came in one read share its time instead of each carrying
		// the time the client took to decode those before it.
		if r.reads != reads || err != nil {
			now, reads = time.Since(sentAt), r.reads
		}
		if err != nil {
			t.streamEnd(ctx, r, &m, err)
			m.end(ctx, now, c)
			return
		}
		*ev = streamEvent{}
		if err := d.decode(sev.Name, sev.Data, ev); err != nil {
			t.fail(rec, run.ErrBadResponse, fmt.Sprintf("a stream event is not JSON (%v): %s", err, oneLine(t.redact.Scrub(string(sev.Data)), 200)))
			m.end(ctx, now, c)
			return
		}
		if ev.Err != nil {
			t.failStreamError(rec, ev.ErrStatus, ev.Err)
			m.end(ctx, now, c)
			return
		}
		if len(ev.ID) > 0 && rec.ResponseID == "" {
			rec.ResponseID = cleanID(string(ev.ID))
		}
		m.delta(now, ev.Content, ev.Reasoning)
		if ev.Finish != "" {
			rec.FinishReason = oneLine(ev.Finish, 64)
			m.finished = true
		}
		if ev.UsageNote != "" {
			m.notes.add("usage", ev.UsageNote)
		}
		if ev.Usage != nil {
			m.usageOf(ev.Usage)
		}
		if m.runaway() {
			t.fail(rec, run.ErrRunaway, fmt.Sprintf("the server kept streaming far past max_tokens %d: about %d tokens (%d bytes in %d chunks) received, more than %d; reading stopped",
				m.maxTokens, m.tokensSeen(), m.answerBytes+m.reasoningBytes, m.chunks, RunawayTokens(m.maxTokens)))
			m.end(ctx, now, c)
			cancel()
			return
		}
		if ev.End {
			m.done = true
			if m.chunks == 0 && !m.finished {
				t.fail(rec, run.ErrBadResponse, "the server ended the stream without any content or finish reason: a server failure, not an answer of the model")
			}
			m.end(ctx, now, c)
			targetDrain(r, limited, cancel)
			return
		}
	}
}

// targetMeter measures one streamed answer.
type targetMeter struct {
	rec       *run.Record
	sentAt    time.Time
	last      time.Duration // when the last chunk came, from sentAt
	maxTokens int
	chunks    int

	answer, reasoning           strings.Builder
	answerBytes, reasoningBytes int64
	answerFull, reasoningFull   bool

	notes    usageNotes
	usage    bool // the server sent a usable final output token count
	finished bool // a finish or stop reason arrived
	done     bool // the stream's explicit end arrived
}

// delta records one content or reasoning delta arriving at now (from the
// moment the request was sent). Empty deltas
// (go-openai's first chunk carries only the role) are not chunks.
func (m *targetMeter) delta(now time.Duration, content, reasoning []byte) {
	if len(content) == 0 && len(reasoning) == 0 {
		return
	}
	if m.chunks == 0 {
		m.rec.TTFT = run.Seconds(now)
	} else if len(m.rec.ChunkGaps) < MaxChunkGaps {
		if m.rec.ChunkGaps == nil {
			// One allocation for the gaps of most answers.
			m.rec.ChunkGaps = make([]run.Seconds, 0, min(max(m.maxTokens, 8), 64))
		}
		m.rec.ChunkGaps = append(m.rec.ChunkGaps, run.Seconds(now-m.last))
	} else {
		m.rec.ChunkGapsTruncated = true
	}
	m.chunks++
	m.last = now
	m.answerBytes += int64(len(content))
	m.reasoningBytes += int64(len(reasoning))
	m.answerFull = keepCapped(&m.answer, content, MaxAnswerBytes, m.answerFull)
	m.reasoningFull = keepCapped(&m.reasoning, reasoning, MaxReasoningBytes, m.reasoningFull)
}

// keepCapped appends s to b while b stays within limit bytes, cutting at a
// character boundary; once something did not fit (full), nothing more is
// appended, so what is kept is always a prefix of the text. It returns
// whether b is full.
func keepCapped(b *strings.Builder, s []byte, limit int, full bool) bool {
	if full || len(s) == 0 {
		return full
	}
	if b.Cap() == 0 {
		b.Grow(min(limit, 256)) // one allocation for most answers
	}
	room := limit - b.Len()
	if len(s) <= room {
		b.Write(s)
		return false
	}
	for room > 0 && !utf8.RuneStart(s[room]) {
		room--
	}
	b.Write(s[:room])
	return true
}

// tokensSeen is the streaming estimate of the output's tokens (see
// RunawayTokens).
func (m *targetMeter) tokensSeen() int64 {
	return max(int64(m.chunks), (m.answerBytes+m.reasoningBytes)/runawayBytesPerToken)
}

// runaway reports whether the output went far past max_tokens.
func (m *targetMeter) runaway() bool {
	return m.maxTokens > 0 && m.tokensSeen() > int64(RunawayTokens(m.maxTokens))
}

// usageOf records the usable counts of u and notes the others.
func (m *targetMeter) usageOf(u *streamUsage) {
	rec := m.rec
	if n, ok := u.Prompt.usable(); ok {
		// A server count far above the prompt sent cannot be its count.
		if limit := 4*rec.PromptTokensClient + 4096; rec.PromptTokensClient > 0 && n > limit {
			m.notes.add(u.PromptName, fmt.Sprintf("%d is more than 4 times the %d tokens of the prompt sent", n, rec.PromptTokensClient))
		} else {
			rec.PromptTokensServer = n
		}
	} else if u.Prompt.bad != "" {
		m.notes.add(u.PromptName, u.Prompt.bad)
	}
	if n, ok := u.Cached.usable(); ok {
		if p, pok := u.Prompt.usable(); pok && n > p || !pok && rec.PromptTokensServer > 0 && n > rec.PromptTokensServer {
			m.notes.add(u.CachedName, fmt.Sprintf("%d is more than the prompt's tokens", n))
		} else {
			rec.CachedTokens = n
		}
	} else if u.Cached.bad != "" {
		m.notes.add(u.CachedName, u.Cached.bad)
	}
	if n, ok := u.Output.usable(); ok {
		if limit := RunawayTokens(m.maxTokens); m.maxTokens > 0 && n > limit {
			m.notes.add(u.OutputName, fmt.Sprintf("%d is more than %d (4 times max_tokens %d)", n, limit, m.maxTokens))
		} else {
			rec.OutputTokens = n
			if u.Final {
				m.usage = true
			}
		}
	} else if u.Output.bad != "" {
		m.notes.add(u.OutputName, u.Output.bad)
	}
}

// end closes the measurement at now (from the moment the request was
// sent), the last byte: E2E, the answer and
// its caps, an output token estimate when the server sent no usable usage,
// and TPOT when the request succeeded.
func (m *targetMeter) end(ctx context.Context, now time.Duration, c *corpus.Case) {
	rec := m.rec
	rec.E2E = run.Seconds(now)
	rec.Answer = m.answer.String()
	if m.answerFull {
		rec.AnswerTruncated, rec.AnswerBytes = true, m.answerBytes
	}
	if m.reasoningFull {
		rec.ReasoningTruncated, rec.ReasoningBytes = true, m.reasoningBytes
	}
	rec.Chunks = m.chunks
	rec.UsageInvalid = m.notes.String()
	if !m.usage {
		rec.OutputTokensEstimated = true
		rec.OutputTokens = 0
		if m.chunks > 0 {
			rec.OutputTokens = m.estimateTokens(ctx, c.Encoding)
		}
	}
	if rec.ErrorClass == "" && rec.OutputTokens > 1 && rec.TTFT > 0 && rec.E2E > rec.TTFT {
		rec.TPOT = run.Seconds(time.Duration(rec.E2E-rec.TTFT) / time.Duration(rec.OutputTokens-1))
	}
}

// estimateTokens estimates the output's tokens when the server sent no
// usable count: the kept answer and reasoning are counted with
// Tokenizer.CountBounded (linear, bounded time); a cut text's count is
// scaled to its true size; when ctx has ended (the request timed out or
// was canceled), or the encoding is unknown, it is the output's bytes / 4,
// rounded up.
func (m *targetMeter) estimateTokens(ctx context.Context, encoding string) int {
	total := m.answerBytes + m.reasoningBytes
	byBytes := int((total + runawayBytesPerToken - 1) / runawayBytesPerToken)
	tok, err := corpus.GetTokenizer(encoding)
	if err != nil || ctx.Err() != nil {
		return byBytes
	}
	count := func(b *strings.Builder, size int64) (int, error) {
		n, err := tok.CountBounded(ctx, b.String())
		if err != nil || b.Len() == 0 || int64(b.Len()) >= size {
			return n, err
		}
		return int((int64(n)*size + int64(b.Len()) - 1) / int64(b.Len())), nil
	}
	a, err := count(&m.answer, m.answerBytes)
	if err != nil {
		return byBytes
	}
	r, err := count(&m.reasoning, m.reasoningBytes)
	if err != nil {
		return byBytes
	}
	return a + r
}

// streamEnd records how a stream that stopped with err ended.
func (t *targetBase) streamEnd(ctx context.Context, r *sseReader, m *targetMeter, err error) {
	rec := m.rec
	truncated := errors.Is(err, errSSETruncated)
	switch {
	case errors.Is(err, errResponseTooLarge):
		t.fail(rec, run.ErrRunaway, fmt.Sprintf("the server sent more than %d MiB in one response (%d content chunks); reading stopped", MaxResponseBytes>>20, m.chunks))
	case (err == io.EOF || truncated) && (m.finished || m.done):
		// A missing "[DONE]" (or message_stop) after the finish reason is a
		// normal end.
	case (err == io.EOF || truncated) && r.events == 0 && (r.unknownLines > 0 || truncated && !r.partialField):
		t.fail(rec, run.ErrBadResponse, "the server answered 2xx but not with an event stream: check that base_url points at an OpenAI-compatible (or Anthropic) API")
	case err == io.EOF && r.events == 0:
		t.fail(rec, run.ErrStreamBroken, "the stream ended before any event arrived")
	case err == io.EOF:
		t.fail(rec, run.ErrStreamBroken, "the stream ended before the model finished (no finish reason and no end event)")
	default:
		class, msg := t.info.streamFailure(ctx, err)
		t.fail(rec, class, msg)
	}
}

// targetDrainWait bounds how long the rest of a response is awaited after its
// end event, so the connection can be reused.
const targetDrainWait = 2 * time.Second

// targetDrain reads the body to its end after the stream's end event (so the
// keep-alive connection goes back to the pool) unless the reader already saw
// it. A server that keeps the response open is cut after targetDrainWait.
func targetDrain(r *sseReader, body io.Reader, cancel context.CancelFunc) {
	if r.err != nil {
		return
	}
	timer := time.AfterFunc(targetDrainWait, cancel)
	_, _ = io.CopyN(io.Discard, body, 64<<10)
	timer.Stop()
}
