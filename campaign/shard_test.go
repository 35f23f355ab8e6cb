package campaign

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const shardCampaign = `
name: sharded
targets:
  - {name: s, kind: sim, sim_profile: fast, time_scale: 0}
corpus:
  lengths: [400]
  depths: [0, 50, 100]
  seed: 5
load:
  stages:
    - {rate: 200, requests: 10}
    - {concurrency: 3, requests: 7}
`

// TestExecuteShards runs both shards of a two-shard campaign (each with a
// simulator of its own): their manifests name each shard and the same
// campaign hash and nonce salt, and their records together are the 17
// requests of the schedule, numbered 1 to 17 once each, the open-loop
// stage's requests each in the shard k mod 2 names.
func TestExecuteShards(t *testing.T) {
	var seqs []int64
	var hash string
	var salt uint64
	for i := range 2 {
		start := time.Now().Add(200 * time.Millisecond)
		_, m, recs, log := executeTest(t, shardCampaign, ExecOptions{NoPreflight: true, Shard: &Shard{Index: i, Count: 2, StartAt: start, RunID: "job-1"}})
		if m.Shard == nil || m.Shard.Index != i || m.Shard.Count != 2 || !m.Shard.StartAt.Equal(start) {
			t.Fatalf("shard %d manifest: %+v", i, m.Shard)
		}
		if m.CampaignHash == "" || (hash != "" && m.CampaignHash != hash) || (i > 0 && m.NonceSalt != salt) {
			t.Errorf("shard %d: campaign hash %q salt %d, shard 0's %q %d", i, m.CampaignHash, m.NonceSalt, hash, salt)
		}
		hash, salt = m.CampaignHash, m.NonceSalt
		if m.Shard.StartedLate != (m.Shard.StartDelay.Duration() > 50*time.Millisecond) {
			t.Errorf("shard %d: start delay %s, started late %v", i, m.Shard.StartDelay.Duration(), m.Shard.StartedLate)
		}
		if !strings.Contains(log, "shard "+string(rune('0'+i))+" of 2") {
			t.Errorf("shard %d: the log does not name the shard:\n%s", i, log)
		}
		for _, r := range recs {
			if r.Stage == 0 && int(r.Seq-1)%2 != i {
				t.Errorf("shard %d sent request %d of the open-loop stage", i, r.Seq)
			}
			seqs = append(seqs, r.Seq)
		}
	}
	slices.Sort(seqs)
	want := make([]int64, 17)
	for k := range want {
		want[k] = int64(k + 1)
	}
	if !slices.Equal(seqs, want) {
		t.Errorf("the shards sent seqs %v, want 1 to 17 once each", seqs)
	}
}

func TestShardIdentity(t *testing.T) {
	parse := func(text string) *Campaign {
		c, err := Parse("test.yaml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	base := parse(shardCampaign)
	a := base.newShardRun(&Shard{Index: 0, Count: 2, RunID: "job-1"}, nil)
	b := base.newShardRun(&Shard{Index: 1, Count: 2, RunID: "job-1"}, nil)
	if a.hash != b.hash || a.salt != b.salt {
		t.Errorf("two shards of one run: hashes %s, %s; salts %d, %d", a.hash, b.hash, a.salt, b.salt)
	}
	rerun := base.newShardRun(&Shard{Index: 0, Count: 2, RunID: "job-2"}, nil)
	if rerun.salt == a.salt || rerun.hash == a.hash {
		t.Error("another run id must draw another salt and make another run")
	}
	salt := uint64(9)
	given := base.newShardRun(&Shard{Index: 0, Count: 2, RunID: "job-1"}, &salt)
	if given.salt != 9 || given.hash == a.hash {
		t.Errorf("a given salt: salt %d, hash the derived one's: %v", given.salt, given.hash == a.hash)
	}
	other := parse(strings.Replace(shardCampaign, "seed: 5", "seed: 6", 1))
	if o := other.newShardRun(&Shard{Index: 0, Count: 2, RunID: "job-1"}, nil); o.hash == a.hash {
		t.Error("a campaign of another seed has the same hash")
	}
	three := base.newShardRun(&Shard{Index: 0, Count: 3, RunID: "job-1"}, nil)
	if three.hash == a.hash {
		t.Error("a run of another shard count has the same hash")
	}
}

func TestShardRefused(t *testing.T) {
	search := `
name: s
targets: [{name: s, kind: sim}]
corpus: {lengths: [400]}
load: {search: {max_rate: 8}}
`
	c, err := Parse("test.yaml", []byte(search))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		c    *Campaign
		s    Shard
		want string
	}{
		{c, Shard{Index: 0, Count: 2}, "cannot run the envelope search"},
		{c, Shard{Index: 2, Count: 2}, "does not exist"},
		{c, Shard{Index: 0, Count: 0}, "does not exist"},
	} {
		_, err := tc.c.Execute(t.Context(), t.TempDir(), ExecOptions{NoPreflight: true, Shard: &tc.s})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("shard %+v: error %v, want %q", tc.s, err, tc.want)
		}
	}
	p, _ := Parse("test.yaml", []byte(shardCampaign))
	if err := p.CheckShard(&Shard{Count: 2, StartAt: time.Now(), Barrier: "/tmp"}); err == nil {
		t.Error("a start time and a barrier together must be refused")
	}
}
