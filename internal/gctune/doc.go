// Package gctune sets the Go garbage collector of a needlestorm process for
// pacing.
//
// With Go's default (GOGC=100) a process that allocates for every request
// collects many times a second, and each collection's mark phase takes one
// of the machine's cores for a while: on a 2-core machine the sender then
// waits behind the simulator's and the readers' goroutines, and send lag p99
// at 2,000 req/s is 1.2–1.9 ms instead of 0.2–0.5 ms. Collecting rarely, in
// a heap allowed to grow to a bounded size, removes most of those waits.
//
// Apply therefore turns the proportional collector off and collects when the
// heap reaches a soft limit instead: a quarter of the memory the process may
// use (its cgroup's limit, else the machine's), at most MaxLimit. Should the
// live heap ever pass half of that limit (a run holding very long prompts),
// collecting only at the limit would collect almost continuously, so a
// Guard puts the proportional collector back (GOGC=100, the limit kept).
//
// A user who sets GOGC or GOMEMLIMIT chooses for themselves: Apply then
// changes nothing.
//
// It imports no needlestorm package: main applies it before anything runs,
// and benchmarks apply it to measure what the command line measures.
package gctune
