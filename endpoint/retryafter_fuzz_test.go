package endpoint

import (
	"math"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"
)

// fzRetryAfterMax is the longest wait a Retry-After may be taken to ask
// for: beyond it a value is not believed, in any of its forms.
const fzRetryAfterMax = 1e9 * time.Second

// FuzzRetryAfterOneRule checks parseRetryAfter on any Retry-After and
// retry-after-ms values: the wait is never negative and never beyond
// fzRetryAfterMax, and one rule covers both forms of Retry-After: a delay
// of s seconds and the HTTP date s seconds ahead give the same wait
// (within the date's one-second resolution).
func FuzzRetryAfterOneRule(f *testing.F) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{"7", "0.5", "120", "99999999999", "1e9", "1e10", "Fri, 31 Dec 9999 23:59:59 GMT",
		now.Add(90 * time.Second).Format(http.TimeFormat), "-3", "2e9", "NaN", "Inf", "-Inf", "1e-9", "0x10", " 5 ", ""} {
		f.Add(s, "")
	}
	f.Add("1", "250")
	f.Add("", "1e15")
	f.Add("", "NaN")
	f.Add("", "-1")
	// Outside the fixes the endpoint package is making, the checks of
	// what the issue asks for are reported but do not fail.
	pending := os.Getenv("NEEDLESTORM_HOSTILE_PENDING") == "1"
	f.Fuzz(func(t *testing.T, ra, ms string) {
		h := http.Header{}
		if ra != "" {
			h.Set("Retry-After", ra)
		}
		if ms != "" {
			h.Set("Retry-After-Ms", ms)
		}
		fail := t.Errorf
		if pending {
			fail = t.Logf
		}
		d := parseRetryAfter(h, now)
		if d < 0 || d > fzRetryAfterMax {
			fail("Retry-After %q, retry-after-ms %q: a wait of %v (%g s)", ra, ms, d, d.Seconds())
		}
		s, err := strconv.ParseFloat(ra, 64)
		if ms != "" || err != nil || math.IsNaN(s) || s < 1 || s > 3e9 {
			return
		}
		date := now.Add(time.Duration(s * float64(time.Second))).UTC().Format(http.TimeFormat)
		byDate := parseRetryAfter(http.Header{"Retry-After": {date}}, now)
		if diff := byDate - d; diff < -time.Second || diff > time.Second {
			fail("Retry-After %q waits %v, the same delay as the date %q %v: one rule must cover both", ra, d, date, byDate)
		}
	})
}
