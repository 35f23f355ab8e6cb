package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// DefaultBarrierMargin is how long after the last shard is ready the shards
// begin, when they meet at a barrier: time for every shard to see the last
// one's file on a shared volume (network file systems cache directory
// listings for a second or more) and to wake up.
const DefaultBarrierMargin = 5 * time.Second

// barrierPoll is how often a shard waiting at a barrier looks for the others.
const barrierPoll = 100 * time.Millisecond

// barrierEntry is what a shard writes at a barrier.
type barrierEntry struct {
	Index   int       `json:"index"`
	Count   int       `json:"count"`
	ReadyAt time.Time `json:"ready_at"`
}

// Barrier makes the shards of a run agree on a common start time through a
// folder every one of them can read and write (a volume they share, such as
// a Kubernetes PersistentVolumeClaim), for when no start time was given to
// them: each shard, once ready to send, writes a file saying so into
// dir/<campaign hash>/ and waits until every shard's file is there. The
// start time is the latest shard's ready time plus margin; every shard
// reads the same files, so every shard computes the same time, whatever
// order they arrived in. Files of other runs (other campaign hashes) are
// in folders of their own and never meet. It returns the start time, or an
// error when ctx ends first (the caller bounds the wait) or the folder
// cannot be used.
func Barrier(ctx context.Context, dir, campaignHash string, s Shard, margin time.Duration) (time.Time, error) {
	if campaignHash == "" {
		return time.Time{}, errors.New("a barrier needs the run's campaign hash")
	}
	folder := filepath.Join(dir, campaignHash)
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return time.Time{}, fmt.Errorf("the barrier folder: %w", err)
	}
	me := barrierEntry{Index: s.Index, Count: s.Count, ReadyAt: time.Now().UTC()}
	if err := writeBarrierEntry(folder, me); err != nil {
		return time.Time{}, err
	}
	t := time.NewTicker(barrierPoll)
	defer t.Stop()
	for {
		latest, n, err := readBarrier(folder, s.Count)
		if err != nil {
			return time.Time{}, err
		}
		if n == s.Count {
			return latest.Add(margin), nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("waiting at the barrier in %s: %d of %d shards were ready: %w", folder, n, s.Count, context.Cause(ctx))
		case <-t.C:
		}
	}
}

// writeBarrierEntry writes a shard's file atomically, so that another shard
// never reads half of it.
func writeBarrierEntry(folder string, e barrierEntry) error {
	b, _ := json.Marshal(e) // plain fields: cannot fail
	tmp, err := os.CreateTemp(folder, ".ready-*")
	if err != nil {
		return fmt.Errorf("writing at the barrier: %w", err)
	}
	_, werr := tmp.Write(b)
	if err := errors.Join(werr, tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing at the barrier: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(folder, fmt.Sprintf("shard-%d.ready", e.Index))); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing at the barrier: %w", err)
	}
	return nil
}

// readBarrier returns the latest ready time of the shards whose file is in
// folder, and how many there are.
func readBarrier(folder string, count int) (time.Time, int, error) {
	var latest time.Time
	n := 0
	for i := range count {
		b, err := os.ReadFile(filepath.Join(folder, fmt.Sprintf("shard-%d.ready", i)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return time.Time{}, 0, fmt.Errorf("reading the barrier: %w", err)
		}
		var e barrierEntry
		if err := json.Unmarshal(b, &e); err != nil || e.Index != i {
			return time.Time{}, 0, fmt.Errorf("the barrier file of shard %d in %s is not one needlestorm wrote: remove it", i, folder)
		}
		if e.Count != count {
			return time.Time{}, 0, fmt.Errorf("shard %d at the barrier in %s is one of %d shards, this one of %d: give every shard the same count", i, folder, e.Count, count)
		}
		n++
		if e.ReadyAt.After(latest) {
			latest = e.ReadyAt
		}
	}
	return latest, n, nil
}
