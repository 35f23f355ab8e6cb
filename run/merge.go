package run

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MergeOption configures Merge.
type MergeOption func(*mergeConfig)

type mergeConfig struct {
	allowMissing bool
	overwrite    bool
}

// AllowMissing lets Merge merge the shards it was given when some of the
// run's shards are missing, instead of refusing to. The merged manifest
// lists the missing ones (Merged.Missing), and reports of the run say that
// it holds only part of the load.
func AllowMissing(yes bool) MergeOption { return func(c *mergeConfig) { c.allowMissing = yes } }

// MergeOverwrite lets Merge replace a run already in its output directory.
func MergeOverwrite(yes bool) MergeOption { return func(c *mergeConfig) { c.overwrite = yes } }

// ErrMissingShards is wrapped by Merge's error when shards of the run are
// missing and AllowMissing was not given.
var ErrMissingShards = errors.New("shards of the run are missing")

// shardRun is one shard's run directory being merged.
type shardRun struct {
	dir string
	m   *Manifest
}

// Merge makes one run directory, out, of the run directories of a sharded
// run's shards (dirs, in any order), as if one process had sent it:
//
//   - every directory must be a shard (its manifest names one) of the same
//     campaign (the same campaign hash) and shard count, no shard given
//     twice; a missing shard is an error (wrapping ErrMissingShards) unless
//     AllowMissing;
//   - records.jsonl holds every shard's records, ordered by scheduled time
//     (then sequence number), each line copied as the shard wrote it; no
//     sequence number may appear twice. The last line of a shard that did
//     not complete may be cut short (it was killed while writing) and is
//     left out; anywhere else a line that does not decode is an error;
//   - manifest.json is the lowest shard's, with the earliest start, the
//     latest end, the worst status (failed, running, interrupted,
//     complete), every shard's reason, the records counted, each target's
//     records and spend summed and its worst status, the budget's spend
//     summed, no shard identity, and Merged saying which shards were merged
//     and which are missing.
//
// It returns the merged manifest. The reports are the caller's to render
// (reports.Write on out): a merged run reports, compares and routes like
// any other.
func Merge(out string, dirs []string, opts ...MergeOption) (*Manifest, error) {
	var cfg mergeConfig
	for _, o := range opts {
		o(&cfg)
	}
	shards, err := readShards(dirs)
	if err != nil {
		return nil, err
	}
	missing, err := checkShards(shards, cfg.allowMissing)
	if err != nil {
		return nil, err
	}
	if err := checkMergeOut(out, shards, cfg.overwrite); err != nil {
		return nil, err
	}
	lines, err := indexShards(shards)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("creating the merged run directory: %w", err)
	}
	if err := writeMerged(filepath.Join(out, RecordsFile), shards, lines); err != nil {
		return nil, err
	}
	if err := mergeServerMetrics(out, shards); err != nil {
		return nil, err
	}
	m := mergeManifests(shards, missing, int64(len(lines)))
	if err := WriteManifest(out, m); err != nil {
		return nil, err
	}
	return m, nil
}

// readShards reads every directory's manifest, sorted by shard index.
func readShards(dirs []string) ([]shardRun, error) {
	if len(dirs) == 0 {
		return nil, errors.New("no shards to merge: give the run directory of every shard")
	}
	shards := make([]shardRun, 0, len(dirs))
	for _, dir := range dirs {
		m, err := ReadManifest(dir)
		if err != nil {
			return nil, err
		}
		if m.Shard == nil || m.CampaignHash == "" {
			return nil, fmt.Errorf("%s is not a shard of a sharded run (its manifest names no shard and no campaign hash): only the run directories of `needlestorm run --shard I/N` can be merged", dir)
		}
		shards = append(shards, shardRun{dir: dir, m: m})
	}
	slices.SortStableFunc(shards, func(a, b shardRun) int { return cmp.Compare(a.m.Shard.Index, b.m.Shard.Index) })
	return shards, nil
}

// checkShards checks that the shards are of one run, and returns the
// indexes missing.
func checkShards(shards []shardRun, allowMissing bool) ([]int, error) {
	first := shards[0]
	count := first.m.Shard.Count
	seen := map[int]string{}
	for _, s := range shards {
		sh := s.m.Shard
		switch {
		case s.m.CampaignHash != first.m.CampaignHash:
			return nil, fmt.Errorf("%s belongs to another run than %s (campaign hash %s, not %s): merge only the shards of one run, each given the same campaign, flags, seed, nonce salt and run id",
				s.dir, first.dir, short(s.m.CampaignHash), short(first.m.CampaignHash))
		case sh.Count != count:
			return nil, fmt.Errorf("%s is %s, but %s is %s: the shards of one run all have the same count", s.dir, sh, first.dir, first.m.Shard)
		case sh.Index < 0 || sh.Index >= sh.Count:
			return nil, fmt.Errorf("%s: its manifest names shard %d of %d, which does not exist", s.dir, sh.Index, sh.Count)
		case seen[sh.Index] != "":
			return nil, fmt.Errorf("%s and %s are both %s: give each shard's directory once", seen[sh.Index], s.dir, sh)
		}
		seen[sh.Index] = s.dir
	}
	var missing []int
	for i := range count {
		if seen[i] == "" {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 && !allowMissing {
		return nil, fmt.Errorf("%s of %d not given, so the merged run would hold only part of its load: %w", shardList(missing), count, ErrMissingShards)
	}
	return missing, nil
}

// checkMergeOut refuses an output directory that is one of the shards, or
// that holds a run (unless overwrite).
func checkMergeOut(out string, shards []shardRun, overwrite bool) error {
	abs, _ := filepath.Abs(out)
	for _, s := range shards {
		if d, _ := filepath.Abs(s.dir); d == abs {
			return fmt.Errorf("the merged run would be written over shard %s: choose another output directory", s.dir)
		}
	}
	return CheckDir(out, overwrite)
}

// shardLine is where one record is in a shard's records.jsonl.
type shardLine struct {
	shard       int // index into the shards
	offset      int64
	size        int
	seq         int64
	scheduledAt time.Time
}

// indexShards reads where every record of every shard is, sorted by
// scheduled time then sequence number, and checks that no sequence number
// is used twice.
func indexShards(shards []shardRun) ([]shardLine, error) {
	var lines []shardLine
	owner := map[int64]int{}
	for i, s := range shards {
		got, err := indexRecords(filepath.Join(s.dir, RecordsFile), i, s.m.Status != StatusComplete)
		if err != nil {
			return nil, err
		}
		for _, l := range got {
			if j, dup := owner[l.seq]; dup {
				return nil, fmt.Errorf("record seq %d is in both %s and %s: these shards did not number their requests as one run (were they given the same schedule?)", l.seq, shards[j].dir, s.dir)
			}
			owner[l.seq] = i
		}
		lines = append(lines, got...)
	}
	slices.SortFunc(lines, func(a, b shardLine) int {
		return cmp.Or(a.scheduledAt.Compare(b.scheduledAt), cmp.Compare(a.seq, b.seq))
	})
	return lines, nil
}

// indexRecords indexes one records file. A last line cut short is left out
// when tornOK (the shard did not complete), an error otherwise.
func indexRecords(path string, shard int, tornOK bool) ([]shardLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading a shard's records: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	var out []shardLine
	var offset int64
	for n := 1; ; n++ {
		b, err := br.ReadBytes('\n')
		if len(b) == 0 && errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: reading line %d: %w", path, n, err)
		}
		torn := errors.Is(err, io.EOF) // a last line without its newline
		l, derr := decodeLineKey(b)
		switch {
		case derr == errBlankLine:
		case derr != nil && torn && tornOK:
			return out, nil
		case derr != nil && torn:
			return nil, fmt.Errorf("%s: line %d: %w, yet the shard says it completed", path, n, ErrTornTail)
		case derr != nil:
			return nil, fmt.Errorf("%s: line %d: %w", path, n, derr)
		default:
			l.shard, l.offset, l.size = shard, offset, len(strings.TrimRight(string(b), "\r\n"))
			out = append(out, l)
		}
		offset += int64(len(b))
		if torn {
			return out, nil
		}
	}
}

var errBlankLine = errors.New("blank line")

// decodeLineKey decodes the fields a merge orders records by.
func decodeLineKey(b []byte) (shardLine, error) {
	if len(trimSpace([]byte(strings.TrimRight(string(b), "\r\n")))) == 0 {
		return shardLine{}, errBlankLine
	}
	var k struct {
		Schema      string    `json:"schema"`
		Seq         int64     `json:"seq"`
		ScheduledAt time.Time `json:"scheduled_at"`
	}
	if err := json.Unmarshal(b, &k); err != nil {
		return shardLine{}, err
	}
	if k.Schema != RecordSchema {
		return shardLine{}, fmt.Errorf("schema %q, want %q", k.Schema, RecordSchema)
	}
	return shardLine{seq: k.Seq, scheduledAt: k.ScheduledAt}, nil
}

// writeMerged writes the records at lines to path, through a temporary
// file and a rename, so that a reader never sees half of them.
func writeMerged(path string, shards []shardRun, lines []shardLine) error {
	files := make([]*os.File, len(shards))
	for i, s := range shards {
		f, err := os.Open(filepath.Join(s.dir, RecordsFile))
		if err != nil {
			return fmt.Errorf("reading a shard's records: %w", err)
		}
		defer f.Close()
		files[i] = f
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".records-*.jsonl")
	if err != nil {
		return fmt.Errorf("writing the merged records: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing to remove
	bw := bufio.NewWriterSize(tmp, 1<<20)
	var buf []byte
	for _, l := range lines {
		buf = slices.Grow(buf[:0], l.size+1)[:l.size]
		if _, err := files[l.shard].ReadAt(buf, l.offset); err != nil {
			tmp.Close()
			return fmt.Errorf("reading %s: %w", shards[l.shard].dir, err)
		}
		bw.Write(append(buf, '\n'))
	}
	werr := bw.Flush()
	merr := tmp.Chmod(0o644)
	if err := errors.Join(werr, merr, tmp.Close()); err != nil {
		return fmt.Errorf("writing the merged records: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing the merged records: %w", err)
	}
	return nil
}

// mergeManifests makes the merged run's manifest.
func mergeManifests(shards []shardRun, missing []int, records int64) *Manifest {
	m := *shards[0].m
	m.Shard, m.Records, m.Status, m.Reason = nil, records, StatusComplete, ""
	m.Merged = &Merged{Count: shards[0].m.Shard.Count, Missing: missing}
	var reasons []string
	for _, s := range shards {
		sm := s.m
		m.StartedAt = earliest(m.StartedAt, sm.StartedAt)
		if sm.EndedAt.After(m.EndedAt) {
			m.EndedAt = sm.EndedAt
		}
		m.Status = worseStatus(m.Status, sm.Status)
		if sm.Reason != "" {
			reasons = append(reasons, fmt.Sprintf("shard %d: %s", sm.Shard.Index, sm.Reason))
		}
		m.Merged.Shards = append(m.Merged.Shards, MergedShard{
			Shard: *sm.Shard, Dir: s.dir, StartedAt: sm.StartedAt, EndedAt: sm.EndedAt,
			Status: sm.Status, Reason: sm.Reason, Records: sm.Records,
		})
	}
	m.Reason = strings.Join(reasons, "; ")
	m.Targets = mergeTargets(shards)
	m.Budget = mergeBudget(shards)
	return &m
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// statusRank orders statuses, run's and campaigns' per target, from best to
// worst; an unknown status is as bad as a failure.
var statusRank = map[string]int{
	StatusComplete: 0, StatusInterrupted: 1, "skipped": 2, "pending": 3, StatusRunning: 3, StatusFailed: 4,
}

// worseStatus returns the worse of two statuses.
func worseStatus(a, b string) string {
	ra, oka := statusRank[a]
	rb, okb := statusRank[b]
	if !oka {
		ra = 5
	}
	if !okb {
		rb = 5
	}
	if rb > ra {
		return b
	}
	return a
}

// mergeTargets merges the manifests' targets: the lowest shard's entries,
// each with "records" and "spent" summed over the shards and the worst
// "status". Targets are the campaign's part of the manifest; these three
// members are what differs between shards. When the shards do not list
// the same number of targets, the lowest shard's are kept as they are.
func mergeTargets(shards []shardRun) json.RawMessage {
	var merged []map[string]json.RawMessage
	if json.Unmarshal(shards[0].m.Targets, &merged) != nil {
		return shards[0].m.Targets
	}
	for i := range merged {
		var records int64
		var spent float64
		status := StatusComplete
		for _, s := range shards {
			var ts []map[string]json.RawMessage
			if json.Unmarshal(s.m.Targets, &ts) != nil || len(ts) != len(merged) {
				return shards[0].m.Targets
			}
			records += jsonInt(ts[i]["records"])
			spent += jsonFloat(ts[i]["spent"])
			var st string
			_ = json.Unmarshal(ts[i]["status"], &st)
			status = worseStatus(status, st)
		}
		setJSON(merged[i], "records", records)
		setJSON(merged[i], "spent", spent)
		setJSON(merged[i], "status", status)
	}
	b, err := json.Marshal(merged)
	if err != nil {
		return shards[0].m.Targets
	}
	return b
}

// mergeBudget merges the manifests' budgets: the lowest shard's (the limits
// and the plan's estimates are the campaign's), with "spent" and each
// target's "spent_by_target" summed, and every "stopped" reason.
func mergeBudget(shards []shardRun) json.RawMessage {
	var merged map[string]json.RawMessage
	if json.Unmarshal(shards[0].m.Budget, &merged) != nil || merged == nil {
		return shards[0].m.Budget
	}
	var spent float64
	byTarget := map[string]float64{}
	var stopped []string
	for _, s := range shards {
		var b struct {
			Spent         float64            `json:"spent"`
			SpentByTarget map[string]float64 `json:"spent_by_target"`
			Stopped       string             `json:"stopped"`
		}
		_ = json.Unmarshal(s.m.Budget, &b)
		spent += b.Spent
		for k, v := range b.SpentByTarget {
			byTarget[k] += v
		}
		if b.Stopped != "" {
			stopped = append(stopped, fmt.Sprintf("shard %d: %s", s.m.Shard.Index, b.Stopped))
		}
	}
	setJSON(merged, "spent", spent)
	if _, ok := merged["spent_by_target"]; ok {
		setJSON(merged, "spent_by_target", byTarget)
	}
	if len(stopped) > 0 {
		setJSON(merged, "stopped", strings.Join(stopped, "; "))
	}
	b, err := json.Marshal(merged)
	if err != nil {
		return shards[0].m.Budget
	}
	return b
}

func jsonInt(raw json.RawMessage) int64 {
	var n int64
	_ = json.Unmarshal(raw, &n)
	return n
}

func jsonFloat(raw json.RawMessage) float64 {
	var f float64
	_ = json.Unmarshal(raw, &f)
	return f
}

func setJSON(m map[string]json.RawMessage, key string, v any) {
	if b, err := json.Marshal(v); err == nil {
		m[key] = b
	}
}

// shardList writes "shard 2" or "shards 0, 2".
func shardList(idx []int) string {
	s := make([]string, len(idx))
	for i, n := range idx {
		s[i] = strconv.Itoa(n)
	}
	if len(s) == 1 {
		return "shard " + s[0]
	}
	return "shards " + strings.Join(s, ", ")
}

// short abbreviates a hash for messages.
func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
