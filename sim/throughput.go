package sim

import "time"

// Throughput estimates the requests per wall second the simulator completes
// with concurrency requests kept in flight, from its latency model (Plan):
// each of the min(concurrency, MaxSeqs) sequences decodes alongside the
// others and prefills alone, at the time scale. The prompts are lengths
// (client tokens, cycled), each with the template's overhead; answers are
// the profile's OutputTokens when it pads them to one, answer tokens
// otherwise. A prompt beyond the window costs the base latency when it is
// rejected, and the window when it is truncated. 0 when it cannot be told:
// no concurrency or lengths, or a time scale of 0 (the simulator never
// sleeps, and the client alone limits the rate).
func (c Config) Throughput(concurrency int, lengths []int, answer int) float64 {
	if c.TimeScale <= 0 || concurrency < 1 || len(lengths) == 0 {
		return 0
	}
	active := min(concurrency, c.MaxSeqs)
	if c.OutputTokens > 0 {
		answer = c.OutputTokens
	}
	var total time.Duration
	for _, l := range lengths {
		prompt := l + c.TemplateOverhead
		if c.ContextWindow > 0 && prompt > c.ContextWindow {
			if c.Overflow == OverflowReject {
				total += time.Duration(c.BaseLatency * float64(time.Second))
				continue
			}
			prompt = c.ContextWindow
		}
		total += c.Plan(prompt, answer, Load{Decoding: active - 1}, 0, FaultNone).E2E
	}
	mean := total.Seconds() / float64(len(lengths)) * c.TimeScale
	if mean <= 0 {
		return 0
	}
	return float64(active) / mean
}
