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

// RenonceSender is a Target that can send a Case with its cache-busting
// preamble replaced (corpus.Renonce) by writing the new preamble straight
// into the request: the dispatcher then sends every repeat of a Case
// without a copy of its prompt. endpoint's targets are RenonceSenders;
// to any other Target the dispatcher sends the re-nonced copy.
type RenonceSender interface {
	Target
	// SendRenonced is Send of r applied to c (r.Apply(c)).
	SendRenonced(ctx context.Context, c *corpus.Case, r corpus.Renonce, rec *run.Record)
}
