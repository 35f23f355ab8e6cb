package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"run", "run", 0}, {"rn", "run", 1}, {"rnu", "run", 1}, {"kitten", "sitting", 3},
		{"", "abc", 3}, {"längd", "langd", 1},
	} {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestClosest(t *testing.T) {
	cmds := []string{"run", "report", "compare", "route", "merge"}
	for _, tt := range []struct{ s, want string }{
		{"rn", "run"}, {"RUN", "run"}, {"rpeort", "report"}, {"comp", "compare"}, {"zzzzzz", ""}, {"", ""},
	} {
		if got := Closest(tt.s, cmds); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.s, got, tt.want)
		}
	}
	if got := Closest("x", nil); got != "" {
		t.Errorf("Closest over nothing = %q", got)
	}
}
