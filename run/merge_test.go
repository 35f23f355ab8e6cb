package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// shardFixture writes a shard's run directory: the records of seqs (a
// constant rate of 10/s from t0, request k at t0 + k/10 s), targets and a
// budget with spend in the manifest, ended with status (complete or
// interrupted).
func shardFixture(t *testing.T, dir string, s Shard, hash string, seqs []int64, t0 time.Time, status string) {
	t.Helper()
	rs, err := Open(dir, AsShard(s, hash), NonceSalt(42))
	if err != nil {
		t.Fatal(err)
	}
	// Completion order is not scheduled order: write them backwards.
	for _, k := range slices.Backward(seqs) {
		rec := &Record{Seq: k, Target: "t", CaseID: fmt.Sprintf("case-%d", k%4), ScheduledAt: t0.Add(time.Duration(k-1) * 100 * time.Millisecond)}
		if err := rs.Sink().Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	err = rs.UpdateManifest(func(m *Manifest) {
		m.Targets = json.RawMessage(fmt.Sprintf(`[{"name":"t","records":%d,"spent":%g,"status":%q}]`, len(seqs), 0.5*float64(len(seqs)), status))
		m.Budget = json.RawMessage(fmt.Sprintf(`{"max_cost_usd":10,"spent":%g,"spent_by_target":{"t":%g}}`, 0.5*float64(len(seqs)), 0.5*float64(len(seqs))))
		m.Shard.Began(time.Duration(s.Index) * 40 * time.Millisecond)
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, runErr := context.Background(), error(nil)
	if status == StatusInterrupted {
		c, cancel := context.WithCancel(ctx)
		cancel()
		ctx, runErr = c, context.Canceled
	}
	if _, err := rs.Close(ctx, runErr); err != nil && status == StatusComplete {
		t.Fatal(err)
	}
}

// threeShards writes the 3 shards of 12 requests (request k to shard
// (k-1) mod 3) under root, shard 1 interrupted, and returns their dirs.
func threeShards(t *testing.T, root, hash string) []string {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var dirs []string
	for i := range 3 {
		var seqs []int64
		for k := int64(1); k <= 12; k++ {
			if int(k-1)%3 == i {
				seqs = append(seqs, k)
			}
		}
		dir := filepath.Join(root, fmt.Sprintf("shard-%d", i))
		status := StatusComplete
		if i == 1 {
			status = StatusInterrupted
		}
		shardFixture(t, dir, Shard{Index: i, Count: 3, StartAt: t0}, hash, seqs, t0, status)
		dirs = append(dirs, dir)
	}
	return dirs
}

func readMerged(t *testing.T, dir string) []Record {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := ReadRecords(f)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestMerge(t *testing.T) {
	root := t.TempDir()
	dirs := threeShards(t, root, "abc123")
	out := filepath.Join(root, "merged")
	// Given in any order.
	m, err := Merge(out, []string{dirs[2], dirs[0], dirs[1]})
	if err != nil {
		t.Fatal(err)
	}
	recs := readMerged(t, out)
	if len(recs) != 12 || m.Records != 12 {
		t.Fatalf("merged %d records (manifest says %d), want 12", len(recs), m.Records)
	}
	for i, r := range recs {
		if r.Seq != int64(i+1) {
			t.Errorf("record %d: seq %d; want the records in scheduled order, seq %d", i, r.Seq, i+1)
		}
	}
	back, err := ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if back.Status != StatusInterrupted || !strings.Contains(back.Reason, "shard 1:") {
		t.Errorf("status %q reason %q: want the worst status, interrupted, and shard 1's reason", back.Status, back.Reason)
	}
	if back.Shard != nil || back.CampaignHash != "abc123" || back.NonceSalt != 42 {
		t.Errorf("merged manifest: shard %v, hash %q, salt %d", back.Shard, back.CampaignHash, back.NonceSalt)
	}
	if back.Merged == nil || back.Merged.Count != 3 || len(back.Merged.Shards) != 3 || len(back.Merged.Missing) != 0 {
		t.Fatalf("merged: %+v", back.Merged)
	}
	var start, end time.Time
	for i, d := range dirs {
		sm, _ := ReadManifest(d)
		start, end = earliest(start, sm.StartedAt), maxTime(end, sm.EndedAt)
		if got := back.Merged.Shards[i]; got.Index != i || got.Dir != d || got.Records != 4 {
			t.Errorf("merged shard %d: %+v", i, got)
		}
	}
	if !back.StartedAt.Equal(start) || !back.EndedAt.Equal(end) {
		t.Errorf("merged run %s to %s, want the earliest start %s and the latest end %s", back.StartedAt, back.EndedAt, start, end)
	}
	if late := back.Merged.Late(); len(late) != 1 || late[0].Index != 2 {
		t.Errorf("late shards %+v, want shard 2 (80 ms after the start)", late)
	}
	var targets []struct {
		Records int64
		Spent   float64
		Status  string
	}
	var budget struct {
		MaxCostUSD    float64            `json:"max_cost_usd"`
		Spent         float64            `json:"spent"`
		SpentByTarget map[string]float64 `json:"spent_by_target"`
	}
	if err := json.Unmarshal(back.Targets, &targets); err != nil || len(targets) != 1 {
		t.Fatalf("targets %s: %v", back.Targets, err)
	}
	if err := json.Unmarshal(back.Budget, &budget); err != nil {
		t.Fatal(err)
	}
	if tg := targets[0]; tg.Records != 12 || tg.Spent != 6 || tg.Status != StatusInterrupted {
		t.Errorf("target %+v, want 12 records, 6 spent, interrupted", tg)
	}
	if budget.Spent != 6 || budget.SpentByTarget["t"] != 6 || budget.MaxCostUSD != 10 {
		t.Errorf("budget %+v, want the spend summed to 6 and the limit kept", budget)
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func TestMergeRefuses(t *testing.T) {
	root := t.TempDir()
	dirs := threeShards(t, root, "abc123")
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	other := filepath.Join(root, "other")
	shardFixture(t, other, Shard{Index: 1, Count: 3}, "def456", []int64{2, 5, 8, 11}, t0, StatusComplete)
	four := filepath.Join(root, "four")
	shardFixture(t, four, Shard{Index: 1, Count: 4}, "abc123", []int64{2}, t0, StatusComplete)
	dupSeq := filepath.Join(root, "dupseq")
	shardFixture(t, dupSeq, Shard{Index: 1, Count: 3}, "abc123", []int64{1}, t0, StatusComplete)
	plain := filepath.Join(root, "plain")
	rs, err := Open(plain)
	if err != nil {
		t.Fatal(err)
	}
	rs.Close(context.Background(), nil)

	for _, tc := range []struct {
		name string
		dirs []string
		want string
		is   error
	}{
		{"missing", dirs[:2], "shard 2 of 3 not given", ErrMissingShards},
		{"two missing", dirs[:1], "shards 1, 2 of 3", ErrMissingShards},
		{"another campaign", []string{dirs[0], other, dirs[2]}, "belongs to another run", nil},
		{"another count", []string{dirs[0], four, dirs[2]}, "same count", nil},
		{"twice", []string{dirs[0], dirs[1], dirs[1], dirs[2]}, "both shard 1 of 3", nil},
		{"seq twice", []string{dirs[0], dupSeq, dirs[2]}, "seq 1 is in both", nil},
		{"not a shard", []string{plain}, "not a shard", nil},
		{"none", nil, "no shards", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(root, "out-"+strings.ReplaceAll(tc.name, " ", "-"))
			_, err := Merge(out, tc.dirs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a refused merge left %s behind", out)
			}
		})
	}
	// Over a shard, or over a run, unless overwriting.
	if _, err := Merge(dirs[0], dirs); err == nil || !strings.Contains(err.Error(), "over shard") {
		t.Errorf("merging into a shard: %v", err)
	}
	if _, err := Merge(plain, dirs); !errors.Is(err, ErrExists) {
		t.Errorf("merging into a run: %v, want ErrExists", err)
	}
	if _, err := Merge(plain, dirs, MergeOverwrite(true)); err != nil {
		t.Errorf("merging over a run with MergeOverwrite: %v", err)
	}
}

func TestMergeAllowMissing(t *testing.T) {
	root := t.TempDir()
	dirs := threeShards(t, root, "abc123")
	out := filepath.Join(root, "merged")
	m, err := Merge(out, []string{dirs[0], dirs[2]}, AllowMissing(true))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Merged.Missing, []int{1}) || m.Records != 8 || len(readMerged(t, out)) != 8 {
		t.Errorf("missing %v, %d records; want shard 1 missing and 8 records", m.Merged.Missing, m.Records)
	}
}

// TestMergeTornTail: a shard killed while writing leaves a last line cut
// short; merge leaves it out when the shard did not complete, and refuses a
// shard that says it completed.
func TestMergeTornTail(t *testing.T) {
	root := t.TempDir()
	dirs := threeShards(t, root, "abc123")
	for _, d := range dirs[:2] { // shard 0 complete, shard 1 interrupted
		f, err := os.OpenFile(filepath.Join(d, RecordsFile), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(`{"schema":"needlestorm.record/v1","seq":99,"sched`)
		f.Close()
	}
	if _, err := Merge(filepath.Join(root, "a"), dirs); err == nil || !errors.Is(err, ErrTornTail) {
		t.Errorf("a torn line in a completed shard: %v, want ErrTornTail", err)
	}
	os.WriteFile(filepath.Join(dirs[0], RecordsFile), nil, 0o644)
	m, err := Merge(filepath.Join(root, "b"), dirs)
	if err != nil {
		t.Fatal(err)
	}
	if m.Records != 8 {
		t.Errorf("%d records, want 8 (shard 0 emptied, shard 1's torn line left out)", m.Records)
	}
}

func TestBarrier(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const n = 3
	starts := make([]time.Time, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 30 * time.Millisecond)
			starts[i], errs[i] = Barrier(ctx, dir, "h1", Shard{Index: i, Count: n}, time.Second)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !starts[i].Equal(starts[0]) {
			t.Errorf("shard %d starts at %s, shard 0 at %s: every shard must compute the same start", i, starts[i], starts[0])
		}
	}
	if until := time.Until(starts[0]); until > time.Second {
		t.Errorf("start %s from now, want at most the margin", until)
	}
	// Alone, a shard waits until its context ends, and says how many came.
	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	if _, err := Barrier(short, dir, "h2", Shard{Index: 0, Count: 2}, time.Second); err == nil || !strings.Contains(err.Error(), "1 of 2 shards") {
		t.Errorf("a barrier nobody else reaches: %v", err)
	}
	// A shard of another count is refused.
	if _, err := Barrier(ctx, dir, "h2", Shard{Index: 1, Count: 3}, time.Second); err == nil || !strings.Contains(err.Error(), "same count") {
		t.Errorf("a barrier of mixed counts: %v", err)
	}
}

// TestMergeServerMetrics: the shards' server_metrics.jsonl become one file
// in time order; a shard's torn last line loses that line only; without
// any, the merged run has none.
func TestMergeServerMetrics(t *testing.T) {
	root := t.TempDir()
	dirs := threeShards(t, root, "abc123")
	t0 := time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC)
	one := 1.0
	for i, d := range dirs[:2] {
		w, err := CreateServerMetrics(d)
		if err != nil {
			t.Fatal(err)
		}
		for k := range 3 {
			at := t0.Add(time.Duration(2*k+i) * time.Second) // shard 0 at 0, 2, 4 s; shard 1 at 1, 3, 5 s
			if err := w.Write([]ServerSample{{Time: at, Target: "t", Series: SeriesRunning, Metric: "vllm:num_requests_running", Value: &one}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	torn, err := os.OpenFile(filepath.Join(dirs[1], ServerMetricsFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := torn.WriteString(`{"time":"2026-12-03T01:00:09Z","tar`); err != nil {
		t.Fatal(err)
	}
	torn.Close()

	out := filepath.Join(root, "merged")
	if _, err := Merge(out, dirs); err != nil {
		t.Fatal(err)
	}
	got, err := ReadServerMetricsFile(out)
	if err != nil || len(got) != 6 {
		t.Fatalf("merged %d samples (%v), want the 6 whole ones", len(got), err)
	}
	for i, s := range got {
		if want := t0.Add(time.Duration(i) * time.Second); !s.Time.Equal(want) {
			t.Errorf("sample %d at %s, want %s (time order)", i, s.Time, want)
		}
	}

	for _, d := range dirs[:2] {
		if err := RemoveServerMetrics(d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Merge(out, dirs, MergeOverwrite(true)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, ServerMetricsFile)); err == nil {
		t.Error("a merge of shards without server metrics keeps an old server_metrics.jsonl")
	}
}
