// Package sim is needlestorm's built-in simulated model server: an OpenAI-
// and Anthropic-compatible HTTP server whose behaviour follows a small
// physical model, so that every part of needlestorm can be run, tested and
// demonstrated with no model and no GPU.
//
// The server tokenizes each prompt, applies its context window (rejecting or
// silently truncating), reads what survived with corpus.ReadPrompt, and
// answers from that only, right or wrong with a probability that depends on
// the kept length, the needle's depth and the load. Its timing follows a
// discrete scheduler:
//
//   - a request waits in a bounded FIFO queue for one of MaxSeqs sequence
//     slots (429 with Retry-After when the queue is full);
//   - prefill runs at PrefillTPS tokens per second, shared equally by the
//     requests prefilling at the same time, after a fixed BaseLatency; with
//     a prefix cache (PrefixCacheBlocks), the leading blocks of 16 prompt
//     tokens that an earlier request left in the cache cost nothing and are
//     reported as cached tokens in usage;
//   - each sequence then decodes at DecodeTPS / (1 + DecodeAlpha*(n-1))
//     tokens per second, where n is the number of sequences decoding together;
//   - the first token leaves when prefill ends; every further token one decode
//     interval later.
//
// Timings are planned when a request gets its slot, from the load at that
// moment, and reported in X-Sim-* response headers in simulated seconds.
// TimeScale maps simulated time to wall time: 1 is real time, 0.01 is 100
// times faster, and 0 never sleeps (the numbers are still computed).
//
// Per-request randomness (the answer's correctness, the faults) is a function
// of the seed, the prompt's hash and how many times that prompt was seen
// before, never of arrival order among different prompts, so concurrency does
// not change answers. A request with temperature 0 is answered as if it were
// the first time its prompt was seen (greedy decoding); its faults, which
// are the server's doing and not the model's, are still drawn afresh for
// every repeat, so they show at their configured rates however few distinct
// prompts a client sends.
//
// Given a dataset of the user's own cases (Config.Dataset, see dataset.go),
// the server recognises a request whose message contents are one of its
// cases and answers it from the case's expected answers: right (an answer
// made from its matchers) with probability TaskAccuracy of its task type
// times the load factor, never when its prompt was truncated; wrong
// otherwise (another label, another number of the prompt, an invented
// number, part of a list, or "not found").
//
// The harder needle tasks have their own curves (accuracy.go): a latent
// question (the needle shares no word with it) is answered right with
// LatentAccuracy, single's curve at four times the length, squared, and
// otherwise with another character of the prompt; each of a cwe question's
// most common words is named with CWEAccuracy, single's curve at twice the
// length and mid depth, and a missed one is replaced by a less common word
// of the list.
//
// A wrong answer's kind is drawn from WrongMix (partial, distractor,
// not_found, hallucinated) among the kinds its prompt allows; an invented
// value has the asked kind and appears nowhere in the prompt, so that
// probes.ClassifyMiss finds the kind the mix gave.
package sim
