package sim

import (
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/corpus"
)

func TestComposeHandBuiltReadings(t *testing.T) {
	always := Config{BaseAccuracy: 1, MaxSeqs: 1}
	never := Config{BaseAccuracy: 0, MaxSeqs: 1}
	text := "haystack ... the value of happy-falcon is 1234567 ... more"
	tests := []struct {
		name      string
		cfg       Config
		r         corpus.Reading
		has       []string
		lacks     []string
		right     int
		questions int
	}{
		{"right single", always, corpus.Reading{Asks: []corpus.Ask{{Key: "happy-falcon", Values: []string{"1234567"}}}, Distractors: []string{"7654321"}},
			[]string{"1234567", "happy-falcon"}, []string{"7654321"}, 1, 1},
		{"needle cut", always, corpus.Reading{Asks: []corpus.Ask{{Key: "happy-falcon"}}, Distractors: []string{"7654321"}},
			nil, []string{"1234567"}, 0, 1},
		{"wrong never says the value", never, corpus.Reading{Asks: []corpus.Ask{{Key: "happy-falcon", Values: []string{"1234567"}}}, Distractors: []string{"1234567", "42"}},
			nil, []string{"1234567"}, 0, 1},
		{"multivalue right", always, corpus.Reading{Asks: []corpus.Ask{{Key: "k", Values: []string{"11", "22", "33"}}}},
			[]string{"11", "22", "33"}, nil, 1, 1},
		{"multiquery with canaries", always, corpus.Reading{Asks: []corpus.Ask{
			{Key: "head", Values: []string{"h1"}, Canary: true}, {Key: "a", Values: []string{"v1"}}, {Key: "tail", Values: []string{"t1"}, Canary: true}}},
			[]string{"h1", "v1", "t1"}, nil, 3, 3},
		{"question cut", always, corpus.Reading{Distractors: []string{"99"}}, []string{"question"}, []string{"99"}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range int64(20) {
				r := newRNG(seed, 1, 0, streamAnswer)
				a := tt.cfg.compose(tt.r, text, 1000, 0, &r)
				for _, s := range tt.has {
					if !strings.Contains(a.text, s) {
						t.Fatalf("seed %d: %q lacks %q", seed, a.text, s)
					}
				}
				for _, s := range tt.lacks {
					if strings.Contains(a.text, s) {
						t.Fatalf("seed %d: %q has %q", seed, a.text, s)
					}
				}
				if a.right != tt.right || a.asks != tt.questions {
					t.Fatalf("seed %d: right %d/%d, want %d/%d", seed, a.right, a.asks, tt.right, tt.questions)
				}
			}
		})
	}
}

// TestComposeRate checks that the share of right answers follows Accuracy.
func TestComposeRate(t *testing.T) {
	c := Config{BaseAccuracy: 0.7, MaxSeqs: 1}
	r := corpus.Reading{Asks: []corpus.Ask{{Key: "k", Values: []string{"5"}}}, Distractors: []string{"6"}}
	const n = 4000
	right, distract, missing, invented := 0, 0, 0, 0
	for i := range uint64(n) {
		g := newRNG(3, i, 0, streamAnswer)
		a := c.compose(r, "k is 5", 100, 0, &g)
		right += a.right
		if strings.Contains(a.text, "6") {
			distract++
		}
		if strings.Contains(a.text, "cannot find") {
			missing++
		}
		if a.right == 0 && strings.HasPrefix(a.text, "The value for k is ") && !strings.ContainsAny(a.text, "56") {
			invented++
		}
	}
	if got := float64(right) / n; got < 0.67 || got > 0.73 {
		t.Errorf("right share %.3f, want 0.70 +- 0.03", got)
	}
	if distract == 0 || missing == 0 || invented == 0 || right+distract+missing+invented != n {
		t.Errorf("wrong answers should be distractors, 'cannot find' or invented: right %d distract %d missing %d invented %d", right, distract, missing, invented)
	}
}

func TestOutputTokensPadding(t *testing.T) {
	tok, err := corpus.GetTokenizer("")
	if err != nil {
		t.Fatal(err)
	}
	bare := tok.Encode("The value for k is 5.")
	for _, target := range []int{0, 1, len(bare), 40, 41} {
		got := outputTokens(tok, "The value for k is 5.", target)
		if want := max(target, len(bare)); len(got) != want {
			t.Errorf("target %d: %d tokens, want %d", target, len(got), want)
		}
	}
	ps := pieces(tok, tok.Encode("naïve café ✓ 日本語"))
	if strings.Join(ps, "") != "naïve café ✓ 日本語" {
		t.Errorf("pieces do not rebuild the text: %q", ps)
	}
}
