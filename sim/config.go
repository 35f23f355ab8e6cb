package sim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/needlestorm/needlestorm/corpus"
)

// Overflow behaviours: what the server does with a prompt longer than its
// context window.
const (
	// OverflowReject answers 400 in the API's own error shape (vLLM,
	// llama.cpp, OpenAI, Anthropic).
	OverflowReject = "reject"
	// OverflowTruncateLeft silently keeps the tail of the prompt (Ollama).
	OverflowTruncateLeft = "truncate_left"
	// OverflowTruncateRight silently keeps the head of the prompt.
	OverflowTruncateRight = "truncate_right"
	// OverflowTruncateMiddle silently keeps the head and the tail, half the
	// window each, and drops the middle.
	OverflowTruncateMiddle = "truncate_middle"
)

// Overflows lists the overflow behaviours.
var Overflows = []string{OverflowReject, OverflowTruncateLeft, OverflowTruncateRight, OverflowTruncateMiddle}

// Metadata flavours: where the server publishes its context window, as the
// real servers do, so that preflight reads it the same way.
const (
	// MetadataVLLM lists the window as max_model_len in /v1/models.
	MetadataVLLM = "vllm"
	// MetadataLlamaCpp serves GET /props with
	// default_generation_settings.n_ctx and total_slots.
	MetadataLlamaCpp = "llamacpp"
	// MetadataOllama serves POST /api/show (parameters "num_ctx N",
	// model_info with the trained context_length) and GET /api/ps.
	MetadataOllama = "ollama"
	// MetadataNone publishes no window, as hosted APIs do.
	MetadataNone = "none"
)

// Metadatas lists the metadata flavours.
var Metadatas = []string{MetadataVLLM, MetadataLlamaCpp, MetadataOllama, MetadataNone}

// Config is every number of the simulated server. Times are in simulated
// seconds (multiplied by TimeScale to get wall time), token counts are
// tokens of Encoding, rates are tokens per second, probabilities are in
// [0, 1]. JSON keys are snake_case; the `help` tag is the one-line
// description the command line shows.
type Config struct {
	// Model is the model id listed by /v1/models. Requests may name any model.
	Model string `json:"model" help:"model id listed by /v1/models (requests may name any model)"`
	// Encoding is the tokenizer the server counts with.
	Encoding string `json:"encoding" help:"tokenizer encoding the server counts with"`

	// ContextWindow is the maximum prompt length in tokens, chat-template
	// overhead included.
	ContextWindow int `json:"context_window" help:"maximum prompt tokens, template overhead included"`
	// Overflow is what happens past ContextWindow: reject, truncate_left,
	// truncate_right or truncate_middle.
	Overflow string `json:"overflow" help:"past the window: reject, truncate_left, truncate_right or truncate_middle"`
	// TemplateOverhead is the chat template's own tokens, added to the
	// server's reported prompt tokens as real servers do (0 allowed).
	TemplateOverhead int `json:"template_overhead" help:"chat-template tokens added to reported prompt tokens"`

	// PrefillTPS is the prefill throughput in tokens per second, shared
	// equally by the requests prefilling at the same time.
	PrefillTPS float64 `json:"prefill_tps" help:"prefill tokens/s, shared by concurrent prefills"`
	// DecodeTPS is one sequence's decode speed in tokens per second when it
	// decodes alone.
	DecodeTPS float64 `json:"decode_tps" help:"decode tokens/s of a sequence decoding alone"`
	// DecodeAlpha is the decode slowdown per extra sequence: with n
	// sequences decoding together each runs at DecodeTPS/(1+DecodeAlpha*(n-1)).
	DecodeAlpha float64 `json:"decode_alpha" help:"decode slowdown per extra sequence: tps/(1+alpha*(n-1))"`
	// BaseLatency is a fixed per-request overhead in seconds before prefill
	// (HTTP, scheduling, network for hosted APIs).
	BaseLatency float64 `json:"base_latency" help:"fixed seconds before prefill (HTTP, scheduling, network)"`
	// MaxSeqs is the number of sequences processed at once.
	MaxSeqs int `json:"max_seqs" help:"sequences processed at once"`
	// Queue is the number of requests that may wait for a slot; past it the
	// server answers 429.
	Queue int `json:"queue" help:"requests that may wait for a slot; 429 past it"`
	// RetryAfter is the Retry-After header of a 429, in whole seconds.
	RetryAfter int `json:"retry_after" help:"Retry-After seconds sent with 429s"`
	// OutputTokens pads answers with a neutral closing sentence up to this
	// many tokens (0 = the bare answer, typically 10 to 30 tokens).
	OutputTokens int `json:"output_tokens" help:"pad answers to this many tokens (0 = bare answer)"`

	// BaseAccuracy is the probability of a right answer for a short prompt
	// at either end of the context, with an empty queue.
	BaseAccuracy float64 `json:"base_accuracy" help:"probability of a right answer, short prompt, idle server"`
	// MiddleDip is how much accuracy drops for a needle in the middle of the
	// context ("lost in the middle"): the factor is 1 - MiddleDip*4d(1-d)*s
	// for depth d in [0,1], where s = min(1, length/EffectiveLength).
	MiddleDip float64 `json:"middle_dip" help:"accuracy lost at mid depth (U shape), growing with length"`
	// EffectiveLength is the kept prompt length in tokens past which accuracy
	// falls off (0 = never).
	EffectiveLength int `json:"effective_length" help:"tokens past which accuracy falls (0 = never)"`
	// LengthFalloff is the fall past EffectiveLength: the factor is
	// exp(-LengthFalloff*(length/EffectiveLength-1)).
	LengthFalloff float64 `json:"length_falloff" help:"accuracy factor exp(-falloff*(len/effective-1)) past it"`
	// LoadPenalty is the accuracy lost under a deep queue: the factor is
	// 1 - LoadPenalty*q/(q+MaxSeqs) for q requests queued ahead on arrival.
	LoadPenalty float64 `json:"load_penalty" help:"accuracy lost as queue grows: 1-penalty*q/(q+max_seqs)"`

	// Fault429 is the probability of an injected 429.
	Fault429 float64 `json:"fault_429" help:"probability of an injected 429"`
	// Fault5xx is the probability of an injected 500 or 503 (half each).
	Fault5xx float64 `json:"fault_5xx" help:"probability of an injected 500 or 503"`
	// FaultBroken is the probability that a stream breaks midway (the
	// connection closes without [DONE] or message_stop).
	FaultBroken float64 `json:"fault_broken" help:"probability a stream breaks midway"`
	// FaultSlow is the probability of a slow drip: every gap between chunks
	// becomes SlowGap seconds.
	FaultSlow float64 `json:"fault_slow" help:"probability of a slow drip (slow_gap between chunks)"`
	// FaultStall is the probability of a stall: StallSeconds of silence
	// before the first token.
	FaultStall float64 `json:"fault_stall" help:"probability of a stall before the first token"`
	// SlowGap is the gap between chunks of a slow drip, in seconds.
	SlowGap float64 `json:"slow_gap" help:"seconds between chunks of a slow drip"`
	// StallSeconds is the pause before the first token of a stall.
	StallSeconds float64 `json:"stall_seconds" help:"seconds of silence before the first token of a stall"`

	// PrefixCacheBlocks is the size of the automatic prefix cache in blocks
	// of PrefixBlockTokens (16) prompt tokens, least recently used evicted
	// first; 0 turns it off. A request reuses the longest run of its
	// leading blocks already cached: its prefill skips those tokens, and its
	// usage reports them as cached_tokens (OpenAI) or
	// cache_read_input_tokens (Anthropic).
	PrefixCacheBlocks int `json:"prefix_cache_blocks" help:"prompt-prefix blocks of 16 tokens kept in an LRU prefix cache (0 = none)"`

	// TimeScale maps simulated seconds to wall seconds: 1 = real time,
	// 0.01 = 100 times faster, 0 = never sleep.
	TimeScale float64 `json:"time_scale" help:"wall seconds per simulated second (0 = never sleep)"`
	// Seed makes answers and faults repeat.
	Seed int64 `json:"seed" help:"seed of answers and faults"`
	// Metadata is where the window is published: vllm (the default when
	// empty), llamacpp, ollama or none.
	Metadata string `json:"metadata,omitempty" help:"where the context window is published: vllm (/v1/models max_model_len), llamacpp (/props), ollama (/api/show, /api/ps) or none"`
	// TrainedContext is the model's trained context length that ollama
	// metadata reports in model_info (0: the window).
	TrainedContext int `json:"trained_context,omitempty" help:"trained context length Ollama's /api/show reports (0: the window)"`

	// Dataset names a dataset file of the user's own cases (corpus
	// DatasetCase JSON Lines) whose expected answers the server knows: a
	// request whose messages are one of its cases gets that case's right
	// answer with probability TaskAccuracy of its task type (BaseAccuracy
	// for a type not listed), times the load factor, and a wrong one
	// otherwise (see answerCase).
	Dataset      string       `json:"dataset,omitempty" help:"dataset file (JSONL) whose cases the server answers from their expected answers"`
	TaskAccuracy TaskAccuracy `json:"task_accuracy,omitempty" help:"probability of a right answer per dataset task type, such as extraction=0.9,code=0.6"`

	// WrongMix weighs the kinds of wrong answers: partial, distractor,
	// not_found, hallucinated (see WrongMix; empty: DefaultWrongMix).
	WrongMix WrongMix `json:"wrong_mix,omitempty" help:"weights of the kinds of wrong answers, such as distractor=0.4,not_found=0.3,hallucinated=0.3 (kinds: partial, distractor, not_found, hallucinated)"`
}

// Validate reports the first thing wrong with c, phrased for the user who
// set it.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if strings.TrimSpace(c.Model) == "" {
		bad("model must not be empty")
	}
	if _, err := corpus.GetTokenizer(c.Encoding); err != nil {
		errs = append(errs, fmt.Errorf("encoding: %w", err))
	}
	if c.ContextWindow < 1 {
		bad("context_window must be at least 1 token, got %d", c.ContextWindow)
	}
	if !validOverflow(c.Overflow) {
		bad("overflow %q is not one of %s", c.Overflow, strings.Join(Overflows, ", "))
	}
	if c.Metadata != "" && !slices.Contains(Metadatas, c.Metadata) {
		bad("metadata %q is not one of %s", c.Metadata, strings.Join(Metadatas, ", "))
	}
	if c.TrainedContext < 0 {
		bad("trained_context must not be negative, got %d", c.TrainedContext)
	}
	if c.TemplateOverhead < 0 || c.TemplateOverhead >= c.ContextWindow && c.ContextWindow > 0 {
		bad("template_overhead must be in [0, context_window), got %d", c.TemplateOverhead)
	}
	positive := map[string]float64{"prefill_tps": c.PrefillTPS, "decode_tps": c.DecodeTPS}
	for _, k := range []string{"prefill_tps", "decode_tps"} {
		if v := positive[k]; !(v > 0) || math.IsInf(v, 0) {
			bad("%s must be a positive number of tokens per second, got %v", k, v)
		}
	}
	nonNeg := []struct {
		name string
		v    float64
	}{
		{"decode_alpha", c.DecodeAlpha}, {"base_latency", c.BaseLatency}, {"slow_gap", c.SlowGap},
		{"stall_seconds", c.StallSeconds}, {"time_scale", c.TimeScale}, {"length_falloff", c.LengthFalloff},
	}
	for _, f := range nonNeg {
		if !(f.v >= 0) || math.IsInf(f.v, 0) {
			bad("%s must be zero or positive, got %v", f.name, f.v)
		}
	}
	if c.MaxSeqs < 1 {
		bad("max_seqs must be at least 1, got %d", c.MaxSeqs)
	}
	if c.Queue < 0 {
		bad("queue must be zero or positive, got %d", c.Queue)
	}
	if c.RetryAfter < 0 {
		bad("retry_after must be zero or positive, got %d", c.RetryAfter)
	}
	if c.OutputTokens < 0 {
		bad("output_tokens must be zero or positive, got %d", c.OutputTokens)
	}
	if c.PrefixCacheBlocks < 0 {
		bad("prefix_cache_blocks must be zero (no prefix cache) or positive, got %d", c.PrefixCacheBlocks)
	}
	if c.EffectiveLength < 0 {
		bad("effective_length must be zero or positive, got %d", c.EffectiveLength)
	}
	probs := []struct {
		name string
		v    float64
	}{
		{"base_accuracy", c.BaseAccuracy}, {"middle_dip", c.MiddleDip}, {"load_penalty", c.LoadPenalty},
		{"fault_429", c.Fault429}, {"fault_5xx", c.Fault5xx}, {"fault_broken", c.FaultBroken},
		{"fault_slow", c.FaultSlow}, {"fault_stall", c.FaultStall},
	}
	for _, p := range probs {
		if !(p.v >= 0 && p.v <= 1) {
			bad("%s must be a probability in [0, 1], got %v", p.name, p.v)
		}
	}
	if _, err := c.TaskAccuracy.Parse(); err != nil {
		errs = append(errs, fmt.Errorf("task_accuracy: %w", err))
	}
	if _, err := c.WrongMix.Parse(); err != nil {
		errs = append(errs, fmt.Errorf("wrong_mix: %w", err))
	}
	if sum := c.Fault429 + c.Fault5xx + c.FaultBroken + c.FaultSlow + c.FaultStall; sum > 1+1e-9 {
		bad("the fault probabilities add up to %.3g; their sum must be at most 1", sum)
	}
	return errors.Join(errs...)
}

func validOverflow(s string) bool {
	for _, o := range Overflows {
		if s == o {
			return true
		}
	}
	return false
}
