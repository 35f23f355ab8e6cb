package sim

import (
	"fmt"
	"sort"
	"strings"
)

// profiles are the named deployments. Each number is a typical figure, not a
// measurement of a particular machine; override any of them from the command
// line or the campaign.
func profiles() map[string]Config {
	return map[string]Config{
		// fast is for tests: tiny latencies, large limits, faithful answers.
		"fast": {
			Model:            "sim-fast",
			Metadata:         MetadataVLLM, // window as max_model_len in /v1/models
			Encoding:         "cl100k_base",
			ContextWindow:    1_000_000, // tokens: nothing a test sends overflows
			Overflow:         OverflowReject,
			TemplateOverhead: 7,         // tokens, like an OpenAI chat template
			PrefillTPS:       1_000_000, // tokens/s: 1 ms per thousand prompt tokens
			DecodeTPS:        2_000,     // tokens/s per sequence: 0.5 ms per token
			DecodeAlpha:      0.001,     // almost no slowdown with concurrency
			BaseLatency:      0.001,     // seconds
			MaxSeqs:          1024,      // sequences at once
			Queue:            4096,      // waiting requests before 429
			RetryAfter:       1,         // seconds
			OutputTokens:     0,         // bare answers
			BaseAccuracy:     1,         // always right when the needle is there
			MiddleDip:        0,
			EffectiveLength:  0, // no length falloff
			LengthFalloff:    0,
			LoadPenalty:      0,
			SlowGap:          0.05, // seconds between chunks of a slow drip
			StallSeconds:     0.5,  // seconds of a stall
			// No prefix cache: tests see every prompt prefilled in full
			// unless they turn it on.
			PrefixCacheBlocks: 0,
			TimeScale:         1,
			Seed:              1,
		},
		// vllm-8b is an 8B model (Llama 3.1 8B class) served by vLLM on one
		// 80 GB GPU with --max-model-len 32768.
		"vllm-8b": {
			Model:            "sim-vllm-8b",
			Metadata:         MetadataVLLM, // window as max_model_len in /v1/models
			Encoding:         "cl100k_base",
			ContextWindow:    32_768, // tokens: --max-model-len
			Overflow:         OverflowReject,
			TemplateOverhead: 7,      // tokens of the Llama 3 chat template around one user turn, roughly
			PrefillTPS:       10_000, // tokens/s of prefill on one GPU
			DecodeTPS:        60,     // tokens/s per sequence at low load
			DecodeAlpha:      0.02,   // at 256 sequences each decodes at about 10 tokens/s (2,500 tokens/s in all)
			BaseLatency:      0.02,   // seconds of HTTP and scheduler overhead
			MaxSeqs:          256,    // --max-num-seqs
			Queue:            1024,   // vLLM queues without bound; past 1,024 waiting a proxy would shed load
			RetryAfter:       1,      // seconds
			OutputTokens:     0,
			BaseAccuracy:     0.97, // short prompts: nearly always right
			MiddleDip:        0.25, // up to 25% worse at mid depth at full length
			EffectiveLength:  16_000,
			LengthFalloff:    1.5, // about 0.47 of base accuracy at 32k
			LoadPenalty:      0.05,
			SlowGap:          2,  // seconds between chunks of a slow drip
			StallSeconds:     30, // seconds of a stall
			// --enable-prefix-caching (vLLM's default): the KV blocks left
			// free on the GPU. At 128 KiB of KV cache per token (32 layers,
			// 8 KV heads of 128, fp16) about 56 GB of an 80 GB GPU hold some
			// 420,000 tokens: 26,000 blocks of 16.
			PrefixCacheBlocks: 26_000,
			TimeScale:         1,
			Seed:              1,
		},
		// ollama-default is a small model under Ollama's defaults: num_ctx
		// 2,048 with the head of longer prompts silently dropped, few parallel
		// sequences, a consumer GPU or a CPU.
		"ollama-default": {
			Model:            "sim-ollama",
			Metadata:         MetadataOllama, // window in /api/show and /api/ps, not /v1/models
			TrainedContext:   131_072,        // what the model was trained for, unused by num_ctx
			Encoding:         "cl100k_base",
			ContextWindow:    2_048, // tokens: num_ctx
			Overflow:         OverflowTruncateLeft,
			TemplateOverhead: 10,    // tokens of a typical Modelfile template
			PrefillTPS:       1_500, // tokens/s
			DecodeTPS:        30,    // tokens/s per sequence
			DecodeAlpha:      0.3,   // 4 sequences each decode at about 16 tokens/s
			BaseLatency:      0.05,  // seconds
			MaxSeqs:          4,     // OLLAMA_NUM_PARALLEL (1 or 4 by memory)
			Queue:            512,   // OLLAMA_MAX_QUEUE
			RetryAfter:       1,     // seconds
			OutputTokens:     0,
			BaseAccuracy:     0.9,
			MiddleDip:        0.3,
			EffectiveLength:  1_500,
			LengthFalloff:    1,
			LoadPenalty:      0.05,
			SlowGap:          2,
			StallSeconds:     30,
			// No prefix cache across requests.
			PrefixCacheBlocks: 0,
			TimeScale:         1,
			Seed:              1,
		},
		// api-large is a hosted frontier model behind an API: long window,
		// slower start, occasional 429s and 5xxs.
		"api-large": {
			Model:            "sim-api-large",
			Metadata:         MetadataNone, // hosted APIs do not publish the window
			Encoding:         "cl100k_base",
			ContextWindow:    200_000, // tokens
			Overflow:         OverflowReject,
			TemplateOverhead: 7,     // tokens
			PrefillTPS:       5_000, // tokens/s seen by one request
			DecodeTPS:        50,    // tokens/s per sequence
			DecodeAlpha:      0.001, // the provider scales out: load barely shows
			BaseLatency:      0.5,   // seconds: network, auth, routing
			MaxSeqs:          64,    // concurrent requests allowed to this key
			Queue:            0,     // no queue: 429 at once past the concurrency limit
			RetryAfter:       5,     // seconds
			OutputTokens:     0,
			BaseAccuracy:     0.99,
			MiddleDip:        0.1,
			EffectiveLength:  100_000,
			LengthFalloff:    0.5,
			LoadPenalty:      0,
			Fault429:         0.01,  // rate limits
			Fault5xx:         0.005, // transient server errors
			FaultBroken:      0.002,
			FaultSlow:        0.005,
			FaultStall:       0.002,
			SlowGap:          1,  // seconds between chunks of a slow drip
			StallSeconds:     20, // seconds of a stall
			// Hosted APIs cache prompt prefixes automatically (OpenAI) or
			// on request (Anthropic); 131,072 blocks of 16 hold about 2.1
			// million tokens, ten prompts of the full window.
			PrefixCacheBlocks: 131_072,
			TimeScale:         1,
			Seed:              1,
		},
	}
}

// Profiles returns the names of the built-in profiles, sorted.
func Profiles() []string {
	p := profiles()
	names := make([]string, 0, len(p))
	for n := range p {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Profile returns the Config of a named profile.
func Profile(name string) (Config, error) {
	c, ok := profiles()[name]
	if !ok {
		return Config{}, fmt.Errorf("unknown simulator profile %q: use one of %s", name, strings.Join(Profiles(), ", "))
	}
	return c, nil
}
