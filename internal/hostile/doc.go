// Package hostile is a loopback LLM server that misbehaves on purpose, for
// the tests that check needlestorm survives what real servers do wrong:
// every Behaviour is one named, documented misbehaviour (an answer without
// whitespace and without usage, a stream that ignores max_tokens, a key
// quoted back, terminal escapes in model ids, absurd usage, far Retry-After
// values, gzip, slowloris headers, a 100 MB line, a reset in mid-stream ...).
//
// A Server speaks enough of the OpenAI chat completions API (POST
// /v1/chat/completions, GET /v1/models, llama.cpp's GET /health) and of
// Anthropic's Messages API (POST /v1/messages) for a target to talk to it.
// It listens on 127.0.0.1 only. It never holds more than a few buffers of
// what it sends, however much that is (long bodies are generated as they
// are written), stops writing when the client goes away, and Close ends
// every handler it started, hijacked connections included.
//
// It is imported only from _test.go files (internal/layout checks this)
// and uses the standard library alone.
package hostile
