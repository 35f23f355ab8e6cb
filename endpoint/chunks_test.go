package endpoint

import (
	"testing"

	"github.com/needlestorm/needlestorm/internal/testkit"
)

// TestChunksCounted: a server sending four tokens per chunk (four chunks,
// usage 16 output tokens) gives a record of 4 chunks, so 4 tokens per
// chunk, and an ITL per token of a quarter of the chunk gap.
func TestChunksCounted(t *testing.T) {
	usage := `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":50,"total_tokens":66,"completion_tokens":16}}` + "\n\n"
	srv := testkit.NewServer(t, testSSE(testRoleChunk, testChunk("The magic number"), testSleep, testChunk(" is four two one"), testSleep,
		testChunk(" seven, I am"), testSleep, testChunk(" quite sure."), testFinishChunk, usage, testDone))
	rec := testSend(t, newTestOpenAI(t, srv.URL, nil))
	if rec.ErrorClass != "" {
		t.Fatalf("error %s: %s", rec.ErrorClass, rec.Error)
	}
	if rec.Chunks != 4 || rec.OutputTokens != 16 || len(rec.ChunkGaps) != 3 {
		t.Fatalf("chunks %d, output tokens %d, gaps %d; want 4, 16, 3", rec.Chunks, rec.OutputTokens, len(rec.ChunkGaps))
	}
	itl, ok := rec.ITLPerToken()
	// (e2e - ttft) spans the three gaps and the tail after the last chunk;
	// over the 12 tokens after the first chunk it is a quarter of the mean
	// span per chunk.
	if want := (rec.E2E - rec.TTFT).Duration() / 12; !ok || itl != want {
		t.Errorf("ITL per token %v (%v), want (e2e-ttft)/12 = %v", itl, ok, want)
	}
}
