// Package live shows a run while it runs: the progress display (a redrawn
// block on a terminal, a line every few seconds elsewhere) and live metrics
// (github.com/VictoriaMetrics/metrics, served on /metrics or pushed to
// VictoriaMetrics). Both are loadgen.Observers.
//
// It must not import endpoint, campaign or reports. Import direction:
// live → loadgen → run → probes → corpus.
package live
