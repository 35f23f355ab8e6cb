package run

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/probes"
)

// RecordSchema names the version of the Record JSON format.
const RecordSchema = "needlestorm.record/v1"

// Error classes of a failed request.
const (
	ErrRateLimited     = "rate_limited"
	ErrServerError     = "server_error"
	ErrTimeout         = "timeout"
	ErrContextOverflow = "context_overflow"
	ErrStreamBroken    = "stream_broken"
	ErrBadResponse     = "bad_response"
	ErrConnection      = "connection"
	ErrCanceled        = "canceled"
	// ErrRunaway: the server kept streaming far past max_tokens (or past
	// the response size cap), and reading stopped.
	ErrRunaway = "runaway"
)

// Seconds is a duration written to JSON as float seconds.
type Seconds time.Duration

// Duration returns s as a time.Duration.
func (s Seconds) Duration() time.Duration { return time.Duration(s) }

// MarshalJSON writes s as float seconds.
func (s Seconds) MarshalJSON() ([]byte, error) {
	return appendSeconds(make([]byte, 0, 24), s), nil
}

// appendSeconds appends s as float seconds, as encoding/json writes the
// float64 (see appendFloat).
func appendSeconds(b []byte, s Seconds) []byte { return appendFloat(b, time.Duration(s).Seconds()) }

// appendFloat appends f exactly as encoding/json writes a float64 (ES6
// number formatting: 'f' between 1e-6 and 1e21, else 'e' with the
// exponent's leading zero dropped), without its reflection: a record holds
// twenty and more.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 is written 1e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// UnmarshalJSON reads float seconds.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	var f float64
	if jsonNumber(b) {
		// What encoding/json does with a number for a float64, without
		// its reflection (a record holds twenty durations and more).
		var err error
		if f, err = strconv.ParseFloat(string(b), 64); err != nil {
			return fmt.Errorf("duration must be a number of seconds: %w", err)
		}
	} else if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("duration must be a number of seconds: %w", err)
	}
	// Rounded, not truncated: 1.993e-06 s times 1e9 is 1992.9999... ns,
	// and a record read and written again must not change.
	*s = Seconds(math.Round(f * float64(time.Second)))
	return nil
}

// jsonNumber reports whether b is a number of JSON's grammar
// (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?), which strconv.ParseFloat
// reads as encoding/json does.
func jsonNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}

// Record is everything measured about one request. Times are from the moment
// the request was sent unless said otherwise. Zero durations mean "not
// observed" and are left out of the JSON.
type Record struct {
	Schema string `json:"schema"`
	Seq    int64  `json:"seq"`
	Target string `json:"target"`
	Model  string `json:"model,omitempty"`
	// Stage is the schedule stage's index; StageLabel its label ("rate=4/s").
	Stage      int    `json:"stage"`
	StageLabel string `json:"stage_label"`
	// Warmup records are kept but left out of statistics.
	Warmup bool `json:"warmup,omitempty"`

	// The Case identity.
	CaseID           string   `json:"case_id"`
	Task             string   `json:"task"`
	Length           int      `json:"length"`
	Depth            float64  `json:"depth"`
	ActualDepth      float64  `json:"actual_depth"`
	NeedleTokenIndex int      `json:"needle_token_index"`
	Repeat           int      `json:"repeat"`
	Expected         []string `json:"expected"`
	// CanaryHead and CanaryTail are the expected canary values, if any.
	CanaryHead string `json:"canary_head,omitempty"`
	CanaryTail string `json:"canary_tail,omitempty"`

	ScheduledAt time.Time `json:"scheduled_at"`
	SentAt      time.Time `json:"sent_at"`
	// SendLag = SentAt - ScheduledAt: the client's own delay.
	SendLag Seconds `json:"send_lag"`
	// TTFB: first response byte. TTFT: first non-empty content or reasoning
	// delta. E2E: last byte. E2ESched: last byte minus ScheduledAt.
	TTFB     Seconds `json:"ttfb,omitzero"`
	TTFT     Seconds `json:"ttft,omitzero"`
	E2E      Seconds `json:"e2e,omitzero"`
	E2ESched Seconds `json:"e2e_sched,omitzero"`
	// ChunkGaps are the gaps between consecutive content chunks.
	ChunkGaps []Seconds `json:"chunk_gaps,omitempty"`
	// ChunkGapsTruncated is true when ChunkGaps was cut at its cap (the
	// endpoint package's MaxChunkGaps); Chunks is still the true number of
	// chunks received.
	ChunkGapsTruncated bool `json:"chunk_gaps_truncated,omitempty"`
	// TPOT = (E2E - TTFT) / (OutputTokens - 1), only when OutputTokens > 1.
	TPOT Seconds `json:"tpot,omitzero"`

	PromptTokensClient int `json:"prompt_tokens_client"`
	PromptTokensServer int `json:"prompt_tokens_server,omitempty"`
	OutputTokens       int `json:"output_tokens"`
	CachedTokens       int `json:"cached_tokens,omitempty"`
	// OutputTokensEstimated is true when the server sent no usage and
	// OutputTokens is a client-side estimate.
	OutputTokensEstimated bool `json:"output_tokens_estimated,omitempty"`
	// UsageInvalid says which of the server's usage counts were unusable
	// and why (a string, a fraction, negative, absurd). Those counts are
	// left out (zero) so calibration and statistics never use them.
	UsageInvalid string `json:"usage_invalid,omitempty"`

	FinishReason string `json:"finish_reason,omitempty"`
	Status       int    `json:"status,omitempty"`

	// BytesOut and BytesIn are the request's and the response's body
	// sizes in bytes, as sent and as read (0: not known).
	BytesOut int64 `json:"bytes_out,omitempty"`
	BytesIn  int64 `json:"bytes_in,omitempty"`

	ErrorClass string `json:"error_class,omitempty"`
	// Error is the server's or the client's error message, with secrets
	// removed.
	Error      string  `json:"error,omitempty"`
	RetryAfter Seconds `json:"retry_after,omitzero"`

	Answer string `json:"answer"`
	// AnswerTruncated is true when Answer was cut at its cap (the endpoint
	// package's MaxAnswerBytes); AnswerBytes is then the answer's true size
	// in bytes as received.
	AnswerTruncated bool  `json:"answer_truncated,omitempty"`
	AnswerBytes     int64 `json:"answer_bytes,omitempty"`
	// ReasoningTruncated is true when the reasoning text (not kept in the
	// record, only counted) passed its cap (MaxReasoningBytes);
	// ReasoningBytes is then its true size in bytes.
	ReasoningTruncated bool  `json:"reasoning_truncated,omitempty"`
	ReasoningBytes     int64 `json:"reasoning_bytes,omitempty"`
	probes.Verdict

	// Fields added later are kept together here, at the end.

	// AskedRate is the mean rate the record's stage asked for, in
	// requests per second, over all shards (0 for a closed-loop stage and
	// in records written before it existed).
	AskedRate float64 `json:"asked_rate,omitempty"`
	// HeldBack is true when the in-flight cap held this request back past
	// its scheduled time (the client, not the server, delayed it).
	HeldBack bool `json:"held_back,omitempty"`
	// ServerRequestID is the server's own id of the request: the
	// x-request-id response header, else request-id (Anthropic). The id
	// in the API's response body is ResponseID.
	ServerRequestID string `json:"server_request_id,omitempty"`

	// A case of the user's own dataset (Task "dataset", CaseID its id in
	// the dataset): its task type, and the matchers its answer is scored
	// by (none: an open-ended prompt, not scored).
	TaskType string           `json:"task_type,omitempty"`
	Matchers []corpus.Matcher `json:"matchers,omitempty"`
	// Chunks is the number of non-empty content or reasoning chunks the
	// stream carried; OutputTokens/Chunks is the mean tokens per chunk
	// (several for speculative decoding, batching, llama.cpp).
	Chunks int `json:"chunks,omitempty"`
	// ResponseID is the id the API gave its answer in the response body:
	// an OpenAI chunk's "id" ("chatcmpl-..."), Anthropic's message_start
	// message.id ("msg_..."). ServerRequestID is the header's id.
	ResponseID string `json:"response_id,omitempty"`
	// PadTo is the length a dataset case was padded to (its content
	// buried in a haystack at Depth percent; CaseID then ends in
	// "@LENGTH-dDEPTH"); 0 for a case as written and for needles.
	PadTo int `json:"pad_to,omitempty"`
}

// ITLPerToken is the mean inter-token latency of a successful streamed
// request: the time from the first chunk to the last byte over the tokens
// after the first chunk, (e2e - ttft) / (output_tokens - output_tokens /
// chunks), taking chunks as equal. Unlike a chunk gap it does not treat a
// chunk of four tokens as one token. ok is false without two chunks and
// more output tokens than chunks' worth of one.
func (r *Record) ITLPerToken() (d time.Duration, ok bool) {
	if r.ErrorClass != "" || r.Chunks < 2 || r.OutputTokens < r.Chunks || r.TTFT <= 0 || r.E2E <= r.TTFT {
		return 0, false
	}
	after := float64(r.OutputTokens) - float64(r.OutputTokens)/float64(r.Chunks)
	return time.Duration(float64(r.E2E-r.TTFT) / after), true
}

// Open reports whether the record answers an open-ended case of the
// user's dataset: no expected answer, so neither right nor wrong.
func (r *Record) Open() bool { return r.Task == corpus.TaskDataset && len(r.Matchers) == 0 }
