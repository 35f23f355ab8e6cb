package loadgen

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sharding: several processes (on several machines, such as the pods of a
// Kubernetes Indexed Job) each build the same cases and the same schedule,
// and each sends its own share of every stage, so that together they send
// exactly what one process would have sent. Shard i of n sends request k of
// an open-loop stage when k mod n == i, at the time the stage's ideal clock
// gives it, and numbers it as one process would (its Seq is the stage's
// first Seq plus k), so the shards' records merge into one run with every
// sequence number once and every request's cache-busting nonce (Seq XOR
// the run's salt) what one process would have drawn. A closed-loop stage
// splits its concurrency (and its request count) between the shards: shard
// i runs the workers and sends the requests whose index k has k mod n == i.

// shardSpec is which share of every stage a dispatcher sends: index of count.
// The zero value (count 0) and count 1 send everything.
type shardSpec struct {
	index, count int
}

// Shard makes the dispatcher send only shard index's share of every stage,
// of count shards (0 <= index < count): request k of an open-loop stage
// when k mod count == index, numbered as a single process would number it,
// and of a closed-loop stage index's part of the concurrency and of the
// request count (see the package's sharding notes above). Every shard must
// be given the same cases, schedule, seed and nonce salt (NonceSalt: a salt
// drawn per process would give each shard other prompts than one process
// sends). The envelope search cannot be sharded: NewSearcher refuses a
// sharded configuration. Shard(0, 1) sends everything.
func Shard(index, count int) Option {
	return func(c *runConfig) { c.shard = shardSpec{index: index, count: count} }
}

// StartAt makes the dispatcher wait until t before its first stage, and
// start that stage's clock at t exactly, so that shards started apart
// begin their schedules at the same instant. A dispatcher that reaches its
// first stage after t starts at once, from its own time (sending the
// requests it is late for in a burst would measure a load nobody asked
// for), and tells the observers that implement StartObserver by how much
// it was late. The zero time does not wait.
func StartAt(t time.Time) Option { return func(c *runConfig) { c.startAt = t } }

// StartObserver is an optional capability of an Observer: a dispatcher
// given StartAt tells it when its first stage began and how late that was
// after the common start time (0 when it was on time).
type StartObserver interface {
	Began(at time.Time, late time.Duration)
}

// validate reports a shard that does not exist.
func (s shardSpec) validate() error {
	if s.count == 0 && s.index == 0 {
		return nil
	}
	if s.count < 1 || s.index < 0 || s.index >= s.count {
		return fmt.Errorf("shard %d of %d does not exist: the index must be from 0 to the shard count minus 1", s.index, s.count)
	}
	return nil
}

// sharded reports whether the dispatcher sends only part of the load.
func (s shardSpec) sharded() bool { return s.count > 1 }

// owns reports whether request k of an open-loop stage is this shard's.
func (s shardSpec) owns(k int) bool { return !s.sharded() || k%s.count == s.index }

// share is this shard's part of n things dealt out in turn (workers of a
// closed-loop stage, or its requests): n/count, plus one for the first
// n mod count shards.
func (s shardSpec) share(n int) int {
	if !s.sharded() {
		return n
	}
	q := n / s.count
	if s.index < n%s.count {
		q++
	}
	return q
}

// global is the stage-wide index of this shard's local request n in a
// closed-loop stage.
func (s shardSpec) global(n int) int {
	if !s.sharded() {
		return n
	}
	return n*s.count + s.index
}

// closedAdvance is how far a closed-loop stage that sent sent requests of
// this shard moves the sequence numbers on. A stage bounded by its request
// count alone has the same count in every shard and moves them on by it, as
// it does in one process; any other moves them on by count times what this
// shard sent, a multiple of count, so that every shard's numbers stay in
// its own residue class modulo count and never meet another shard's.
func (s shardSpec) closedAdvance(st Stage, sent int) int64 {
	if st.Requests > 0 && st.Duration == 0 && sent == s.share(st.Requests) {
		return int64(st.Requests)
	}
	return int64(s.count) * int64(sent)
}

var errShardedSearch = errors.New("the envelope search cannot be sharded: each step's rate is chosen from the whole previous step's results, which no shard has alone; run the search in one process, or give explicit stages")

// awaitStart waits for the common start time (StartAt), if one was given,
// and tells the StartObservers; it returns early when ctx ends, which stops
// the run before its first stage. When the dispatcher was on time and the
// first stage is open loop (firstOpen), that stage's clock starts at the
// start time exactly (see stageStart).
func (r *dispatch) awaitStart(ctx context.Context, firstOpen bool) {
	at := r.d.cfg.startAt
	if at.IsZero() {
		return
	}
	late := time.Since(at)
	if late <= 0 {
		timer := time.NewTimer(time.Hour)
		defer timer.Stop()
		if !sleepUntil(ctx, timer, at, r.d.cfg.spin) {
			return
		}
		late = 0
		if firstOpen {
			r.origin = at
		}
	}
	began := at.Add(late)
	for _, o := range r.d.cfg.observers {
		if so, ok := o.(StartObserver); ok {
			so.Began(began, late)
		}
	}
}

// closedSeq numbers this shard's local request n of a closed-loop stage
// whose numbers follow base: as one process would when the stage is not
// sharded (in the order requests are sent), else by the request's
// stage-wide index.
func (r *dispatch) closedSeq(base, n int64) int64 {
	if !r.d.cfg.shard.sharded() {
		return r.d.seq.Add(1)
	}
	return base + int64(r.d.cfg.shard.global(int(n))) + 1
}

// stageStart is the instant an open-loop stage's clock starts: the common
// start time for the first stage of a dispatcher that waited for it, now
// otherwise.
func (r *dispatch) stageStart() time.Time {
	if at := r.origin; !at.IsZero() {
		r.origin = time.Time{}
		return at
	}
	return time.Now()
}
