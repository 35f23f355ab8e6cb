package route

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
)

// The three simulated tiers of the fixture, shaped like
// examples/campaigns/tiers.yaml: each length searched at 8, 16 and 32
// requests per second, 24 requests a step.
//
//   - small: fast and cheap, a 2,048-token window that rejects longer
//     prompts, so its effective context is 1k; every rate holds at 1k (a
//     ceiling).
//   - medium: reads 1k and 4k right, misses at 16k; at 4k its ttft climbs
//     to 2.5s at 32/s.
//   - large: slow (ttft 650ms at 1k) and expensive, long window; reads
//     everything; at 16k 32/s is too much.
var (
	fixtureLengths = []int{1000, 4000, 16000}
	fixtureRates   = []float64{8, 16, 32}
	fixtureStart   = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
)

const fixtureRequests = 24

// fixtureTier describes one simulated target.
type fixtureTier struct {
	name, model string
	window      int
	prices      reports.Price
	// point says, for a length and rate, how many of fixtureRequests are
	// right, their ttft, and whether the server rejects the length.
	point func(length int, rate float64) (correct int, ttft time.Duration, rejected bool)
}

var fixtureTiers = []fixtureTier{
	{
		name: "small", model: "sim-small", window: 2048, prices: reports.Price{Input: 0.05, Output: 0.2},
		point: func(length int, rate float64) (int, time.Duration, bool) {
			if length > 2000 {
				return 0, 0, true
			}
			return fixtureRequests, 30 * time.Millisecond, false
		},
	},
	{
		name: "medium", model: "sim-medium", window: 32768, prices: reports.Price{Input: 0.5, Output: 1.5},
		point: func(length int, rate float64) (int, time.Duration, bool) {
			switch {
			case length >= 16000:
				return 7, 400 * time.Millisecond, false
			case length >= 4000 && rate >= 32:
				return fixtureRequests, 2500 * time.Millisecond, false
			case length >= 4000:
				return fixtureRequests, 250 * time.Millisecond, false
			}
			return fixtureRequests, 150 * time.Millisecond, false
		},
	},
	{
		name: "large", model: "sim-large", window: 200000, prices: reports.Price{Input: 3, Output: 15},
		point: func(length int, rate float64) (int, time.Duration, bool) {
			switch {
			case length >= 16000 && rate >= 32:
				return fixtureRequests, 3 * time.Second, false
			case length >= 16000:
				return fixtureRequests, 1500 * time.Millisecond, false
			case length >= 4000:
				return fixtureRequests, 800 * time.Millisecond, false
			}
			return fixtureRequests, 650 * time.Millisecond, false
		},
	},
}

// fixtureRecords are the records of one run of the tiers, starting at
// start; each (target, length, rate) is a stage of its own, as in a search.
func fixtureRecords(start time.Time, tiers []fixtureTier) []run.Record {
	var recs []run.Record
	seq := int64(0)
	for _, ft := range tiers {
		stage := 0
		for _, l := range fixtureLengths {
			for _, rate := range fixtureRates {
				correct, ttft, rejected := ft.point(l, rate)
				for i := range fixtureRequests {
					sched := start.Add(time.Duration(stage)*time.Minute + time.Duration(float64(i)/rate*float64(time.Second)))
					r := run.Record{
						Schema: run.RecordSchema, Seq: seq, Target: ft.name, Model: ft.model,
						Stage: stage, StageLabel: fmt.Sprintf("rate=%g/s length=%d", rate, l),
						CaseID: fmt.Sprintf("single-%d-%d", l, i%3), Task: "single", Length: l, Depth: float64(50 * (i % 3)),
						Expected: []string{"4815162"}, ScheduledAt: sched, SentAt: sched,
						PromptTokensClient: l,
					}
					if rejected {
						r.Status, r.ErrorClass, r.Error = 400, run.ErrContextOverflow, "maximum context length exceeded"
					} else {
						r.Status, r.FinishReason = 200, "stop"
						r.TTFT, r.E2E = run.Seconds(ttft), run.Seconds(ttft+40*time.Millisecond)
						r.PromptTokensServer, r.OutputTokens = l+7, 8
						r.Answer = "The number is 1111111."
						if i < correct {
							r.Answer = "The number is 4815162."
						}
					}
					recs = append(recs, r)
					seq++
				}
				stage++
			}
		}
	}
	return recs
}

// fixtureManifest is the manifest of a run of tiers by campaign name.
func fixtureManifest(t *testing.T, name string, start time.Time, tiers []fixtureTier) *run.Manifest {
	t.Helper()
	var targets, preflight []map[string]any
	for i, ft := range tiers {
		targets = append(targets, map[string]any{
			"name": ft.name, "kind": "sim", "model": ft.model,
			"base_url": fmt.Sprintf("http://user:secret@127.0.0.1:%d/v1?key=hidden", 41000+i),
			"prices":   ft.prices, "currency": "USD",
		})
		preflight = append(preflight, map[string]any{
			"target": ft.name, "kind": "openai", "model": ft.model,
			"context_window": ft.window, "context_window_server": ft.window,
			"context_window_source": "max_model_len in /v1/models (vLLM)",
		})
	}
	obj, err := reports.ParseSLO("ttft_p95=2s,error_rate=0.05")
	if err != nil {
		t.Fatal(err)
	}
	obj.Accuracy = 0.85
	mustJSON := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return &run.Manifest{
		Schema: run.ManifestSchema, Tool: "needlestorm", Version: "test", Campaign: name,
		StartedAt: start, EndedAt: start.Add(10 * time.Minute), Status: run.StatusComplete,
		Targets: mustJSON(targets), Preflight: mustJSON(preflight), Objectives: mustJSON(obj),
	}
}

// fixtureEnvelope builds the envelope of a run of tiers as `needlestorm
// report` would, from its manifest and records.
func fixtureEnvelope(t *testing.T, name string, start time.Time, tiers []fixtureTier) *reports.Envelope {
	t.Helper()
	m := fixtureManifest(t, name, start, tiers)
	obj, err := reports.DecodeObjectives(m.Objectives)
	if err != nil {
		t.Fatal(err)
	}
	prices, err := reports.PricesFromManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	s, err := reports.Build(m, fixtureRecords(start, tiers), reports.Options{Objectives: obj, Prices: prices})
	if err != nil {
		t.Fatal(err)
	}
	s.Envelope.Run.Dir = "runs/" + name
	return s.Envelope
}
