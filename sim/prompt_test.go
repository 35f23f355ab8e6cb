package sim

import (
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/corpus"
)

func TestKeepSpans(t *testing.T) {
	p := prompt{total: 100}
	tests := []struct {
		mode  string
		limit int
		want  []span
	}{
		{OverflowTruncateLeft, 100, []span{{0, 100}}},
		{OverflowTruncateLeft, 30, []span{{70, 100}}},
		{OverflowTruncateRight, 30, []span{{0, 30}}},
		{OverflowTruncateMiddle, 30, []span{{0, 15}, {85, 100}}},
		{OverflowTruncateMiddle, 31, []span{{0, 15}, {84, 100}}},
		{OverflowTruncateLeft, 0, []span{{100, 100}}},
	}
	for _, tt := range tests {
		got := p.keep(tt.limit, tt.mode)
		if len(got) != len(tt.want) {
			t.Fatalf("%s limit %d: %v, want %v", tt.mode, tt.limit, got, tt.want)
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Fatalf("%s limit %d: %v, want %v", tt.mode, tt.limit, got, tt.want)
			}
		}
		if c := count(got); c != min(tt.limit, 100) {
			t.Errorf("%s limit %d keeps %d tokens", tt.mode, tt.limit, c)
		}
	}
}

// TestKeptText checks that each overflow mode keeps the right words of a
// two-message prompt, decoded across the message boundary.
func TestKeptText(t *testing.T) {
	tok, err := corpus.GetTokenizer("")
	if err != nil {
		t.Fatal(err)
	}
	sys := "HEADMARK alpha beta gamma delta"
	user := strings.Repeat(" filler", 200) + " MIDMARK" + strings.Repeat(" filler", 200) + " TAILMARK"
	p := tokenize(tok, []string{sys, user})
	if p.total != tok.Count(sys)+tok.Count(user) {
		t.Fatalf("total %d, want sum of counts", p.total)
	}
	tests := []struct {
		mode       string
		has, lacks []string
	}{
		{OverflowTruncateLeft, []string{"TAILMARK"}, []string{"HEADMARK", "MIDMARK"}},
		{OverflowTruncateRight, []string{"HEADMARK"}, []string{"TAILMARK", "MIDMARK"}},
		{OverflowTruncateMiddle, []string{"HEADMARK", "TAILMARK"}, []string{"MIDMARK"}},
	}
	for _, tt := range tests {
		kept := p.keep(100, tt.mode)
		text := p.text(tok, kept)
		if got := count(kept); got != 100 {
			t.Errorf("%s keeps %d tokens, want 100", tt.mode, got)
		}
		for _, w := range tt.has {
			if !strings.Contains(text, w) {
				t.Errorf("%s: kept text lacks %s", tt.mode, w)
			}
		}
		for _, w := range tt.lacks {
			if strings.Contains(text, w) {
				t.Errorf("%s: kept text still has %s", tt.mode, w)
			}
		}
	}
	whole := p.text(tok, p.keep(p.total, OverflowTruncateLeft))
	if whole != sys+"\n"+user {
		t.Errorf("untruncated text is not the contents joined by newline")
	}
}
