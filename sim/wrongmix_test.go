package sim

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/probes"
)

func TestWrongMixParse(t *testing.T) {
	var c Config
	if err := json.Unmarshal([]byte(`{"wrong_mix": {"not_found": 0.3, "distractor": 0.4, "hallucinated": 0.3}}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.WrongMix != "distractor=0.4,hallucinated=0.3,not_found=0.3" {
		t.Fatalf("WrongMix = %q", c.WrongMix)
	}
	ws, err := c.WrongMix.Parse()
	if err != nil || ws != (wrongWeights{0, 0.4, 0.3, 0.3}) {
		t.Fatalf("Parse = %v, %v", ws, err)
	}
	if ws, err := WrongMix("").Parse(); err != nil || ws[0] == 0 || ws[1] == 0 || ws[2] == 0 || ws[3] == 0 {
		t.Errorf("the default mix %v (%v) should give every kind a weight", ws, err)
	}
	for _, bad := range []WrongMix{"distractor", "typo=0.5", "distractor=-1", "distractor=x", "distractor=0", "not_found=0.5,not_found=0.5"} {
		if _, err := bad.Parse(); err == nil {
			t.Errorf("Parse(%q) took it", bad)
		}
	}
	cfg, err := Profile("fast")
	if err != nil {
		t.Fatal(err)
	}
	cfg.WrongMix = "halucinated=1"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "wrong_mix") || !strings.Contains(err.Error(), "hallucinated") {
		t.Errorf("Validate = %v, want a wrong_mix error naming the kinds", err)
	}
}

// TestComposeWrongKinds: every wrong answer is of a kind the mix allows,
// as the scorer classifies it, and the default mix gives every kind.
func TestComposeWrongKinds(t *testing.T) {
	text := "One of the special magic numbers for jolly-yak is: 1111111. One of the special magic numbers for jolly-yak is: 2222222. " +
		"One of the special magic numbers for shy-newt is: 7777777.\nQuestion: What are all the special magic numbers for jolly-yak mentioned in the provided text?"
	r := corpus.ReadPrompt(text)
	if len(r.Asks) != 1 || len(r.Asks[0].Values) != 2 || len(r.Distractors) != 1 {
		t.Fatalf("reading %+v", r)
	}
	for _, mix := range []WrongMix{"", "distractor=1", "not_found=1", "hallucinated=1", "partial=1"} {
		c := Config{BaseAccuracy: 0, MaxSeqs: 1, WrongMix: mix}
		got := map[probes.Miss]int{}
		for i := range uint64(400) {
			g := newRNG(9, i, 0, streamAnswer)
			a := c.compose(r, text, 100, 0, &g)
			got[probes.ClassifyMiss(probes.MissFacts{Answer: a.text, Expected: r.Asks[0].Values, Distractors: r.Distractors, Prompt: text})]++
		}
		if mix == "" {
			for _, k := range []probes.Miss{probes.MissPartial, probes.MissDistractor, probes.MissNotFound, probes.MissHallucinated} {
				if got[k] < 40 {
					t.Errorf("default mix: %d %s of 400 (%v)", got[k], k, got)
				}
			}
			continue
		}
		kind := probes.Miss(strings.TrimSuffix(string(mix), "=1"))
		if got[kind] != 400 {
			t.Errorf("mix %s: kinds %v, want all %s", mix, got, kind)
		}
	}
}

func TestInvent(t *testing.T) {
	text := "values 1234567 and 0f8b5a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b and lantern"
	for _, like := range []string{"1234567", "12345", "0f8b5a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "lantern"} {
		seen := map[string]bool{}
		for pick := range uint64(50) {
			v := invent([]string{like}, nil, text, pick)
			if strings.Contains(text, v) || len(v) == 0 {
				t.Fatalf("invent(%s, %d) = %q, found in the text", like, pick, v)
			}
			switch {
			case allDigitsString(like) && (len(v) != len(like) || !allDigitsString(v) || v[0] == '0'):
				t.Errorf("invent(%s) = %q, want %d digits", like, v, len(like))
			case corpus.IsUUID(like) && (!corpus.IsUUID(v) || v[14] != '4' || !strings.ContainsRune("89ab", rune(v[19]))):
				t.Errorf("invent(%s) = %q, want a v4 uuid", like, v)
			case like == "lantern" && !strings.ContainsFunc(v, func(r rune) bool { return r >= 'a' && r <= 'z' }):
				t.Errorf("invent(%s) = %q, want a word", like, v)
			}
			seen[v] = true
		}
		if len(seen) < 40 {
			t.Errorf("invent(%s) made %d distinct values of 50", like, len(seen))
		}
	}
}
