package sim

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
)

// TestFaultRates sends n distinct prompts at time scale 0 and checks that
// each fault shows at its configured rate within 4 standard deviations.
func TestFaultRates(t *testing.T) {
	rates := map[string]float64{"429": 0.10, "5xx": 0.08, "broken": 0.06, "slow": 0.05, "stall": 0.04}
	cfg := testConfig(t, func(c *Config) {
		c.Fault429, c.Fault5xx, c.FaultBroken, c.FaultSlow, c.FaultStall = rates["429"], rates["5xx"], rates["broken"], rates["slow"], rates["stall"]
	})
	_, ts := startTest(t, cfg)
	const n = 1500
	seen := map[string]int{}
	var retryAfter, status500, status503 int
	for i := range n {
		resp, body := post(t, ts.Client(), ts.URL+"/v1/chat/completions", chatBody(fmt.Sprintf("prompt %d", i), true))
		switch {
		case resp == nil:
			t.Fatalf("request %d: %s", i, body)
		case resp.StatusCode == http.StatusTooManyRequests:
			seen["429"]++
			if resp.Header.Get("Retry-After") == "1" {
				retryAfter++
			}
		case resp.StatusCode == 500 || resp.StatusCode == 503:
			seen["5xx"]++
			if resp.StatusCode == 500 {
				status500++
			} else {
				status503++
			}
		case resp.StatusCode == 200:
			f := resp.Header.Get("X-Sim-Fault")
			done := strings.Contains(string(body), "data: [DONE]")
			if f == "broken" {
				if done || !strings.Contains(string(body), "READ ERROR") {
					t.Fatalf("a broken stream ended cleanly: %s", body)
				}
			} else if !done {
				t.Fatalf("fault %s: stream without [DONE]: %s", f, body)
			}
			seen[f]++
		default:
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	}
	for f, p := range rates {
		sd := math.Sqrt(p * (1 - p) / n)
		if got := float64(seen[f]) / n; math.Abs(got-p) > 4*sd {
			t.Errorf("fault %s at %.4f, want %.4f +- %.4f", f, got, p, 4*sd)
		}
	}
	if retryAfter != seen["429"] {
		t.Errorf("%d of %d 429s carried Retry-After: 1", retryAfter, seen["429"])
	}
	if status500 == 0 || status503 == 0 {
		t.Errorf("5xx split 500=%d 503=%d, want both", status500, status503)
	}
}

// TestFaultTimings checks the simulated timings of slow drips and stalls.
func TestFaultTimings(t *testing.T) {
	for _, tt := range []struct {
		edit  func(*Config)
		fault string
	}{
		{func(c *Config) { c.FaultSlow = 1 }, "slow"},
		{func(c *Config) { c.FaultStall = 1 }, "stall"},
	} {
		cfg := testConfig(t, tt.edit)
		_, ts := startTest(t, cfg)
		resp, body := post(t, ts.Client(), ts.URL+"/v1/chat/completions", chatBody("hello", true))
		if resp.StatusCode != 200 || resp.Header.Get("X-Sim-Fault") != tt.fault {
			t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, body)
		}
		ttft, gap := headerSeconds(t, resp.Header, "X-Sim-Ttft"), headerSeconds(t, resp.Header, "X-Sim-Token-Gap")
		switch tt.fault {
		case "slow":
			if gap != cfg.SlowGap {
				t.Errorf("slow drip gap %v, want %v", gap, cfg.SlowGap)
			}
		case "stall":
			if ttft < cfg.StallSeconds {
				t.Errorf("stall ttft %v, want at least %v", ttft, cfg.StallSeconds)
			}
		}
	}
}

func TestPickFaultDisjoint(t *testing.T) {
	c := Config{Fault429: 0.2, Fault5xx: 0.2, FaultBroken: 0.2, FaultSlow: 0.2, FaultStall: 0.2}
	counts := map[Fault]int{}
	for i := range uint64(5000) {
		r := newRNG(9, i, 0, streamFault)
		counts[c.pickFault(&r)]++
	}
	if counts[FaultNone] != 0 {
		t.Errorf("%d requests without a fault when the rates add to 1", counts[FaultNone])
	}
	for _, f := range []Fault{Fault429, FaultBroken, FaultSlow, FaultStall} {
		if counts[f] < 850 || counts[f] > 1150 {
			t.Errorf("fault %v: %d of 5000, want about 1000", f, counts[f])
		}
	}
}

// TestFaultRatesGreedyRepeats: at temperature 0 a few prompts sent many
// times each still fault at the configured rates (faults are drawn per
// request), while every repeat of a prompt gets the same answer.
func TestFaultRatesGreedyRepeats(t *testing.T) {
	rates := map[string]float64{"429": 0.10, "5xx": 0.08, "broken": 0.06, "slow": 0.05, "stall": 0.04}
	cfg := testConfig(t, func(c *Config) {
		c.Fault429, c.Fault5xx, c.FaultBroken, c.FaultSlow, c.FaultStall = rates["429"], rates["5xx"], rates["broken"], rates["slow"], rates["stall"]
		c.BaseAccuracy = 0.5 // answers that could differ between repeats if they were drawn afresh
	})
	_, ts := startToy(t, cfg)
	prompts := []string{
		"the value of key-1 is 1001. the value of other-1 is 2001. What is the value of key-1?",
		"the value of key-2 is 1002. the value of other-2 is 2002. What is the value of key-2?",
		"the value of key-3 is 1003. the value of other-3 is 2003. What is the value of key-3?",
	}
	const repeats = 300
	n := float64(len(prompts) * repeats)
	seen := map[string]int{}
	for _, p := range prompts {
		perPrompt := map[string]int{}
		answers := map[string]bool{}
		for i := range repeats {
			b := chatBody(p, true)
			b["temperature"] = 0
			resp, body := post(t, ts.Client(), ts.URL+"/v1/chat/completions", b)
			switch {
			case resp == nil:
				t.Fatalf("request %d: %s", i, body)
			case resp.StatusCode == http.StatusTooManyRequests:
				perPrompt["429"]++
			case resp.StatusCode == 500 || resp.StatusCode == 503:
				perPrompt["5xx"]++
			case resp.StatusCode == 200:
				f := resp.Header.Get("X-Sim-Fault")
				perPrompt[f]++
				if f != "broken" {
					answers[streamedContent(t, body)] = true
				}
			default:
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
		}
		if len(answers) != 1 {
			t.Errorf("prompt %q: %d distinct answers at temperature 0, want 1: %v", p, len(answers), answers)
		}
		for f := range rates {
			if perPrompt[f] == 0 {
				t.Errorf("prompt %q: fault %s never happened in %d requests", p, f, repeats)
			}
			seen[f] += perPrompt[f]
		}
	}
	for f, p := range rates {
		sd := math.Sqrt(p * (1 - p) / n)
		if got := float64(seen[f]) / n; math.Abs(got-p) > 4*sd {
			t.Errorf("fault %s at %.4f, want %.4f +- %.4f", f, got, p, 4*sd)
		}
	}
}

// streamedContent joins the content deltas of an OpenAI stream.
func streamedContent(t *testing.T, body []byte) string {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(string(body), "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var ev struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("%v: %s", err, data)
		}
		for _, c := range ev.Choices {
			b.WriteString(c.Delta.Content)
		}
	}
	return b.String()
}
