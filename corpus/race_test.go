//go:build race

package corpus

// raceEnabled: the race detector slows the tokenizer several times, so the
// heaviest sweeps thin out under it.
const raceEnabled = true
