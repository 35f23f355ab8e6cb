package run

import (
	"testing"
	"time"
)

// TestITLPerToken: four chunks of four tokens, 80 ms apart: the ITL per
// token is 20 ms, a quarter of the chunk gap; TPOT, which divides by
// every token but the first, is lower still.
func TestITLPerToken(t *testing.T) {
	ms := time.Millisecond
	r := Record{TTFT: Seconds(100 * ms), E2E: Seconds(340 * ms), OutputTokens: 16, Chunks: 4,
		ChunkGaps: []Seconds{Seconds(80 * ms), Seconds(80 * ms), Seconds(80 * ms)}}
	if d, ok := r.ITLPerToken(); !ok || d != 20*ms {
		t.Errorf("ITL per token %v (%v), want 20ms: a quarter of the 80ms gap", d, ok)
	}
	for _, bad := range []Record{
		{TTFT: Seconds(ms), E2E: Seconds(2 * ms), OutputTokens: 16, Chunks: 1},
		{TTFT: Seconds(ms), E2E: Seconds(2 * ms), OutputTokens: 16, Chunks: 4, ErrorClass: ErrTimeout},
		{TTFT: Seconds(ms), E2E: Seconds(2 * ms), OutputTokens: 2, Chunks: 4},
	} {
		if _, ok := bad.ITLPerToken(); ok {
			t.Errorf("%+v: ITL per token given, want none", bad)
		}
	}
}
