// Package layout holds no code: its tests check the module's package
// layout. Rendering a report (reports, run, route) pulls in no HTTP client,
// load engine or metrics library; no package imports upwards against the
// direction cmd → campaign → (reports, route, loadgen, endpoint, live,
// sim) → run → probes → corpus; internal/testkit is imported only from
// tests; no package holds more than a quarter of the module's non-test
// lines; and every package says in a doc.go what it holds.
//
// It must not be imported by anything.
package layout
