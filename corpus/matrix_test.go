package corpus

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseLengths(t *testing.T) {
	good := map[string][]int{
		"1k,8k,32k":         {1000, 8000, 32000},
		"256":               {256},
		" 1m , 2K ,300":     {1_000_000, 2000, 300},
		"1.5k,0.5m,1.25M":   {1500, 500_000, 1_250_000},
		"128000,1000000,4k": {128000, 1_000_000, 4000},
	}
	for in, want := range good {
		got, err := ParseLengths(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseLengths(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":        "no lengths",
		"1k,,2k":  "empty entry",
		"0":       "positive",
		"-5k":     "positive",
		"abc":     "not a number of tokens",
		"1.2345k": "whole number",
		"3m":      "maximum",
		"1e3":     "not a number",
		"NaN":     "not a number",
		"Infk":    "not a number",
		"0x10":    "not a number",
		"8kb":     "not a number",
	}
	for in, want := range bad {
		_, err := ParseLengths(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseLengths(%q) error %v; want it to say %q", in, err, want)
		}
	}
}

func TestParseDepths(t *testing.T) {
	got, err := ParseDepths("0, 25,50%,75 ,100,12.5")
	if err != nil || !reflect.DeepEqual(got, []float64{0, 25, 50, 75, 100, 12.5}) {
		t.Fatalf("got %v %v", got, err)
	}
	for in, want := range map[string]string{"": "no depths", "101": "outside", "-1": "outside", "x": "not a number", "1,,2": "empty entry", "NaN": "not a number", "0x1p-2": "not a number"} {
		_, err := ParseDepths(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseDepths(%q) error %v; want %q", in, err, want)
		}
	}
}

func TestFormatLength(t *testing.T) {
	for n, want := range map[int]string{1000: "1k", 8000: "8k", 1_000_000: "1m", 1500: "1.5k", 300: "300", 1234: "1234", 256: "256", 128_000: "128k", 1_250_000: "1.25m", 1_000_500: "1000.5k", 2_000_000: "2m"} {
		if got := FormatLength(n); got != want {
			t.Errorf("FormatLength(%d) = %q, want %q", n, got, want)
		}
		back, err := ParseLengths(FormatLength(n))
		if err != nil || back[0] != n {
			t.Errorf("ParseLengths(FormatLength(%d)) = %v, %v", n, back, err)
		}
	}
}

func FuzzParseLengths(f *testing.F) {
	for _, s := range []string{"1k,8k,32k", "256", "1m", "1.5k", "", ",", "-1", "1e9", "9999999999999999999999k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ls, err := ParseLengths(s)
		if err != nil {
			return
		}
		for _, n := range ls {
			if n <= 0 || n > MaxLength {
				t.Fatalf("ParseLengths(%q) gave %d", s, n)
			}
			back, err := ParseLengths(FormatLength(n))
			if err != nil || back[0] != n {
				t.Fatalf("FormatLength(%d) does not parse back: %v %v", n, back, err)
			}
		}
	})
}

func FuzzParseDepths(f *testing.F) {
	for _, s := range []string{"0,25,50,75,100", "50%", "", "101", "1e1", "nan"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ds, err := ParseDepths(s)
		if err != nil {
			return
		}
		for _, d := range ds {
			if !(d >= 0 && d <= 100) {
				t.Fatalf("ParseDepths(%q) gave %v", s, d)
			}
		}
	})
}

// TestMatrixOrder: Cases come task, length, depth, sample, in the order
// given, repeats dropped, defaults filled.
func TestMatrixOrder(t *testing.T) {
	m := Matrix{Tasks: []string{TaskChain, TaskSingle, TaskChain}, Lengths: []int{2000, 1000, 2000}, Depths: []float64{50, 0}, Samples: 2, Seed: 3}
	cs, err := m.Cases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
		if c.PromptTokens != c.Length || c.Seed != 3 || c.Haystack != HaystackProse || c.Encoding != DefaultEncoding {
			t.Fatalf("%+v", c)
		}
	}
	want := []string{
		"chain-2k-d50-s0", "chain-2k-d50-s1", "chain-2k-d0-s0", "chain-2k-d0-s1",
		"chain-1k-d50-s0", "chain-1k-d50-s1", "chain-1k-d0-s0", "chain-1k-d0-s1",
		"single-2k-d50-s0", "single-2k-d50-s1", "single-2k-d0-s0", "single-2k-d0-s1",
		"single-1k-d50-s0", "single-1k-d50-s1", "single-1k-d0-s0", "single-1k-d0-s1",
	}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("order %v", ids)
	}
	d, err := Matrix{Lengths: []int{1000}}.Specs()
	if err != nil || len(d) != len(DefaultDepths) || d[0].Task != TaskSingle {
		t.Fatalf("defaults: %+v %v", d, err)
	}
	// streaming stops early when asked
	n := 0
	for _, err := range m.All(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 3 {
			break
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Cases(ctx); err == nil {
		t.Fatal("canceled context gave no error")
	}
}

// TestMatrixJSON: the matrix's JSON (written into run manifests) uses
// snake_case and round-trips.
func TestMatrixJSON(t *testing.T) {
	m := Matrix{Tasks: []string{"single"}, Lengths: []int{1000}, Depths: []float64{50}, Samples: 2, Haystack: "noise", Encoding: "o200k_base", Seed: 9, Canaries: true, SharedPrefix: true, ValueKind: "uuid", Keys: 3}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"tasks"`, `"lengths"`, `"depths"`, `"samples"`, `"haystack"`, `"encoding"`, `"seed"`, `"canaries"`, `"shared_prefix"`, `"value_kind"`, `"keys"`} {
		if !strings.Contains(string(data), k) {
			t.Fatalf("%s lacks %s", data, k)
		}
	}
	var back Matrix
	if err := json.Unmarshal(data, &back); err != nil || !reflect.DeepEqual(back, m) {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}

// TestBuilderAll: a shared Builder yields the same Cases as the matrix's
// own, and refuses a matrix of another haystack, encoding or seed.
func TestBuilderAll(t *testing.T) {
	m := Matrix{Tasks: []string{TaskMultiQuery}, Lengths: []int{700}, Depths: []float64{20, 80}, Haystack: HaystackNoise, Seed: 4}
	want, err := m.Cases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBuilder(HaystackNoise, "", 4)
	if err != nil {
		t.Fatal(err)
	}
	var got []Case
	for c, err := range b.All(context.Background(), m) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("Builder.All differs from Matrix.Cases")
	}
	m.Seed = 5
	for _, err := range b.All(context.Background(), m) {
		if err == nil || !strings.Contains(err.Error(), "does not match the builder") {
			t.Fatalf("mismatched seed: %v", err)
		}
	}
}
