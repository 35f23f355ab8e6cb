package run

import (
	"math"
	"strconv"
	"time"

	"github.com/needlestorm/needlestorm/internal/jsonstr"
)

// The records.jsonl line of a Record, written without encoding/json's
// reflection: a run writes one per request, and encoding/json spent about
// 6 µs on each (its reflection over sixty fields, and a reflective call per
// duration). appendJSON writes byte for byte what an encoding/json Encoder
// with SetEscapeHTML(false) writes, the newline included (recordjson_test.go
// fills every field of Record at random and compares, so a field added to
// Record and not here fails it); a record it does not write plainly (one
// with matchers, a float that is not finite, a time outside years 0 to 9999
// or with an offset of seconds) is left to encoding/json.

// appendJSON appends r's line to b; ok is false (and b unchanged) when r
// must go through encoding/json.
func (r *Record) appendJSON(b []byte) (_ []byte, ok bool) {
	if len(r.Matchers) > 0 || !jsonFinite(r.Depth) || !jsonFinite(r.ActualDepth) || !jsonFinite(r.Recall) || !jsonFinite(r.AskedRate) ||
		!jsonPlainTime(r.ScheduledAt) || !jsonPlainTime(r.SentAt) {
		return b, false
	}
	w := jsonLine{b: b}
	w.b = append(w.b, '{')
	w.str("schema", r.Schema)
	w.int("seq", r.Seq)
	w.str("target", r.Target)
	w.strOmit("model", r.Model)
	w.int("stage", int64(r.Stage))
	w.str("stage_label", r.StageLabel)
	w.boolOmit("warmup", r.Warmup)
	w.str("case_id", r.CaseID)
	w.str("task", r.Task)
	w.int("length", int64(r.Length))
	w.float("depth", r.Depth)
	w.float("actual_depth", r.ActualDepth)
	w.int("needle_token_index", int64(r.NeedleTokenIndex))
	w.int("repeat", int64(r.Repeat))
	w.key("expected")
	if r.Expected == nil {
		w.b = append(w.b, "null"...)
	} else {
		w.b = append(w.b, '[')
		for i, e := range r.Expected {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = jsonstr.AppendNoHTML(w.b, e)
		}
		w.b = append(w.b, ']')
	}
	w.strOmit("canary_head", r.CanaryHead)
	w.strOmit("canary_tail", r.CanaryTail)
	w.time("scheduled_at", r.ScheduledAt)
	w.time("sent_at", r.SentAt)
	w.seconds("send_lag", r.SendLag)
	w.secondsOmit("ttfb", r.TTFB)
	w.secondsOmit("ttft", r.TTFT)
	w.secondsOmit("e2e", r.E2E)
	w.secondsOmit("e2e_sched", r.E2ESched)
	if len(r.ChunkGaps) > 0 {
		w.key("chunk_gaps")
		w.b = append(w.b, '[')
		for i, g := range r.ChunkGaps {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = appendSeconds(w.b, g)
		}
		w.b = append(w.b, ']')
	}
	w.boolOmit("chunk_gaps_truncated", r.ChunkGapsTruncated)
	w.secondsOmit("tpot", r.TPOT)
	w.int("prompt_tokens_client", int64(r.PromptTokensClient))
	w.intOmit("prompt_tokens_server", int64(r.PromptTokensServer))
	w.int("output_tokens", int64(r.OutputTokens))
	w.intOmit("cached_tokens", int64(r.CachedTokens))
	w.boolOmit("output_tokens_estimated", r.OutputTokensEstimated)
	w.strOmit("usage_invalid", r.UsageInvalid)
	w.strOmit("finish_reason", r.FinishReason)
	w.intOmit("status", int64(r.Status))
	w.intOmit("bytes_out", r.BytesOut)
	w.intOmit("bytes_in", r.BytesIn)
	w.strOmit("error_class", r.ErrorClass)
	w.strOmit("error", r.Error)
	w.secondsOmit("retry_after", r.RetryAfter)
	w.str("answer", r.Answer)
	w.boolOmit("answer_truncated", r.AnswerTruncated)
	w.intOmit("answer_bytes", r.AnswerBytes)
	w.boolOmit("reasoning_truncated", r.ReasoningTruncated)
	w.intOmit("reasoning_bytes", r.ReasoningBytes)
	// The embedded probes.Verdict's members, in its order.
	w.bool("correct", r.Correct)
	w.float("recall", r.Recall)
	w.bool("any", r.Any)
	w.bool("null", r.Null)
	w.str("attribution", r.Attribution)
	w.strOmit("miss", r.Miss)
	if r.AskedRate != 0 {
		w.float("asked_rate", r.AskedRate)
	}
	w.boolOmit("held_back", r.HeldBack)
	w.strOmit("server_request_id", r.ServerRequestID)
	w.strOmit("task_type", r.TaskType)
	w.intOmit("chunks", int64(r.Chunks))
	w.strOmit("response_id", r.ResponseID)
	w.intOmit("pad_to", int64(r.PadTo))
	w.b = append(w.b, '}', '\n')
	return w.b, true
}

// jsonLine writes the members of one JSON object.
type jsonLine struct {
	b    []byte
	more bool // a member was written: the next one takes a comma
}

func (w *jsonLine) key(k string) {
	if w.more {
		w.b = append(w.b, ',')
	}
	w.more = true
	w.b = append(w.b, '"')
	w.b = append(w.b, k...) // the keys are plain ASCII
	w.b = append(w.b, '"', ':')
}

func (w *jsonLine) str(k, v string) {
	w.key(k)
	w.b = jsonstr.AppendNoHTML(w.b, v)
}

func (w *jsonLine) strOmit(k, v string) {
	if v != "" {
		w.str(k, v)
	}
}

func (w *jsonLine) int(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

func (w *jsonLine) intOmit(k string, v int64) {
	if v != 0 {
		w.int(k, v)
	}
}

func (w *jsonLine) bool(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
}

func (w *jsonLine) boolOmit(k string, v bool) {
	if v {
		w.bool(k, v)
	}
}

func (w *jsonLine) float(k string, v float64) {
	w.key(k)
	w.b = appendFloat(w.b, v)
}

func (w *jsonLine) seconds(k string, v Seconds) {
	w.key(k)
	w.b = appendSeconds(w.b, v)
}

func (w *jsonLine) secondsOmit(k string, v Seconds) {
	if v != 0 {
		w.seconds(k, v)
	}
}

// time writes t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds), for a time jsonPlainTime accepts.
func (w *jsonLine) time(k string, t time.Time) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = t.AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')
}

// jsonFinite reports whether encoding/json writes f (it refuses NaN and
// the infinities).
func jsonFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// jsonPlainTime reports whether time.Time's MarshalJSON writes t as
// AppendFormat with RFC3339Nano does: it refuses years outside 0 to 9999
// and offsets with seconds.
func jsonPlainTime(t time.Time) bool {
	_, offset := t.Zone()
	return t.Year() >= 0 && t.Year() <= 9999 && offset%60 == 0
}
