// Package live shows a run while it runs: the progress display (a redrawn
// block on a terminal, its lines cut to the terminal's width by display
// width with github.com/mattn/go-runewidth; a line every few seconds
// elsewhere) and live metrics
// (github.com/VictoriaMetrics/metrics, in the Prometheus text format with
// # HELP, # TYPE and le histograms, served on /metrics or pushed to
// VictoriaMetrics' import path). Both are loadgen.Observers.
//
// It must not import endpoint, campaign or reports. Import direction:
// live → loadgen → run → probes → corpus.
package live
