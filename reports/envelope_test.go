package reports

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/run"
)

func TestEffectiveLength(t *testing.T) {
	tests := []struct {
		name      string
		lengths   []int
		acc       []float64
		threshold float64
		want      int
		limit     string
	}{
		{"all pass", []int{1000, 4000, 16000}, []float64{1, 0.9, 0.85}, 0.85, 16000, "longest tested"},
		{"stops at first failure", []int{1000, 4000, 16000}, []float64{1, 0.9, 0.5}, 0.85, 4000, "accuracy 0.50 < 0.85 at length 16000"},
		{"non-monotone: a pass after a fail does not count", []int{1000, 4000, 16000, 32000}, []float64{1, 0.6, 0.95, 0.99}, 0.85, 1000, "at length 4000"},
		{"shortest fails", []int{1000, 4000}, []float64{0.4, 0.9}, 0.85, 0, "at length 1000"},
		{"nothing tested", nil, nil, 0.85, 0, "no length tested"},
		{"at the threshold passes", []int{2048}, []float64{0.85}, 0.85, 2048, "longest tested"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, limit := EffectiveLength(tt.lengths, tt.acc, tt.threshold)
			if got != tt.want || !strings.Contains(limit, tt.limit) {
				t.Errorf("EffectiveLength = %d (%s), want %d (%s)", got, limit, tt.want, tt.limit)
			}
		})
	}
}

func TestHighestPassing(t *testing.T) {
	p := func(pass ...bool) []EnvelopePoint {
		out := make([]EnvelopePoint, len(pass))
		for i, ok := range pass {
			out[i] = EnvelopePoint{Rate: float64(i + 1), Pass: ok}
		}
		return out
	}
	tests := []struct {
		name   string
		points []EnvelopePoint
		want   int
	}{
		{"all pass", p(true, true, true), 2},
		{"fails at the third", p(true, true, false), 1},
		{"non-monotone: pass after a fail ignored", p(true, false, true, true), 0},
		{"lightest fails", p(false, true), -1},
		{"none", nil, -1},
	}
	for _, tt := range tests {
		if got := HighestPassing(tt.points); got != tt.want {
			t.Errorf("%s: HighestPassing = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// envelopeFixture: one target at rates 1, 2, 4 and 8 per second and lengths
// 1000, 4000, 16000 and 32000 (10 requests each per stage). Accuracy per
// length is 1.0, 0.9, 0.5 and 1.0 (non-monotone); ttft is 100ms, 500ms, 3s
// and 1s per stage (non-monotone too).
func envelopeFixture() []run.Record {
	rates := []float64{1, 2, 4, 8}
	ttfts := []time.Duration{100 * time.Millisecond, 500 * time.Millisecond, 3 * time.Second, time.Second}
	lengths := []int{1000, 4000, 16000, 32000}
	correct := []int{10, 9, 5, 10}
	var recs []run.Record
	for st, rate := range rates {
		var groups [][]run.Record
		for li, l := range lengths {
			groups = append(groups, stage("a", st, rate, l, 50, 20, 2*correct[li], ttfts[st]))
		}
		recs = append(recs, interleave(groups...)...)
	}
	return recs
}

func TestEnvelope(t *testing.T) {
	obj, err := ParseSLO("ttft_p95=2s,error_rate=0.01")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Build(nil, envelopeFixture(), Options{Objectives: obj})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Envelope.Targets) != 1 {
		t.Fatalf("%d envelope targets, want 1", len(s.Envelope.Targets))
	}
	et := s.Envelope.Targets[0]
	if et.EffectiveContextLength != 4000 {
		t.Errorf("effective context = %d (%s), want 4000", et.EffectiveContextLength, et.LimitedBy)
	}
	want := map[int]float64{1000: 2, 4000: 2, 32000: 2} // 16000 never passes
	if len(et.Lengths) != 4 {
		t.Fatalf("%d lengths, want 4", len(et.Lengths))
	}
	for _, el := range et.Lengths {
		w, ok := want[el.Length]
		switch {
		case !ok && el.MaxRate != nil:
			t.Errorf("length %d: max rate %v, want none", el.Length, *el.MaxRate)
		case ok && (el.MaxRate == nil || !near(*el.MaxRate, w)):
			t.Errorf("length %d: max rate %v, want %v", el.Length, el.MaxRate, w)
		case ok && (el.At == nil || !near(el.At.TTFT.P95, 0.5)):
			t.Errorf("length %d: point at max rate %+v, want ttft p95 0.5s", el.Length, el.At)
		}
		if len(el.Points) != 4 {
			t.Errorf("length %d: %d points, want 4", el.Length, len(el.Points))
			continue
		}
		rates := []float64{el.Points[0].Rate, el.Points[1].Rate, el.Points[2].Rate, el.Points[3].Rate}
		if !slices.Equal(rates, []float64{1, 2, 4, 8}) {
			t.Errorf("length %d: point rates %v, want 1 2 4 8", el.Length, rates)
		}
		// At 4/s ttft p95 is 3s: the reason must say so.
		if r := strings.Join(el.Points[2].Reasons, "; "); !strings.Contains(r, "ttft_p95 3s > 2s") {
			t.Errorf("length %d at 4/s: reasons %q, want ttft_p95 3s > 2s", el.Length, r)
		}
		// The 8/s point passes on its own (non-monotone) for good lengths.
		if el.Length != 16000 && !el.Points[3].Pass {
			t.Errorf("length %d at 8/s: %v, want a pass on its own", el.Length, el.Points[3].Reasons)
		}
	}
	if r := strings.Join(et.Lengths[2].Points[0].Reasons, "; "); r != "accuracy 0.50 < 0.85" {
		t.Errorf("16000 at 1/s: reasons %q, want accuracy 0.50 < 0.85", r)
	}
}

func TestEnvelopeErrorRateReason(t *testing.T) {
	recs := stage("e", 0, 2, 1000, 50, 20, 20, 100*time.Millisecond)
	recs[3].ErrorClass, recs[3].Status, recs[3].Answer = run.ErrRateLimited, 429, ""
	obj, _ := ParseSLO("error_rate=0.01")
	obj.Accuracy = 0.5
	s, err := Build(nil, recs, Options{Objectives: obj})
	if err != nil {
		t.Fatal(err)
	}
	p := s.Envelope.Targets[0].Lengths[0].Points[0]
	if p.Pass || strings.Join(p.Reasons, ";") != "error_rate 0.05 > 0.01" {
		t.Errorf("point %v %q, want a fail with error_rate 0.05 > 0.01", p.Pass, p.Reasons)
	}
}

func TestEffectiveLengthRelative(t *testing.T) {
	// Target b reads 0.6 at its shortest length, then 0.55, then 0.3.
	recs := interleave(
		stage("b", 0, 1, 1000, 50, 20, 12, 0),
		stage("b", 0, 1, 2000, 50, 20, 11, 0),
		stage("b", 0, 1, 4000, 50, 20, 6, 0),
	)
	tests := []struct {
		name     string
		obj      Objectives
		want     int
		thresh   float64
		baseline bool
	}{
		{"absolute default", Objectives{}, 0, 0.85, false},
		{"relative 0.9 of 0.6", Objectives{Accuracy: 0.9, AccuracyRelative: true}, 2000, 0.54, true},
		{"relative 0.5 of 0.6", Objectives{Accuracy: 0.5, AccuracyRelative: true}, 4000, 0.3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Build(nil, slices.Clone(recs), Options{Objectives: tt.obj})
			if err != nil {
				t.Fatal(err)
			}
			et := s.Envelope.Targets[0]
			if et.EffectiveContextLength != tt.want || !near(et.AccuracyThreshold, tt.thresh) || (et.BaselineAccuracy != nil) != tt.baseline {
				t.Errorf("effective %d threshold %v baseline %v, want %d, %v, baseline %v",
					et.EffectiveContextLength, et.AccuracyThreshold, et.BaselineAccuracy, tt.want, tt.thresh, tt.baseline)
			}
		})
	}
}

func TestEnvelopeLengthRate(t *testing.T) {
	// One length per stage (a search's shape) against four lengths mixed
	// in every stage (envelopeFixture: each stage sends 10 of each).
	var single []run.Record
	for st, rate := range []float64{1, 2} {
		single = append(single, stage("a", st, rate, 1000, 50, 20, 20, 100*time.Millisecond)...)
		single = append(single, stage("a", st+2, rate, 4000, 50, 20, 20, 100*time.Millisecond)...)
	}
	tests := []struct {
		name  string
		recs  []run.Record
		mixed bool
		share float64 // of the stage's rate, per length
	}{
		{"one length per stage", single, false, 1},
		{"four lengths per stage", envelopeFixture(), true, 0.25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Build(nil, tt.recs, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if s.Envelope.StagesMixLengths != tt.mixed {
				t.Errorf("stages_mix_lengths %v, want %v", s.Envelope.StagesMixLengths, tt.mixed)
			}
			for _, el := range s.Envelope.Targets[0].Lengths {
				for _, p := range el.Points {
					if p.Rate == 0 || !near(p.LengthRate, p.Rate*tt.share) {
						t.Errorf("length %d, stage %d: length_rate %v, want %v of the stage's %v", el.Length, p.Stage, p.LengthRate, tt.share, p.Rate)
					}
				}
			}
			var env, md bytes.Buffer
			if err := WriteEnvelope(&env, s.Envelope); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(env.String(), `"length_rate"`) {
				t.Errorf("envelope.json has no length_rate:\n%s", env.String())
			}
			if err := WriteMarkdown(&md, s); err != nil {
				t.Fatal(err)
			}
			var html bytes.Buffer
			if err := WriteHTML(&html, s); err != nil {
				t.Fatal(err)
			}
			const label = "max rate (stage, all lengths)"
			for name, out := range map[string]string{"text": s.Text(), "summary.md": md.String(), "report.html": html.String()} {
				if strings.Contains(out, label) != tt.mixed {
					t.Errorf("%s: column labelled %q: %v, want %v", name, label, !tt.mixed, tt.mixed)
				}
				if strings.Contains(out, "Stages mixed prompt lengths") != tt.mixed {
					t.Errorf("%s: explanation shown %v, want %v", name, !tt.mixed, tt.mixed)
				}
			}
		})
	}
}
