package reports

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseRequirement(t *testing.T) {
	tests := []struct {
		in   string
		want Requirement
	}{
		{"length=32k,rate=4", Requirement{Length: 32000, Rate: 4}},
		{" length = 1.5k , rate = 0.5/s ", Requirement{Length: 1500, Rate: 0.5}},
		{"len=8000", Requirement{Length: 8000}},
		{"context=1m,ttft_p95=2s,e2e_p99=30s", Requirement{Length: 1_000_000, Latency: []LatencyObjective{{MetricTTFT, 95, 2}, {MetricE2E, 99, 30}}}},
		{"length=4k,chunk_gaps_p99=250ms,accuracy=90%", Requirement{Length: 4000, Latency: []LatencyObjective{{MetricChunkGap, 99, 0.25}}, Accuracy: 0.9}},
		{"LENGTH=4K,RATE=2,accuracy=0.95", Requirement{Length: 4000, Rate: 2, Accuracy: 0.95}},
	}
	for _, tt := range tests {
		got, err := ParseRequirement(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: %+v, want %+v", tt.in, got, tt.want)
		}
		back, err := ParseRequirement(got.String())
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Errorf("%q: String() %q reads back as %+v (%v)", tt.in, got.String(), back, err)
		}
	}
}

func TestParseRequirementErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "needs a length"},
		{"rate=4", "needs a length"},
		{"length=32k,rate=4,rate=5", "rate is given twice"},
		{"length=32k,len=8k", "length is given twice"},
		{"length", "write it as name=value"},
		{"length=", "write it as name=value"},
		{"length=32q", "is not a number of tokens"},
		{"length=0", "positive number of tokens"},
		{"length=32k,rate=fast", "requirement rate=fast: not a number"},
		{"length=32k,rate=-1", "above zero"},
		{"length=32k,rate=NaN", "above zero"},
		{"length=32k,rate=Inf", "above zero"},
		{"length=32k,accuracy=85", "give a fraction"},
		{"length=32k,accuracy=0", "give a fraction"},
		{"length=32k,ttft_p95=2", "give the duration a unit"},
		{"length=32k,ttft_p97=2s", "name a percentile"},
		{"length=32k,speed=2", `unknown requirement part "speed"`},
		{"length=32k,error_rate=0.01", "give it with --slo"},
	}
	for _, tt := range tests {
		_, err := ParseRequirement(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want one containing %q", tt.in, err, tt.want)
		}
	}
}

func TestRequirementValidate(t *testing.T) {
	tests := []struct {
		r    Requirement
		want string
	}{
		{Requirement{Length: 4000, Rate: 2}, ""},
		{Requirement{Rate: 2}, "needs a length"},
		{Requirement{Length: 4000, Rate: -2}, "rate -2"},
		{Requirement{Length: 4000, Accuracy: 2}, "accuracy 2"},
		{Requirement{Length: 4000, Latency: []LatencyObjective{{Metric: "speed", Percentile: 95, Max: 1}}}, "latency speed_p95"},
		{Requirement{Length: 4000, Latency: []LatencyObjective{{Metric: MetricTTFT, Percentile: 95, Max: 0}}}, "latency ttft_p95"},
	}
	for _, tt := range tests {
		err := tt.r.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%+v: %v, want %q", tt.r, err, tt.want)
		}
	}
	// Build refuses an invalid requirement rather than answering nonsense.
	if _, err := Build(nil, nil, Options{Requirement: &Requirement{Rate: 4}}); err == nil || !strings.Contains(err.Error(), "needs a length") {
		t.Errorf("Build with a requirement without a length: %v", err)
	}
}

func FuzzParseRequirement(f *testing.F) {
	for _, s := range []string{"length=32k,rate=4", "len=1.5k,ttft_p95=2s,accuracy=90%", "length=1m,rate=0.25/s,e2e_p99=1m30s", "rate=4", ",,", "length=1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRequirement(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if r.Length <= 0 || r.Rate < 0 || r.Accuracy < 0 || r.Accuracy > 1 {
			t.Fatalf("%q parsed to an invalid %+v", s, r)
		}
		back, err := ParseRequirement(r.String())
		if err != nil || !reflect.DeepEqual(back, r) {
			t.Fatalf("%q: String() %q reads back as %+v (%v), want %+v", s, r.String(), back, err, r)
		}
	})
}
