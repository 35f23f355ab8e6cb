package probes

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"  \t\n ", ""},
		{"Hello, World!", "hello world"},
		{"1,234,567", "1234567"},
		{"1'234'567", "1234567"},
		{"1\u202f234", "1234"},
		{"1_000", "1000"},
		{"1,2345", "1 2345"},  // not a thousands group
		{"1,23", "1 23"},      // not a thousands group
		{"12, 345", "12 345"}, // a list, not a number
		{"a,123", "a 123"},    // no digit before the comma
		{"**7429**.", "7429"}, // markdown and punctuation
		{"Blue-Whale", "blue whale"},
		{"550E8400-E29B-41D4", "550e8400 e29b 41d4"},
		{"ÉCOLE Ünter", "école ünter"},
		{"The value is:\n\n  42", "the value is 42"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMatchAnswer(t *testing.T) {
	tests := []struct {
		name     string
		expected []string
		answer   string
		want     Match
	}{
		{"exact", []string{"1234567"}, "1234567", Match{Strict: true, Recall: 1, Any: true}},
		{"case and punctuation", []string{"Lantern"}, "The word is \"lantern\".", Match{Strict: true, Recall: 1, Any: true}},
		{"thousands separators in answer", []string{"1234567"}, "It is 1,234,567.", Match{Strict: true, Recall: 1, Any: true}},
		{"thousands separators in expected", []string{"1,234,567"}, "1234567", Match{Strict: true, Recall: 1, Any: true}},
		{"not inside a longer number", []string{"12345"}, "9123456", Match{}},
		{"not a prefix of a word", []string{"cat"}, "category", Match{}},
		{"uuid", []string{"550e8400-e29b-41d4-a716-446655440000"}, "id: 550E8400-E29B-41D4-A716-446655440000", Match{Strict: true, Recall: 1, Any: true}},
		{"partial", []string{"11", "22", "33", "44"}, "11 and 33", Match{Recall: 0.5, Any: true}},
		{"null", []string{"11"}, "  ...  ", Match{Null: true}},
		{"empty", []string{"11"}, "", Match{Null: true}},
		{"nothing expected", nil, "42", Match{}},
		{"empty expected value never found", []string{""}, "42", Match{}},
		{"repeated expected values", []string{"7", "7"}, "7", Match{Strict: true, Recall: 1, Any: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchAnswer(tt.expected, tt.answer); got != tt.want {
				t.Errorf("MatchAnswer(%q, %q) = %+v, want %+v", tt.expected, tt.answer, got, tt.want)
			}
		})
	}
}

func TestIsRefusal(t *testing.T) {
	tests := []struct {
		answer string
		want   bool
	}{
		{"I can't help with that.", true},
		{"I cannot assist with this request.", true},
		{"I’m sorry, but I won’t do that.", true},
		{"As an AI, I must decline.", true},
		{"I cannot find the number in the text.", false},
		{"I'm sorry, but I couldn't find any mention of it.", false},
		{"The text does not contain that key.", false},
		{"The number is 42.", false},
		{"", false},
		{"I cantaloupe", false},
	}
	for _, tt := range tests {
		if got := IsRefusal(tt.answer); got != tt.want {
			t.Errorf("IsRefusal(%q) = %v, want %v", tt.answer, got, tt.want)
		}
	}
}

// FuzzMatchAnswer checks invariants on arbitrary answers, such as text
// from records: no panic, Recall within [0,1] and consistent with Strict and
// Any, Normalize idempotent and free of double spaces, and a value is always
// found in an answer made of itself.
func FuzzMatchAnswer(f *testing.F) {
	f.Add("1,234,567", "1234567")
	f.Add("Blue-Whale.", "blue whale")
	f.Add("\u202f1\u202f", "9123456")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, expected, answer string) {
		m := MatchAnswer([]string{expected}, answer)
		if m.Recall < 0 || m.Recall > 1 {
			t.Fatalf("recall %v out of range", m.Recall)
		}
		if m.Strict != (m.Recall == 1) || m.Any != (m.Recall > 0) {
			t.Fatalf("inconsistent match %+v", m)
		}
		n := Normalize(answer)
		if Normalize(n) != n {
			t.Fatalf("Normalize not idempotent on %q: %q then %q", answer, n, Normalize(n))
		}
		if strings.Contains(n, "  ") || strings.HasPrefix(n, " ") || strings.HasSuffix(n, " ") {
			t.Fatalf("Normalize(%q) = %q has stray spaces", answer, n)
		}
		if utf8.ValidString(expected) && Normalize(expected) != "" && !Contains(expected, expected) {
			t.Fatalf("%q not found in itself", expected)
		}
	})
}

func BenchmarkMatchAnswer(b *testing.B) {
	answer := strings.Repeat("The special magic number mentioned in the text is 1,234,567 and also ", 8) + "7654321."
	expected := []string{"1234567", "7654321", "550e8400-e29b-41d4-a716-446655440000"}
	b.ReportAllocs()
	b.SetBytes(int64(len(answer)))
	for b.Loop() {
		MatchAnswer(expected, answer)
	}
}
