package sim

import "math"

// Accuracy is the probability that the server answers one asked key right,
// given the kept prompt length in tokens, the needle's depth in [0, 1] within
// the kept text, and the number of requests queued ahead on arrival:
//
//	BaseAccuracy
//	  * (1 - MiddleDip * 4d(1-d) * min(1, length/EffectiveLength))   lost in the middle
//	  * exp(-LengthFalloff * (length/EffectiveLength - 1))           past EffectiveLength only
//	  * (1 - LoadPenalty * q/(q+MaxSeqs))                            a deep queue
//
// With EffectiveLength 0 the middle dip is at full strength at every length
// and there is no length falloff.
func (c Config) Accuracy(length int, depth float64, queued int) float64 {
	d := math.Max(0, math.Min(1, depth))
	scale := 1.0
	if c.EffectiveLength > 0 {
		scale = math.Min(1, float64(length)/float64(c.EffectiveLength))
	}
	p := c.BaseAccuracy * (1 - c.MiddleDip*4*d*(1-d)*scale)
	if c.EffectiveLength > 0 && length > c.EffectiveLength {
		p *= math.Exp(-c.LengthFalloff * (float64(length)/float64(c.EffectiveLength) - 1))
	}
	if queued > 0 {
		q := float64(queued)
		p *= 1 - c.LoadPenalty*q/(q+float64(c.MaxSeqs))
	}
	return clamp01(p)
}
