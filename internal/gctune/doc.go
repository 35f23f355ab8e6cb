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
// use (its cgroup's limit, else the machine's), at most MaxLimit (256 MiB:
// a heap allowed to grow further pages in fresh memory from the kernel for
// its whole first growth, which a 10 s stage at 10,000 requests/s spends
// most of its time in; with 1 GiB the command line completed 7% and 30%
// fewer requests per second than with 256 MiB in two series of
// alternating runs, and pacing was no better). Should the
// live heap ever pass half of that limit (a run holding very long prompts),
// collecting only at the limit would collect almost continuously, so a
// Guard puts Go's defaults back: GOGC=100 and no memory limit (with the
// limit kept, GOGC=100 would still collect each time the room left under
// it filled up).
//
// A user who sets GOGC or GOMEMLIMIT chooses for themselves: Apply then
// changes nothing.
//
// It imports no needlestorm package: main applies it before anything runs,
// and benchmarks apply it to measure what the command line measures.
package gctune
