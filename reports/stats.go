package reports

import (
	"math"
	"slices"
	"time"
)

// z95 is the standard normal quantile for a two-sided 95% interval.
const z95 = 1.959963984540054

// Wilson returns the Wilson score interval for k successes in n trials at
// 95% confidence (E. B. Wilson, 1927):
//
//	centre = (p + z²/2n) / (1 + z²/n)
//	half   = z / (1 + z²/n) * sqrt(p(1-p)/n + z²/4n²)
//
// with p = k/n and z = 1.95996. With n = 0 it returns [0, 1].
func Wilson(k, n int) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	p := float64(k) / float64(n)
	nf := float64(n)
	z2 := z95 * z95
	denom := 1 + z2/nf
	centre := (p + z2/(2*nf)) / denom
	half := z95 / denom * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return max(centre-half, 0), min(centre+half, 1)
}

// Quantiles are latency percentiles in seconds. N is the number of values
// they were taken over; all are 0 when N is 0.
type Quantiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// Get returns the percentile p (50, 90, 95 or 99).
func (q Quantiles) Get(p int) float64 {
	switch p {
	case 50:
		return q.P50
	case 90:
		return q.P90
	case 95:
		return q.P95
	case 99:
		return q.P99
	}
	return math.NaN()
}

// quantilesOf sorts ds in place and returns its nearest-rank percentiles.
func quantilesOf(ds []time.Duration) Quantiles {
	if len(ds) == 0 {
		return Quantiles{}
	}
	slices.Sort(ds)
	return Quantiles{
		N:   len(ds),
		P50: nearestRank(ds, 50).Seconds(),
		P90: nearestRank(ds, 90).Seconds(),
		P95: nearestRank(ds, 95).Seconds(),
		P99: nearestRank(ds, 99).Seconds(),
	}
}

// nearestRank returns the p-th percentile of sorted values: the value at
// rank ceil(p/100 * n), counting from 1. It works in integers, so that
// p95 of 20 values is rank 19 and not 20 through floating-point error.
func nearestRank(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}
