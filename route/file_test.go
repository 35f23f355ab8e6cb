package route

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestRoutingFileParse(t *testing.T) {
	f, err := Parse("r.yaml", []byte(`
targets:
  a: {tier: medium}
jobs:
  - name: j
    task: Coding
    context: 1.5k
    accuracy: 90%
    ttft_p95: 250ms
    e2e_p95: 2
    rate: 0.5/s
    budget: {per_request: 0.01, per_month: 100}
    prefer: fastest
    fallbacks: 0
`))
	if err != nil {
		t.Fatal(err)
	}
	j := f.Jobs[0]
	if j.Task != "code" || j.JobTier() != TierMedium || j.Context != 1500 || j.Accuracy != 0.9 || j.TTFTP95 != 0.25 || j.E2EP95 != 2 ||
		j.Rate != 0.5 || j.Budget.PerRequest != 0.01 || j.Budget.PerMonth != 100 || j.Preference() != PreferFastest || j.FallbackCount() != 0 {
		t.Errorf("job %+v", j)
	}
	if f.Targets["a"].Tier != TierMedium {
		t.Errorf("targets %+v", f.Targets)
	}
	req := j.Requirement()
	if req.Length != 1500 || req.Rate != 0.5 || req.Accuracy != 0.9 || len(req.Latency) != 2 || req.Latency[0].Name() != "ttft_p95" || req.Latency[1].Max != 2 {
		t.Errorf("requirement %+v", req)
	}
	// The file round-trips through JSON, as the manifest keeps it.
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var back File
	if err := json.Unmarshal(b, &back); err != nil || back.Jobs[0].Requirement().String() != req.String() || back.Jobs[0].FallbackCount() != 0 {
		t.Errorf("JSON round trip (%v): %s", err, b)
	}
	if def, _ := Parse("d.yaml", []byte("jobs: [{name: x, context: 1k}]")); def.Jobs[0].FallbackCount() != DefaultFallbacks || def.Jobs[0].Preference() != PreferCheapest {
		t.Errorf("defaults: %+v", def.Jobs[0])
	}
}

// TestRoutingFileErrors: every mistake is reported at its line and column
// with what to write instead.
func TestRoutingFileErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // each "line:col: part of the message"
	}{
		{"empty", "", []string{"1:1: the file is empty"}},
		{"comments only", "# nothing\n", []string{"1:1: the file holds only comments"}},
		{"not a mapping", "- a\n- b\n", []string{"1:1: expected a mapping"}},
		{"bad YAML", "jobs: [\n", []string{"not valid YAML"}},
		{"unknown field", "jobs:\n  - name: a\n    contxt: 2k\n", []string{`3:5: in the routing file: unknown field "contxt"`}},
		{"unknown top field", "job:\n  - name: a\n", []string{`1:1: in the routing file: unknown field "job"`}},
		{"bad context", "jobs:\n  - name: a\n    context: lots\n", []string{`3:14: "lots" is not a number of tokens`}},
		{"bad duration", "jobs:\n  - name: a\n    context: 1k\n    ttft_p95: soon\n", []string{`4:15: "soon" is not a duration`}},
		{"zero duration", "jobs:\n  - name: a\n    context: 1k\n    e2e_p95: 0s\n", []string{`4:14: "0s": a latency objective must be above zero`}},
		{"bad rate", "jobs:\n  - name: a\n    context: 1k\n    rate: fast\n", []string{`4:11: "fast" is not a rate`}},
		{"bad accuracy", "jobs:\n  - name: a\n    context: 1k\n    accuracy: 1.5\n", []string{`4:15: "1.5": give a fraction above 0 and at most 1`}},
		{"bad tier", "targets:\n  s: {tier: tiny}\njobs: [{name: a, context: 1k}]\n", []string{`2:13: unknown tier "tiny"`}},
		{"bad task", "jobs:\n  - name: a\n    task: poetry\n    context: 1k\n", []string{`3:11: unknown task "poetry": write one of classification`}},
		{"bad preference", "jobs:\n  - name: a\n    context: 1k\n    prefer: best\n", []string{`4:13: unknown preference "best"`}},
		{"list for a number", "jobs:\n  - name: a\n    context: [1k]\n", []string{"3:14: expected a number of tokens such as 2000 or 32k, got a list"}},
		{"no jobs", "targets: {}\njobs: []\n", []string{"2:7: no jobs"}},
		{"semantic, in file order", `jobs:
  - name: a b
    context: 2k
    tier: small
    task: planning
  - name: c
  - name: c
    context: 1k
    fallbacks: 9
  - name: d
    context: 1k
    budget: {per_month: 5}
targets:
  x: {}
`, []string{
			`2:11: job name "a b": use letters, digits`,
			"5:11: job a b: task planning is a large job but tier says small",
			"6:5: job c: give the context it needs",
			`7:11: job name "c" is also job 2's`,
			"9:16: job c: fallbacks 9: keep between 0 and 5",
			"12:25: job d: a budget per month needs the rate",
			"14:6: target x: give its tier",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("r.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			var es Errors
			var e *Error
			var got []string
			switch {
			case errors.As(err, &es):
				for _, x := range es {
					got = append(got, x.Error())
				}
			case errors.As(err, &e):
				got = []string{e.Error()}
			default:
				t.Fatalf("error %T %v, want *Error or Errors", err, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d errors, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], "r.yaml:") || !strings.Contains(got[i], w) {
					t.Errorf("error %d: %q, want r.yaml:...%q", i, got[i], w)
				}
			}
		})
	}
}

func FuzzRoutingFileParse(f *testing.F) {
	f.Add([]byte("jobs:\n  - name: a\n    task: tagging\n    context: 2k\n    rate: 2/s\n"))
	f.Add([]byte("targets: {a: {tier: large}}\njobs: [{name: b, tier: large, context: 1m, budget: {per_month: 3}}]\n"))
	f.Add([]byte("jobs:\n\t- name: a\n"))
	f.Add([]byte("jobs: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml:") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		for _, j := range file.Jobs {
			if !validName(j.Name) || j.Context <= 0 || j.FallbackCount() < 0 || j.FallbackCount() > MaxFallbacks {
				t.Fatalf("an invalid job passed: %+v", j)
			}
		}
	})
}
