// Package endpoint talks to one LLM endpoint: the target configuration, the
// OpenAI chat-completions and Anthropic Messages dialects (streaming,
// timed) over one stream loop that bounds what a record keeps and how far
// a stream is read (stream.go), lenient usage counts (usage.go), the
// instrumented HTTP client, the server-sent-events reader,
// error classification, the redaction of secrets, and preflight (is the
// server there, does it serve the model, what is its context window, how
// does it count tokens).
//
// A Target fills a run.Record for every request it sends and never
// retries: a 429 is a measurement. It must not import the load engine
// (loadgen), campaigns, reports or live output. Import direction:
// endpoint → run → probes → corpus.
package endpoint
