package reports

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseSLO(t *testing.T) {
	rate := func(f float64) *float64 { return &f }
	tests := []struct {
		in      string
		latency []LatencyObjective
		errRate *float64
	}{
		{"", nil, nil},
		{" , ", nil, nil},
		{"ttft_p95=2s,e2e_p95=30s,error_rate=0.01", []LatencyObjective{{"ttft", 95, 2}, {"e2e", 95, 30}}, rate(0.01)},
		{"TTFT_P50 = 500ms", []LatencyObjective{{"ttft", 50, 0.5}}, nil},
		{"tpot_p99=80ms,chunk_gap_p90=1.5s", []LatencyObjective{{"tpot", 99, 0.08}, {"chunk_gap", 90, 1.5}}, nil},
		{"chunk_gaps_p95=1s", []LatencyObjective{{"chunk_gap", 95, 1}}, nil},
		{"error_rate=2%", nil, rate(0.02)},
		{"error_rate=0", nil, rate(0)},
	}
	for _, tt := range tests {
		o, err := ParseSLO(tt.in)
		if err != nil {
			t.Errorf("ParseSLO(%q): %v", tt.in, err)
			continue
		}
		if len(o.Latency) != len(tt.latency) {
			t.Errorf("ParseSLO(%q) latency = %+v, want %+v", tt.in, o.Latency, tt.latency)
			continue
		}
		for i := range tt.latency {
			if o.Latency[i].Metric != tt.latency[i].Metric || o.Latency[i].Percentile != tt.latency[i].Percentile || !near(o.Latency[i].Max, tt.latency[i].Max) {
				t.Errorf("ParseSLO(%q) latency[%d] = %+v, want %+v", tt.in, i, o.Latency[i], tt.latency[i])
			}
		}
		if (o.ErrorRate == nil) != (tt.errRate == nil) || (o.ErrorRate != nil && !near(*o.ErrorRate, *tt.errRate)) {
			t.Errorf("ParseSLO(%q) error rate = %v, want %v", tt.in, o.ErrorRate, tt.errRate)
		}
	}
}

func TestParseSLOErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string // part of the message the user needs
	}{
		{"latency_p95=2s", "unknown objective \"latency_p95\": supported are ttft, tpot, e2e"},
		{"ttft=2s", "name a percentile"},
		{"ttft_p97=2s", "name a percentile"},
		{"ttft_p95=2", "give the duration a unit, such as 2s"},
		{"ttft_p95=fast", "not a duration"},
		{"ttft_p95=-1s", "above zero"},
		{"ttft_p95", "write it as name=value"},
		{"=2s", "write it as name=value"},
		{"ttft_p95=2s,ttft_p95=3s", "given twice"},
		{"error_rate=1.5", "between 0 and 1"},
		{"error_rate=lots", "not a number"},
		{"error_rate=NaN", "between 0 and 1"},
	}
	for _, tt := range tests {
		_, err := ParseSLO(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSLO(%q) error = %v, want one containing %q", tt.in, err, tt.want)
		}
	}
}

func TestObjectivesRoundTrip(t *testing.T) {
	in := "ttft_p95=2s,e2e_p99=30s,tpot_p50=45ms,error_rate=0.01"
	o, err := ParseSLO(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.String(); got != in {
		t.Errorf("String() = %q, want %q", got, in)
	}
	o.Accuracy, o.AccuracyRelative = 0.9, true
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeObjectives(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.String() != in || back.Accuracy != 0.9 || !back.AccuracyRelative {
		t.Errorf("decoded %+v from %s", back, b)
	}
	if _, err := DecodeObjectives(json.RawMessage(`{"latency":[{"metric":"speed","percentile":95,"max":1}]}`)); err == nil {
		t.Error("DecodeObjectives accepted an unknown metric")
	}
	if o, err := DecodeObjectives(nil); err != nil || o.AccuracyThreshold() != DefaultAccuracy {
		t.Errorf("DecodeObjectives(nil) = %+v, %v", o, err)
	}
}

// FuzzParseSLO checks that the parser never panics and that whatever it
// accepts prints back to something it parses to the same objectives.
func FuzzParseSLO(f *testing.F) {
	f.Add("ttft_p95=2s,e2e_p95=30s,error_rate=0.01")
	f.Add("chunk_gap_p99=1.5s")
	f.Add("error_rate=5%")
	f.Add("ttft_p95==2s,,")
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseSLO(s)
		if err != nil {
			return
		}
		for _, l := range o.Latency {
			if l.Max <= 0 {
				t.Fatalf("accepted non-positive bound in %q", s)
			}
		}
		if o.ErrorRate != nil && (*o.ErrorRate < 0 || *o.ErrorRate > 1) {
			t.Fatalf("accepted error rate %v from %q", *o.ErrorRate, s)
		}
		again, err := ParseSLO(o.String())
		if err != nil {
			t.Fatalf("ParseSLO(%q) accepted, but its String %q does not parse: %v", s, o.String(), err)
		}
		if len(again.Latency) != len(o.Latency) || (again.ErrorRate == nil) != (o.ErrorRate == nil) {
			t.Fatalf("round trip of %q changed %+v into %+v", s, o, again)
		}
	})
}
