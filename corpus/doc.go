// Package corpus makes needle-in-a-haystack prompts of an exact length in
// client tokens, and reads them back the way a perfect reader would.
//
// # Pieces
//
//   - Tokenizer (tokenizer.go): tiktoken cl100k_base or o200k_base from the
//     embedded offline loader, one shared encoder per encoding; never
//     touches the network.
//   - Haystacks (haystack.go, prose.go): "prose", generated English
//     paragraphs on 24 topics (no digits, no colons, none of the key, value,
//     canary or preamble words); "noise", RULER's repeated sentences
//     (NoiseText); "dir:PATH", the .txt and .md files directly in PATH, in
//     name order, joined by blank lines and repeated when short.
//   - Tasks (task.go, needles.go), RULER's names: single, multikey,
//     multivalue, multiquery and chain. Needles read "One of the special
//     magic numbers for happy-falcon is: 4829173." (also uuids and words);
//     the question ends the prompt with an answer prefix ("Answer: The
//     special magic number for happy-falcon mentioned in the provided text
//     is"). chain is RULER's variable tracking: "VAR QXRTV = 52841." then
//     "VAR HLMPA = VAR QXRTV." and so on for N hops, plus a distractor chain
//     of the same shape with another value; the question asks for the number
//     held by the last variable of the real chain, and the expected answer is
//     that number.
//   - Assembly (builder.go): a Builder holds one haystack tokenized once for
//     its (haystack, encoding, seed); Build slices it.
//   - Matrix (matrix.go): tasks × lengths × depths × samples in a stable
//     order.
//   - Datasets (dataset.go, matcher.go): the user's own cases, JSON Lines
//     of id, task_type, messages or prompt, max_tokens and expected (one
//     or more matchers: equals, contains, regex, one_of, json, number;
//     probes scores them). ReadDataset refuses a bad line with its line
//     number and field, an empty dataset, a repeated id and a matcher no
//     answer could pass; Dataset.Build makes Cases of Task "dataset".
//   - ReadPrompt (reading.go): what a perfect reader finds in a possibly
//     truncated prompt; used by the simulator.
//
// # Prompt layout
//
// A Case has two messages. The system message is SystemPrompt, the same for
// every Case. The user message is, in order:
//
//	Archive reference w-w-w-w-w.\n\n          (unless SharedPrefix)
//	The opening passphrase is: WORD.\n\n      (with Canaries)
//	haystack, with the needle sentences inserted at sentence boundaries,
//	ending in a partial sentence cut to fit, ".\n\n"
//	The closing passphrase is: WORD.\n\n      (with Canaries)
//	Question: ...?[ Also, what are the opening passphrase and the closing passphrase?]\n
//	Answer: <answer prefix>
//
// The preamble's five words come from the seed and the Case id, so every
// Case of a matrix starts differently. Repeats of one Case would still send
// byte-identical prompts, so the dispatcher sends each request
// Case.WithNonce(seq), seq being the request's Record.Seq: the preamble's
// words are redrawn from (seed, Case id, nonce) among words whose token
// counts add up to the original's, so the prompt keeps its exact length and
// every other field of the Case holds. Server prefix caches then cannot make
// a long prompt cheap; SharedPrefix leaves the preamble out to measure the
// cached case on purpose. A record's prompt is rebuilt from its Case and its
// seq; no other nonce is stored.
//
// # Exact length
//
// The length is the sum of the client token counts of the two message
// contents (each counted on its own). The haystack is cut only at "clean
// cuts", positions where the pre-tokenizer of both encodings always splits
// whatever comes before or after: before " X" (a space then a letter) after
// a sentence end, or after a newline before a character that is neither
// white space nor "/". Everything inserted starts with " X" or follows a
// newline, and ends with a sentence end or "\n\n". Token counts of the pieces
// therefore add up exactly; Build encodes only its own short insertions and
// the sentences on both sides of every join (to prove each join clean), and
// closes the haystack with the start of a following sentence, cut at a word,
// whose count makes the total exact. Tests re-count whole prompts; the
// Verify option does so on every Build.
//
// # Depth and needle index
//
// Depth is measured in haystack tokens only (the haystack between the
// opening marker and the closing marker, without needles): 0 is before the
// first haystack sentence, 100 after the last. The needle that answers the
// question (for multivalue the first value, for multiquery the first key
// asked, for chain the assignment of the number) goes to the sentence
// boundary nearest the requested depth; other needle sentences (distractor
// keys, further values and keys, the other chain assignments) go to random
// boundaries, chain assignments after the first in chain order.
// Case.ActualDepth is the percentage of haystack tokens before that needle,
// rounded to 0.01. Case.NeedleTokenIndex is the index of the needle
// sentence's first token among the tokens of all message contents in order
// (the system content's, then the user content's, each content encoded on
// its own); a needle inside a sentence run starts with " One", after a blank
// line with "One".
//
// # Determinism
//
// Everything follows from (seed, task, length, depth, sample, value kind,
// keys) and the haystack and encoding: the same inputs give byte-identical
// Cases, in any order and from any Builder.
package corpus
