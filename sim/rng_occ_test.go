package sim

import "testing"

// TestOccurrencesBounded checks that counting prompts keeps at most two
// generations of maxOccurrences entries, and that a prompt seen recently
// keeps its count across a generation change.
func TestOccurrencesBounded(t *testing.T) {
	var o occurrences
	if n := o.next(42); n != 0 {
		t.Fatalf("first sighting %d, want 0", n)
	}
	if n := o.next(42); n != 1 {
		t.Fatalf("second sighting %d, want 1", n)
	}
	for h := uint64(1000); h < 1000+3*maxOccurrences; h++ {
		o.next(h)
		if h%maxOccurrences == 0 {
			o.next(7) // a prompt that keeps coming back
		}
	}
	if len(o.cur) > maxOccurrences || len(o.prev) > maxOccurrences {
		t.Fatalf("generations hold %d and %d prompts, want at most %d each", len(o.cur), len(o.prev), maxOccurrences)
	}
	if n := o.next(7); n != 3 {
		t.Errorf("recurring prompt seen %d times before, want 3", n)
	}
}
