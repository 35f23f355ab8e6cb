// Package testkit holds the test servers and fakes that several packages'
// tests share: an in-process fake target, an in-memory record sink, a
// builder of small Cases, a starter of the built-in simulator on loopback,
// a loopback HTTP server that records its requests, and Binary, which finds
// a real component's binary (VictoriaMetrics, promtool, Chromium) or skips
// the test saying what to install ($NEEDLESTORM_REQUIRE_BINARIES=1 fails
// it instead, as in CI). Each lives here
// once instead of as a copy per package.
//
// It is imported only from _test.go files (internal/layout checks this).
// It may import run, probes, corpus and sim, and must not import loadgen,
// endpoint, live, reports or campaign: their own in-package tests import
// testkit, so importing them back would be a cycle. A FakeTarget satisfies
// loadgen.Target by its method set alone. Every server it starts listens
// on 127.0.0.1 and stops when its test ends.
package testkit
