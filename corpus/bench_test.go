package corpus

import (
	"context"
	"testing"
)

// benchBuilder returns a prose builder whose haystack is already tokenized
// for prompts of up to maxLen tokens.
func benchBuilder(b *testing.B, maxLen int) *Builder {
	b.Helper()
	bl, err := NewBuilder(HaystackProse, DefaultEncoding, 1)
	if err != nil {
		b.Fatal(err)
	}
	if err := bl.Prepare(context.Background(), maxLen); err != nil {
		b.Fatal(err)
	}
	return bl
}

func benchOne(b *testing.B, length int) {
	bl := benchBuilder(b, length)
	b.ReportAllocs()
	b.ResetTimer()
	tokens := 0
	for i := 0; i < b.N; i++ {
		c, err := bl.Build(Spec{Task: TaskSingle, Length: length, Depth: 50, Sample: i})
		if err != nil {
			b.Fatal(err)
		}
		tokens += c.PromptTokens
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkBuild128k builds one 128k-token prompt per iteration.
func BenchmarkBuild128k(b *testing.B) { benchOne(b, 128_000) }

// BenchmarkBuild1M builds one 1,000,000-token prompt per iteration (target:
// under 0.3 s once the haystack is tokenized).
func BenchmarkBuild1M(b *testing.B) { benchOne(b, 1_000_000) }

// BenchmarkGrid builds 8 lengths (1k..128k) × 5 depths per iteration
// (target: 10 million prompt tokens per second or more).
func BenchmarkGrid(b *testing.B) {
	lengths := []int{1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000}
	depths := []float64{0, 25, 50, 75, 100}
	bl := benchBuilder(b, 128_000)
	b.ReportAllocs()
	b.ResetTimer()
	tokens := 0
	for i := 0; i < b.N; i++ {
		for _, n := range lengths {
			for _, d := range depths {
				c, err := bl.Build(Spec{Task: TaskSingle, Length: n, Depth: d, Sample: i})
				if err != nil {
					b.Fatal(err)
				}
				tokens += c.PromptTokens
			}
		}
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkReadPrompt reads a 128k-token prompt.
func BenchmarkReadPrompt(b *testing.B) {
	bl := benchBuilder(b, 128_000)
	c, err := bl.Build(Spec{Task: TaskMultiKey, Length: 128_000, Depth: 50, Canaries: true})
	if err != nil {
		b.Fatal(err)
	}
	text := c.Messages[0].Content + "\n" + c.Messages[1].Content
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := ReadPrompt(text)
		if len(r.Asks) == 0 {
			b.Fatal("no asks")
		}
	}
	b.ReportMetric(float64(c.PromptTokens)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkPrepare1M is the one-time cost the other benchmarks leave out:
// generating and tokenizing enough prose for a 1,000,000-token prompt.
func BenchmarkPrepare1M(b *testing.B) {
	for i := 0; i < b.N; i++ {
		bl, err := NewBuilder(HaystackProse, DefaultEncoding, int64(i))
		if err != nil {
			b.Fatal(err)
		}
		if err := bl.Prepare(context.Background(), 1_000_000); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(1_000_000+startSpread+tailMargin)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

func benchNonce(b *testing.B, length int) {
	bl := benchBuilder(b, length)
	c, err := bl.Build(Spec{Task: TaskSingle, Length: length, Depth: 50})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("WithNonce", func(b *testing.B) { benchNonceWith(b, &c, length, c.WithNonce) })
	nr, err := c.Noncer()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Noncer", func(b *testing.B) { benchNonceWith(b, &c, length, nr.Case) })
}

// benchNonceWith re-nonces c with nonce, the Case's WithNonce or its kept
// Noncer's Case (as the dispatcher does).
func benchNonceWith(b *testing.B, c *Case, length int, nonce func(uint64) (Case, error)) {
	b.SetBytes(int64(len(c.Messages[1].Content)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		nc, err := nonce(uint64(i))
		if err != nil {
			b.Fatal(err)
		}
		if nc.PromptTokens != length {
			b.Fatal("the re-nonced Case changed its length")
		}
	}
}

// BenchmarkWithNonce1k shows WithNonce's fixed cost.
func BenchmarkWithNonce1k(b *testing.B) { benchNonce(b, 1000) }

// BenchmarkWithNonce128k re-nonces a 128k-token prompt: one copy of the
// user content (which the dispatcher makes only for a target that is not a
// loadgen.RenonceSender) plus the choice of words.
func BenchmarkWithNonce128k(b *testing.B) { benchNonce(b, 128_000) }

// BenchmarkWithNonce1M re-nonces a 1,000,000-token prompt (about 4 MB).
func BenchmarkWithNonce1M(b *testing.B) { benchNonce(b, 1_000_000) }
