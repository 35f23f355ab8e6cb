package endpoint

import (
	"context"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/run"
)

// Target is one LLM endpoint spoken to in one API dialect. It is what the
// load engine sends through (it satisfies loadgen.Target).
type Target interface {
	// Name identifies the target in records and reports.
	Name() string
	// Send sends c's messages, streams the answer, and fills the response
	// fields of rec: SentAt (set just before the request is written), TTFB,
	// TTFT, E2E, ChunkGaps, TPOT, the token counts, FinishReason, Status,
	// ErrorClass, Error, RetryAfter and Answer. It never retries, and it
	// never puts an API key in rec. The caller fills the Case identity,
	// ScheduledAt, SendLag, E2ESched and the verdict.
	Send(ctx context.Context, c *corpus.Case, rec *run.Record)
	// Config is the target's configuration with its defaults filled in.
	Config() TargetConfig
	// Close releases the target's idle connections.
	Close() error
}
