package reports

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/needlestorm/needlestorm/run"
)

// shardNote says what a report of a merged run must: the shards that are
// missing (partial is then true: the run holds only part of the load it
// was asked to send, so its rates and counts are short by their share)
// and the shards that began after the common start time. It is "" for
// any other run.
func shardNote(m *run.Manifest) (note string, partial bool) {
	mg := m.Merged
	if mg == nil {
		return "", false
	}
	var notes []string
	if len(mg.Missing) > 0 {
		notes = append(notes, fmt.Sprintf("merged from %d of %d shards: %s missing, so this run holds only about %d/%d of the load it was asked to send (rates and counts are short by the missing share)",
			len(mg.Shards), mg.Count, shardNames(mg.Missing), len(mg.Shards), mg.Count))
	}
	if late := mg.Late(); len(late) > 0 {
		parts := make([]string, len(late))
		for i, s := range late {
			parts[i] = fmt.Sprintf("shard %d by %s", s.Index, s.StartDelay.Duration().Round(time.Millisecond))
		}
		notes = append(notes, "shards began after the common start time ("+strings.Join(parts, ", ")+"): their requests were sent that much later than the schedule of one process")
	}
	return joinNotes(notes...), len(mg.Missing) > 0
}

// shardNames writes "shard 2" or "shards 0, 2".
func shardNames(idx []int) string {
	s := make([]string, len(idx))
	for i, n := range idx {
		s[i] = strconv.Itoa(n)
	}
	if len(s) == 1 {
		return "shard " + s[0]
	}
	return "shards " + strings.Join(s, ", ")
}
