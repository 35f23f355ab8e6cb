// Package run owns a run directory and its data model: the Record written
// for every request (needlestorm.record/v1), the records.jsonl writer and
// reader, the Manifest (needlestorm.manifest/v1), the results of an envelope
// search as the manifest keeps them, and the Session that writes a run
// directory while requests complete. The writer never writes a line its
// reader refuses: a record too long is cut and marked (recordcap.go).
//
// Every consumer of runs (reports, comparison, routing, merging shards)
// reads them through this package alone. It must not import the load
// engine (loadgen), the HTTP dialects (endpoint), live output (live) or any
// HTTP client: rendering a report never pulls in one. Import direction:
// run → probes → corpus.
package run
