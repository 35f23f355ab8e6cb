package loadgen

import (
	"context"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/run"
)

// Target is what the dispatcher sends through: package endpoint's targets
// (HTTP, one per API dialect) and test fakes.
type Target interface {
	// Name identifies the target in records and reports.
	Name() string
	// Send sends c, streams the answer, and fills the response fields of
	// rec (see endpoint.Target). The dispatcher fills the Case identity,
	// ScheduledAt, SendLag, E2ESched and the verdict.
	Send(ctx context.Context, c *corpus.Case, rec *run.Record)
}
