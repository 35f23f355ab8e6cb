package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Wrong-answer kinds the server can give, named as probes names the
// misses it finds in them (probes.Miss).
const (
	WrongPartial      = "partial"
	WrongDistractor   = "distractor"
	WrongNotFound     = "not_found"
	WrongHallucinated = "hallucinated"
)

// WrongKinds lists the wrong-answer kinds in a stable order.
var WrongKinds = []string{WrongPartial, WrongDistractor, WrongNotFound, WrongHallucinated}

// DefaultWrongMix is the mix of wrong answers when Config.WrongMix is
// empty.
const DefaultWrongMix WrongMix = "distractor=0.35,hallucinated=0.2,not_found=0.25,partial=0.2"

// WrongMix is the relative weight of each kind of wrong answer, written
// "distractor=0.4,not_found=0.3,hallucinated=0.3" (the form of a flag, and
// a string keeps Config comparable); a campaign's sim settings may give
// it as a mapping {distractor: 0.4, not_found: 0.3}, stored in that form,
// its kinds sorted. A kind left out has weight 0. A wrong answer draws
// its kind among those the prompt allows (partial needs several values,
// distractor a value stated for another key), by their weights; when it
// allows none with weight, it says the value cannot be found.
type WrongMix string

// UnmarshalJSON reads the string form or an object of weights.
func (w *WrongMix) UnmarshalJSON(b []byte) error {
	s, err := weightsText(b, "wrong_mix: give a mapping of wrong-answer kind to weight, such as {distractor: 0.4, not_found: 0.3, hallucinated: 0.3}")
	*w = WrongMix(s)
	return err
}

// weightsText reads a JSON string as it is, or an object of names to
// numbers as the string form "a=0.4,b=0.3", its names sorted; hint is
// the error for anything else.
func weightsText(b []byte, hint string) (string, error) {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		return s, nil
	}
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		return "", errors.New(hint)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.FormatFloat(m[k], 'g', -1, 64)
	}
	return strings.Join(parts, ","), nil
}

// wrongWeights are the weights of WrongKinds, in its order.
type wrongWeights [4]float64

// Parse reads the weights (the default mix when w is empty). Every kind
// must be one of WrongKinds, every weight a number of at least 0, and
// their sum positive.
func (w WrongMix) Parse() (wrongWeights, error) {
	var ws wrongWeights
	s := strings.TrimSpace(string(w))
	if s == "" {
		s = string(DefaultWrongMix)
	}
	seen := map[string]bool{}
	sum := 0.0
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return ws, fmt.Errorf("%q: write kinds and weights as distractor=0.4,not_found=0.3,hallucinated=0.3", part)
		}
		i := slices.Index(WrongKinds, k)
		if i < 0 {
			return ws, fmt.Errorf("%q is not a wrong-answer kind: use %s", k, strings.Join(WrongKinds, ", "))
		}
		if seen[k] {
			return ws, fmt.Errorf("kind %q is given twice", k)
		}
		seen[k] = true
		p, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(p >= 0 && p <= 1e9) {
			return ws, fmt.Errorf("%s=%s: the weight must be a number of at least 0", k, strings.TrimSpace(v))
		}
		ws[i] = p
		sum += p
	}
	if !(sum > 0) {
		return ws, fmt.Errorf("%q: at least one kind needs a weight above 0", s)
	}
	return ws, nil
}

// wrongMix is the parsed mix of the config (Validate refused a bad one).
func (c Config) wrongMix() wrongWeights {
	ws, err := c.WrongMix.Parse()
	if err != nil {
		ws, _ = DefaultWrongMix.Parse()
	}
	return ws
}

// pick chooses a kind by weight among those allowed (allowed[i] for
// WrongKinds[i]), with u uniform in [0, 1); WrongNotFound when none
// allowed has weight.
func (ws wrongWeights) pick(allowed [4]bool, u float64) string {
	sum := 0.0
	for i, w := range ws {
		if allowed[i] {
			sum += w
		}
	}
	if sum <= 0 {
		return WrongNotFound
	}
	x := u * sum
	last := WrongNotFound
	for i, w := range ws {
		if !allowed[i] || w <= 0 {
			continue
		}
		last = WrongKinds[i]
		if x < w {
			return last
		}
		x -= w
	}
	return last
}
