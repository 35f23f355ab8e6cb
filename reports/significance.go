package reports

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Names of the tests ProportionTest runs.
const (
	TestZ      = "two-proportion z-test"
	TestFisher = "Fisher's exact test"
)

// fisherBelow is the smallest expected cell count at which the z-test's
// normal approximation is trusted (the usual rule of thumb: every expected
// count at least 5); below it ProportionTest runs Fisher's exact test.
const fisherBelow = 5

// ProportionTest tests whether x1 successes in n1 trials and x2 in n2 come
// from the same proportion, and returns the two-sided p-value and the name
// of the test run:
//
//   - the pooled two-proportion z-test (the chi-squared test of a 2x2 table
//     without continuity correction, R's prop.test(correct = FALSE)):
//     z = (p1 - p2) / sqrt(p(1-p)(1/n1 + 1/n2)), p = (x1+x2)/(n1+n2);
//   - Fisher's exact test (R's fisher.test) when any expected cell count
//     of the 2x2 table is below 5, where the normal approximation fails.
//
// With n1 or n2 zero there is nothing to test: p is 1.
func ProportionTest(x1, n1, x2, n2 int) (p float64, test string) {
	if n1 <= 0 || n2 <= 0 {
		return 1, ""
	}
	x1, x2 = min(max(x1, 0), n1), min(max(x2, 0), n2)
	n := float64(n1 + n2)
	succ, fail := float64(x1+x2), float64(n1+n2-x1-x2)
	minExpected := math.Min(succ, fail) * float64(min(n1, n2)) / n
	if minExpected < fisherBelow {
		return fisherExact(x1, n1, x2, n2), TestFisher
	}
	pool := succ / n
	se := math.Sqrt(pool * (1 - pool) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 {
		return 1, TestZ
	}
	z := (float64(x1)/float64(n1) - float64(x2)/float64(n2)) / se
	return math.Min(1, 2*distuv.UnitNormal.Survival(math.Abs(z))), TestZ
}

// fisherExact is the two-sided p-value of Fisher's exact test of the table
// [[x1, n1-x1], [x2, n2-x2]]: the probability, under the hypergeometric
// distribution with the table's margins, of every table at most as likely
// as the one observed.
func fisherExact(x1, n1, x2, n2 int) float64 {
	k := x1 + x2 // successes in all
	lo, hi := max(0, k-n2), min(k, n1)
	logP := func(a int) float64 {
		return lchoose(n1, a) + lchoose(n2, k-a) - lchoose(n1+n2, k)
	}
	observed := logP(x1)
	// R's relative tolerance, so that tables as likely as the observed
	// one count despite rounding.
	const relErr = 1 + 1e-7
	var p float64
	for a := lo; a <= hi; a++ {
		if lp := logP(a); lp <= observed+math.Log(relErr) {
			p += math.Exp(lp)
		}
	}
	return math.Min(1, p)
}

// lchoose is log(n choose k).
func lchoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}
