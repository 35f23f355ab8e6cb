package probes

import (
	"slices"
)

// OverheadSample is one request's token counts, for measuring a target's
// chat-template overhead.
type OverheadSample struct {
	// Length is the Case's requested length; the shortest lengths are
	// measured.
	Length int
	Client int
	Server int
	// OK is true for a successful request.
	OK bool
}

// MinOverheadSamples is how many samples MeasureOverhead wants before it
// stops adding longer lengths.
const MinOverheadSamples = 3

// MeasureOverhead measures a target's chat-template overhead: the median of
// server minus client prompt tokens over successful requests with a server
// count, at the shortest tested length, widened to the next lengths in turn
// until at least MinOverheadSamples samples are in (or none are left).
// Short prompts are the ones least likely to be truncated, and the median
// ignores the odd one that was. It returns false when no sample qualifies.
// With an even number of samples the lower middle value is taken, so the
// result is always an observed difference.
func MeasureOverhead(samples []OverheadSample) (Calibration, bool) {
	byLen := map[int][]int{}
	for _, s := range samples {
		if !s.OK || s.Server <= 0 || s.Client <= 0 {
			continue
		}
		byLen[s.Length] = append(byLen[s.Length], s.Server-s.Client)
	}
	if len(byLen) == 0 {
		return Calibration{}, false
	}
	lengths := make([]int, 0, len(byLen))
	for l := range byLen {
		lengths = append(lengths, l)
	}
	slices.Sort(lengths)
	var diffs []int
	for _, l := range lengths {
		diffs = append(diffs, byLen[l]...)
		if len(diffs) >= MinOverheadSamples {
			break
		}
	}
	slices.Sort(diffs)
	return Calibration{Overhead: diffs[(len(diffs)-1)/2], OverheadKnown: true}, true
}
