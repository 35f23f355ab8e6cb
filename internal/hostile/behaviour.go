package hostile

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// Behaviour names one misbehaviour of a Server.
type Behaviour string

// The misbehaviours. Each one's documentation (Doc) is one line.
const (
	LongWord         Behaviour = "long-word"
	Runaway          Behaviour = "runaway"
	KeyIn401         Behaviour = "key-in-401"
	KeyEcho          Behaviour = "key-echo"
	KeyInStreamError Behaviour = "key-in-stream-error"
	EvilModels       Behaviour = "evil-models"
	UsageString      Behaviour = "usage-string"
	UsageHuge        Behaviour = "usage-huge"
	UsageFraction    Behaviour = "usage-fraction"
	UsageNegative    Behaviour = "usage-negative"
	UsageAbsurd      Behaviour = "usage-absurd"
	RetryAfterDate   Behaviour = "retry-after-date"
	RetryAfterHuge   Behaviour = "retry-after-huge"
	Gzip             Behaviour = "gzip"
	DoneOnly         Behaviour = "done-only"
	Loading          Behaviour = "loading"
	EOFFirst         Behaviour = "eof-first"
	Slowloris        Behaviour = "slowloris"
	Silence          Behaviour = "silence"
	HugeLine         Behaviour = "huge-line"
	BadJSON          Behaviour = "bad-json"
	HTMLPage         Behaviour = "html-200"
	WrongType        Behaviour = "wrong-type"
	Reset            Behaviour = "reset"
	Huge500          Behaviour = "huge-500"
	RedirectLoop     Behaviour = "redirect-loop"
	Trickle          Behaviour = "trickle"
	ControlBytes     Behaviour = "control-bytes"
	PingForever      Behaviour = "ping-forever"
)

// Defaults of the behaviours that send a lot (Bytes overrides them).
const (
	// LongWordBytes is the length of the whitespace-free answer: 192 KiB,
	// the size that took tens of seconds to count with tiktoken whole.
	LongWordBytes = 192 << 10
	// RunawayBytes caps the runaway stream, so that a client that never
	// stops reading still gets an end: 64 MiB.
	RunawayBytes = 64 << 20
	// HugeBytes is the size of the huge line and of the huge error body.
	HugeBytes = 100 << 20
)

// LoadingRequests is how many requests Loading answers 503 before it is
// ready.
const LoadingRequests = 3

// longWordSeq varies the letters of LongWord's answers.
var longWordSeq atomic.Int64

// lifetime bounds every handler that would otherwise write or wait
// forever; the client going away or Close ends it first.
const lifetime = 2 * time.Minute

type behaviour struct {
	doc   string
	serve func(x *exchange)
}

// behaviours holds every Behaviour's documentation and handler.
var behaviours = map[Behaviour]behaviour{
	LongWord:         {"a finished answer of 192 KiB of letters without any whitespace, in 1 KiB deltas, and no usage", serveLongWord},
	Runaway:          {"ignores max_tokens: streams words as fast as the client reads, never finishing, until it goes away (or 64 MiB)", serveRunaway},
	KeyIn401:         {"401 whose message quotes `Bearer <key>` after 570 bytes of text (a cut at 600 bytes splits the key)", serveKeyIn401},
	KeyEcho:          {"a 200 answer that echoes the API key, bare and as `Bearer <key>`", serveKeyEcho},
	KeyInStreamError: {"a 200 stream whose in-stream error event quotes the API key", serveKeyInStreamError},
	EvilModels:       {"/v1/models ids holding ESC ]52 (clipboard write), ESC [2J, colour codes and the C1 control U+009B", serveEvilModels},
	UsageString:      {"a correct finished answer whose usage counts are JSON strings (\"263\")", usageServer(`"263"`, `"5"`)},
	UsageHuge:        {"a correct finished answer whose usage counts are 1e20", usageServer(`1e20`, `1e20`)},
	UsageFraction:    {"a correct finished answer whose usage counts are fractions (9.5)", usageServer(`9.5`, `2.5`)},
	UsageNegative:    {"a correct finished answer whose usage counts are negative", usageServer(`-263`, `-5`)},
	UsageAbsurd:      {"a correct finished answer claiming 10^15 prompt tokens", usageServer(`1000000000000000`, `5`)},
	RetryAfterDate:   {"429 with Retry-After as an HTTP date in the year 9999", retryAfterServer("Fri, 31 Dec 9999 23:59:59 GMT")},
	RetryAfterHuge:   {"429 with Retry-After of 99999999999 seconds and retry-after-ms of 1e15", retryAfterServer("99999999999")},
	Gzip:             {"the event stream gzip-encoded (Content-Encoding: gzip) whatever Accept-Encoding asked", serveGzip},
	DoneOnly:         {"a 200 stream of nothing but its end event (`data: [DONE]`; Anthropic: message_stop)", serveDoneOnly},
	Loading:          {"llama.cpp starting up: 503 \"Loading model\" to every request, /health included, for the first 3 requests, then ready", serveLoading},
	EOFFirst:         {"closes its first connection without a byte of answer, then answers normally", serveEOFFirst},
	Slowloris:        {"writes the status line and headers one byte every 250 ms and never finishes them", serveSlowloris},
	Silence:          {"200 and event-stream headers, then silence until the client goes away", serveSilence},
	HugeLine:         {"one event stream line of 100 MiB with no newline, generated as it is written", serveHugeLine},
	BadJSON:          {"a 200 event stream whose data lines are not JSON", serveBadJSON},
	HTMLPage:         {"a 200 text/html sign-in page in place of an event stream", serveHTMLPage},
	WrongType:        {"a well-formed stream labelled Content-Type: application/json", serveWrongType},
	Reset:            {"two deltas of a stream, then the connection reset (TCP RST)", serveReset},
	Huge500:          {"500 with a 100 MiB body, generated as it is written", serveHuge500},
	RedirectLoop:     {"307 to the very URL asked, to every request", serveRedirectLoop},
	Trickle:          {"a well-formed stream written one byte every 100 ms", serveTrickle},
	ControlBytes:     {"a finished answer holding NUL bytes, invalid UTF-8, ESC sequences and C1 controls", serveControlBytes},
	PingForever:      {"a 200 stream of `: ping` comments every 10 ms and never an event", servePingForever},
}

// Behaviours lists every Behaviour, sorted by name.
func Behaviours() []Behaviour {
	out := make([]Behaviour, 0, len(behaviours))
	for b := range behaviours {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Doc is the one-line description of b ("" for an unknown one).
func (b Behaviour) Doc() string { return behaviours[b].doc }

// size is the configured byte count, or def.
func (x *exchange) size(def int64) int64 {
	if x.s.cfg.bytes > 0 {
		return x.s.cfg.bytes
	}
	return def
}

func serveLongWord(x *exchange) {
	if !x.chat {
		x.normal()
		return
	}
	if x.open() != nil {
		return
	}
	// Each answer starts at another letter, so that no tokenizer cache
	// has seen it before.
	abc := "abcdefghijklmnopqrstuvwxyz"
	k := int(longWordSeq.Add(1) % 26)
	word := bytes.Repeat([]byte(abc[k:]+abc[:k]), 1024/26+1)[:1024]
	total := x.size(LongWordBytes)
	for sent := int64(0); sent < total; sent += int64(len(word)) {
		if x.text(string(word)) != nil {
			return
		}
	}
	_ = x.finish("")
}

func serveRunaway(x *exchange) {
	if !x.chat {
		x.normal()
		return
	}
	if x.open() != nil {
		return
	}
	// One frame, built once and written again and again.
	words := strings.Repeat("lorem ipsum dolor sit amet ", 4096/27)
	var frame bytes.Buffer
	if x.dialect == anthropic {
		fmt.Fprintf(&frame, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":%s}}\n\n", quote(words))
	} else {
		fmt.Fprintf(&frame, "data: {\"id\":\"chatcmpl-hostile\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%s,\"choices\":[{\"index\":0,\"delta\":{\"content\":%s},\"finish_reason\":null}]}\n\n", quote(x.s.cfg.model), quote(words))
	}
	deadline := time.Now().Add(lifetime)
	total := x.size(RunawayBytes)
	for sent := int64(0); sent < total && time.Now().Before(deadline); sent += int64(len(words)) {
		if x.write(frame.Bytes()) != nil {
			return
		}
	}
}

func serveKeyIn401(x *exchange) {
	pad := strings.Repeat("Your request was not authorized. ", 570/33+1)[:570]
	x.jsonError(http.StatusUnauthorized, pad+"Bearer "+x.s.cfg.key+" is not a valid key.")
}

func serveKeyEcho(x *exchange) {
	if !x.chat {
		x.normal()
		return
	}
	k := x.s.cfg.key
	x.answer("You sent Authorization: Bearer " + k + " and the key " + k + "; the value is unknown.")
}

func serveKeyInStreamError(x *exchange) {
	if !x.chat {
		x.normal()
		return
	}
	if x.open() != nil || x.text("The value") != nil {
		return
	}
	msg := quote("upstream rejected Authorization: Bearer " + x.s.cfg.key)
	if x.dialect == anthropic {
		_ = x.event("error", `{"type":"error","error":{"type":"api_error","message":`+msg+`}}`)
		return
	}
	_ = x.data(`{"error":{"message":` + msg + `,"type":"server_error","code":500}}`)
}

// evilIDs are model ids that would drive a terminal printed raw.
var evilIDs = []string{
	"\x1b]52;c;ZWNobyBwd25lZA==\x07clipboard",
	"\x1b[2J\x1b[Hcleared",
	"\x1b[31mred\x1b[0m",
	"\u009b31mcsi",
	"\u202etxt.exe",
}

func serveEvilModels(x *exchange) {
	if x.r.Method == http.MethodGet && isPath(x.r, "/models") {
		x.models(evilIDs...)
		return
	}
	x.normal()
}

// usageServer answers correctly, finishing with the usage counts given as
// raw JSON values.
func usageServer(prompt, completion string) func(*exchange) {
	return func(x *exchange) {
		if !x.chat {
			x.normal()
			return
		}
		if x.open() != nil || x.text("I do not ") != nil || x.text("know.") != nil {
			return
		}
		_ = x.finish(x.usage(prompt, completion))
	}
}

func retryAfterServer(value string) func(*exchange) {
	return func(x *exchange) {
		if !x.chat {
			x.normal()
			return
		}
		x.w.Header().Set("Retry-After", value)
		if value == "99999999999" {
			x.w.Header().Set("Retry-After-Ms", "1e15")
		}
		x.jsonError(http.StatusTooManyRequests, "rate limited: slow down")
	}
}

func serveGzip(x *exchange) {
	if !x.chat {
		x.normal()
		return
	}
	x.w.Header().Set("Content-Encoding", "gzip")
	zw := gzip.NewWriter(x.w)
	x.out = zw
	x.answer("I do not know.")
	_ = zw.Close()
}

func serveDoneOnly(x *exchange) {
	if !x.chat {
		x.normal()
		return
	}
	x.header("text/event-stream")
	if x.dialect == anthropic {
		_ = x.event("message_stop", `{"type":"message_stop"}`)
		return
	}
	_ = x.data("[DONE]")
}

func serveLoading(x *exchange) {
	if x.n <= LoadingRequests {
		x.w.Header().Set("Content-Type", "application/json")
		x.w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(x.w, `{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}`)
		return
	}
	x.normal()
}

func serveEOFFirst(x *exchange) {
	if x.s.conns.Load() == 1 && x.n == 1 {
		if c, ok := x.s.hijack(x.w); ok {
			x.s.release(c)
		}
		return
	}
	x.normal()
}

// rawWrite writes b to a hijacked connection with a deadline.
func rawWrite(c net.Conn, b []byte) error {
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Write(b)
	return err
}

func serveSlowloris(x *exchange) {
	c, ok := x.s.hijack(x.w)
	if !ok {
		return
	}
	defer x.s.release(c)
	head := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Slow: ")
	deadline := time.Now().Add(lifetime)
	for i := 0; time.Now().Before(deadline); i++ {
		b := byte('z')
		if i < len(head) {
			b = head[i]
		}
		if rawWrite(c, []byte{b}) != nil || !sleep(x.ctx, 250*time.Millisecond) {
			return
		}
	}
}

func serveSilence(x *exchange) {
	if !x.chat {
		x.normal()
		return
	}
	x.header("text/event-stream")
	sleep(x.ctx, lifetime)
}

func serveHugeLine(x *exchange) {
	if !x.chat {
		x.normal()
		return
	}
	x.header("text/event-stream")
	if x.write([]byte(`data: {"choices":[{"index":0,"delta":{"content":"`)) != nil {
		return
	}
	block := bytes.Repeat([]byte("a"), 32<<10)
	total := x.size(HugeBytes)
	for sent := int64(0); sent < total; sent += int64(len(block)) {
		if x.write(block) != nil {
			return
		}
	}
}

func serveBadJSON(x *exchange) {
	if !x.chat {
		x.normal()
		return
	}
	x.header("text/event-stream")
	_ = x.data(`{"choices":[{"index":0,"delta":{"content":"The value`)
	_ = x.data(`<html>not json</html>`)
}

func serveHTMLPage(x *exchange) {
	if !x.chat {
		x.normal()
		return
	}
	x.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	x.w.WriteHeader(http.StatusOK)
	fmt.Fprint(x.w, "<!doctype html>\n<html><head><title>Sign in</title></head>\n<body><h1>Sign in to continue</h1>\n<form method=post><input name=user></form></body></html>\n")
}

func serveWrongType(x *exchange) {
	if !x.chat {
		x.normal()
		return
	}
	x.w.Header().Set("Content-Type", "application/json")
	x.w.WriteHeader(http.StatusOK)
	x.flush()
	// open would set the header again: write the events directly.
	if x.dialect == anthropic {
		_ = x.event("message_start", `{"type":"message_start","message":{"usage":{"input_tokens":300,"output_tokens":1}}}`)
		_ = x.event("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
	} else {
		_ = x.chunk(`{"role":"assistant","content":""}`, "null")
	}
	if x.text("I do not know.") == nil {
		_ = x.finish(x.usage("300", "5"))
	}
}

func serveReset(x *exchange) {
	if !x.chat {
		x.normal()
		return
	}
	c, ok := x.s.hijack(x.w)
	if !ok {
		return
	}
	defer x.s.release(c)
	var body bytes.Buffer
	chunk := func(s string) {
		fmt.Fprintf(&body, "%x\r\n%s\r\n", len(s), s)
	}
	chunk(`data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n")
	chunk(`data: {"choices":[{"index":0,"delta":{"content":"The value"},"finish_reason":null}]}` + "\n\n")
	chunk(`data: {"choices":[{"index":0,"delta":{"content":" is"},"finish_reason":null}]}` + "\n\n")
	head := "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
	if rawWrite(c, append([]byte(head), body.Bytes()...)) != nil {
		return
	}
	sleep(x.ctx, 50*time.Millisecond)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // Close sends RST
	}
}

func serveHuge500(x *exchange) {
	if !x.chat {
		x.normal()
		return
	}
	x.w.Header().Set("Content-Type", "text/plain")
	x.w.WriteHeader(http.StatusInternalServerError)
	block := bytes.Repeat([]byte("internal error "), (32<<10)/15)
	total := x.size(HugeBytes)
	for sent := int64(0); sent < total; sent += int64(len(block)) {
		if x.write(block) != nil {
			return
		}
	}
}

func serveRedirectLoop(x *exchange) {
	x.w.Header().Set("Location", x.r.URL.String())
	x.w.WriteHeader(http.StatusTemporaryRedirect)
}

func serveTrickle(x *exchange) {
	if !x.chat {
		x.normal()
		return
	}
	// The whole well-formed stream, then written a byte at a time.
	var rec bytes.Buffer
	y := *x
	y.out = &rec
	y.w = discardHeaders{x.w.Header()}
	y.answer("I do not know.")
	x.w.WriteHeader(http.StatusOK)
	x.flush()
	b := rec.Bytes()
	for i := range b {
		if x.write(b[i:i+1]) != nil || !sleep(x.ctx, 100*time.Millisecond) {
			return
		}
	}
}

// discardHeaders is a ResponseWriter that keeps headers and drops the
// status (Trickle builds its stream in memory first).
type discardHeaders struct{ h http.Header }

func (d discardHeaders) Header() http.Header         { return d.h }
func (d discardHeaders) Write(b []byte) (int, error) { return len(b), nil }
func (d discardHeaders) WriteHeader(int)             {}

func serveControlBytes(x *exchange) {
	if !x.chat {
		x.normal()
		return
	}
	if x.open() != nil {
		return
	}
	// Raw JSON: escaped NUL, ESC and BEL, raw C1 (UTF-8 of U+009B and
	// U+0085), and bytes that are not UTF-8 at all.
	if x.rawText(`"nul\u0000 esc\u001b[2J\u001b]52;c;aGk=\u0007 c1`+"\xc2\x9b31m\xc2\x85"+` bad`+"\xff\xfe\xc3("+` end"`) != nil {
		return
	}
	_ = x.finish(x.usage("300", "9"))
}

func servePingForever(x *exchange) {
	if !x.chat {
		x.normal()
		return
	}
	x.header("text/event-stream")
	deadline := time.Now().Add(lifetime)
	for time.Now().Before(deadline) {
		if x.write([]byte(": ping\n\n")) != nil || !sleep(x.ctx, 10*time.Millisecond) {
			return
		}
	}
}
