// Package testkit holds the test servers and fakes that several packages'
// tests share: an in-process fake target, an in-memory record sink, a
// builder of small Cases, a starter of the built-in simulator on loopback,
// and a loopback HTTP server that records its requests. Each lives here
// once instead of as a copy per package.
//
// It is imported only from _test.go files (internal/layout checks this).
// It may import run, probes, corpus and sim, and must not import loadgen,
// endpoint, live, reports or campaign: their own in-package tests import
// testkit, so importing them back would be a cycle. A FakeTarget satisfies
// loadgen.Target by its method set alone. Every server it starts listens
// on 127.0.0.1 and stops when its test ends.
package testkit
