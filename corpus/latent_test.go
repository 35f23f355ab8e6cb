package corpus

import (
	"strings"
	"testing"
)

// TestLandmarksShareNoWord checks every pair of the latent table: its
// question and its needle share no content word, at least 100 pairs
// exist, and no landmark is listed twice.
func TestLandmarksShareNoWord(t *testing.T) {
	if len(Landmarks) < 100 {
		t.Fatalf("%d landmarks, want at least 100", len(Landmarks))
	}
	seen := map[string]bool{}
	for _, l := range Landmarks {
		key := strings.ToLower(l.Landmark)
		if seen[key] {
			t.Errorf("landmark %q listed twice", l.Landmark)
		}
		seen[key] = true
		q := contentWords(LatentQuestion(l))
		for w := range contentWords(LatentNeedle("Yuki", l)) {
			if q[w] {
				t.Errorf("%q and %q share the word %q", LatentNeedle("Yuki", l), LatentQuestion(l), w)
			}
		}
	}
}
