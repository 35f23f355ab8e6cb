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

// The latent task (needles that share no word with the question) is
// harder than single at the same length: a model must recall an
// association, not match a string. Its curve is single's at a stretched
// length, raised to a power:
//
//	LatentAccuracy(length, d, q) = Accuracy(latentStretch*length, d, q)^latentPower
//
// so its effective length is a quarter of single's (the earlier drop
// NoLiMa measures) and its accuracy is lower at every length (0.97 short
// becomes 0.94). A faithful server (accuracy 1 everywhere) stays faithful.
const (
	latentStretch = 4
	latentPower   = 2
)

// LatentAccuracy is the probability of a right answer to a latent
// question whose needle sits at depth in the kept text of length tokens.
func (c Config) LatentAccuracy(length int, depth float64, queued int) float64 {
	return math.Pow(c.Accuracy(latentStretch*length, depth, queued), latentPower)
}

// The cwe task (common words extraction) asks for the most common words
// of a list spread over the whole context: each word is recalled with
// probability
//
//	CWEAccuracy(length, q) = Accuracy(cweStretch*length, 0.5, q)
//
// taken at mid depth (the list spans the context, so the middle dip
// applies in full) and at twice the length (counting over the whole
// context is harder than finding one sentence), so recall falls with
// length earlier than single's accuracy.
const cweStretch = 2

// CWEAccuracy is the probability that one of a cwe question's most common
// words is in the answer, for kept text of length tokens.
func (c Config) CWEAccuracy(length, queued int) float64 {
	return c.Accuracy(cweStretch*length, 0.5, queued)
}
