package loadgen_test

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
)

func TestZZOne(t *testing.T) {
	url := os.Getenv("ZZ_URL")
	if url == "" {
		t.Skip()
	}
	cases, _ := corpus.Matrix{Lengths: []int{256}, Depths: []float64{0, 50, 100}, Samples: 4, Seed: 1}.Cases(context.Background())
	b := &testing.B{}
	var r benchRound
	if os.Getenv("ZZ_CLIENT") == "vegeta" {
		var sent atomic.Int64
		tr := vegetaTargeter(b, url, "sim-fast", cases, 16, &sent)
		r = vegetaRun(b, tr, 32, 2*time.Second)
	} else {
		r = needlestormRun(b, url, "sim-fast", cases, 32, 2*time.Second, 16)
	}
	t.Logf("RESULT %s %d requests", os.Getenv("ZZ_CLIENT"), r.ok)
}
