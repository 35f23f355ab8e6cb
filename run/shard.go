package run

import (
	"fmt"
	"time"
)

// A sharded run is one run sent by several processes: each builds the same
// cases and schedule from the campaign and sends its own share of every
// stage (loadgen.Shard), into a run directory of its own whose manifest
// names the shard (Shard) and the campaign (Manifest.CampaignHash). Merge
// makes one run directory of them, as if one process had sent it.

// LateStart is how far after the common start time a shard may begin its
// first stage and still count as on time: a shard later than this is
// marked started_late, and reports of the merged run say so. 50 ms is a
// couple of send intervals at the rates one client sends; a shard the
// start time found ready begins within microseconds of it.
const LateStart = 50 * time.Millisecond

// Shard is one shard's identity and start, as its manifest records it.
type Shard struct {
	// Index is the shard's number, from 0 to Count-1.
	Index int `json:"index"`
	Count int `json:"count"`
	// StartAt is the common start time the shards were given (from
	// --start-at or a barrier); zero when none was.
	StartAt time.Time `json:"start_at,omitzero"`
	// StartDelay is how long after StartAt the shard's first stage began
	// (0 when on time); StartedLate says it was more than LateStart.
	StartDelay  Seconds `json:"start_delay"`
	StartedLate bool    `json:"started_late,omitempty"`
}

// Began records when the shard's first stage began, late after StartAt.
func (s *Shard) Began(late time.Duration) {
	s.StartDelay = Seconds(max(late, 0))
	s.StartedLate = late > LateStart
}

// String names the shard as "shard 1 of 3".
func (s Shard) String() string { return fmt.Sprintf("shard %d of %d", s.Index, s.Count) }

// Merged says what a merged run was made of.
type Merged struct {
	// Count is the number of shards the run was split into.
	Count int `json:"count"`
	// Shards are the shards merged, by index.
	Shards []MergedShard `json:"shards"`
	// Missing are the indexes of shards that were not merged (Merge with
	// AllowMissing): the run holds only part of the load it was asked to
	// send.
	Missing []int `json:"missing,omitempty"`
}

// MergedShard is one shard of a merged run: its identity and start, where
// it was read from, and how it ended.
type MergedShard struct {
	Shard
	Dir       string    `json:"dir"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	Records   int64     `json:"records"`
}

// Late returns the shards that began late, by index.
func (m *Merged) Late() []MergedShard {
	var out []MergedShard
	for _, s := range m.Shards {
		if s.StartedLate {
			out = append(out, s)
		}
	}
	return out
}

// AsShard records in the manifest that the run is one shard of a sharded
// run (its index and count, and the common start time it was given), and
// the hash of the campaign every shard of the run shares. The start delay
// is the caller's to add (UpdateManifest and Shard.Began) once the first
// stage has begun.
func AsShard(s Shard, campaignHash string) Option {
	return func(c *config) { c.shard, c.campaignHash = &s, campaignHash }
}
