// Package scrape reads a target's own Prometheus endpoint during a run
// (a target's server_metrics): a Scraper GETs the URL every interval,
// keeps the few series that explain a load curve (vLLM's, llama.cpp's and
// TGI's queue depth, KV-cache usage and prefix-cache counters, see names.go),
// normalises them into neutral series (run.SeriesRunning, ...) beside their
// raw names, and hands them to a sink as run.ServerSamples. A failed scrape
// is a sample too, with its error, and never stops the run.
//
// Its layer is loadgen's and endpoint's: it imports run and
// internal/termsafe only, and campaign wires it into a target's turn.
package scrape
