// Package loadgen is the load engine: schedules of stages (open loop at a
// rate: constant, Poisson, ramp, sine; closed loop at a concurrency), their
// pacers (vegeta's where it has one), the Dispatcher that sends Cases to a
// Target on a schedule and writes one run.Record per request, the Session
// and Runner that dispatch into a run directory, and the envelope search
// (per length, the highest rate that holds every objective).
//
// It holds no HTTP and no file formats: targets come from package endpoint
// (or tests) through the small Target interface, records go to a run.Sink.
// It must not import endpoint, campaign, reports or live. Import direction:
// loadgen → run → probes → corpus.
package loadgen
