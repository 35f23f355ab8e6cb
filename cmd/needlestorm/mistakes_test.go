package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// mistakesBase is a campaign that the dry run takes; each mistake replaces
// one of its lines.
const mistakesBase = `name: base
targets:
  - name: remote
    kind: openai
    base_url: http://127.0.0.1:1/v1
    model: m
  - {name: local, kind: sim, time_scale: 0}
corpus:
  lengths: [1k, 4k]
  depths: [0, 100]
load:
  stages:
    - {rate: 2, duration: 5s}
`

// mistakesSearch is a base whose load is an envelope search.
const mistakesSearch = `name: search
targets: [{name: local, kind: sim, time_scale: 0}]
corpus: {lengths: [1k]}
load:
  search: {max_rate: 8}
`

// TestDryRunRefusesMistakes checks mistakes in campaigns and flags that
// used to pass the dry run (exit 0) and then fail late, once the run had
// started (the search refusing its spec, a case too short to build after
// preflight, a target refusing its configuration when its turn came, the
// dispatcher refusing a stage or the grace period), or ran with a value
// other than the one written (an explicit zero or an empty list replaced by
// a default, a repeated entry sent once). Each is now refused by --dry-run
// itself, with exit status 2 and its place: file:line:col, or the flag.
// (The first 23 passed the dry run of b054ab9 with exit status 0; the
// others were refused there too and are kept as a check on their places.)
func TestDryRunRefusesMistakes(t *testing.T) {
	tests := []struct {
		name     string
		base     string
		old, new string   // the line of base replaced, and its replacement
		flags    []string // flags added to the dry run
		want     string   // the place: "campaign.yaml:L:C: field" or "--flag"
		msg      string   // a part of the message
	}{
		// Refused late by the run.
		{"resolution finer than the search takes", mistakesSearch, "{max_rate: 8}", "{max_rate: 8, resolution: 0.005}", nil,
			"campaign.yaml:5:37: load.search.resolution", "must be in [0.01, 1)"},
		{"length too short for the task, from a flag", mistakesBase, "", "", []string{"--lengths", "20"},
			"--lengths", "length too small for the task"},
		{"length too short for the task, in the file", mistakesBase, "[1k, 4k]", "[50, 4k]", nil,
			"campaign.yaml:9:13: corpus.lengths[0]", "needs at least"},
		{"credential header with an unclosed ${NAME}", mistakesBase, "    model: m\n", "    model: m\n    headers: {Authorization: \"Bearer ${TOKEN\"}\n", nil,
			"campaign.yaml:7:14: targets[0].headers", "is not closed"},
		{"credential header written out", mistakesBase, "    model: m\n", "    model: m\n    headers: {Authorization: \"Bearer sk-12345678\"}\n", nil,
			"campaign.yaml:7:14: targets[0].headers", "such as \"Bearer ${MYKEY}\""},
		{"base_url with the endpoint's path", mistakesBase, "/v1\n", "/v1/chat/completions\n", nil,
			"campaign.yaml:5:15: targets[0].base_url", "stop before /chat/completions"},
		{"base_url with a query", mistakesBase, "/v1\n", "/v1?key=x\n", nil,
			"campaign.yaml:5:15: targets[0].base_url", "query"},
		{"header name that is no HTTP token", mistakesBase, "    model: m\n", "    model: m\n    headers: {X Team: a}\n", nil,
			"campaign.yaml:7:14: targets[0].headers", "not a valid HTTP header name"},
		{"concurrency above the in-flight cap", mistakesBase, "{rate: 2, duration: 5s}", "{concurrency: 8, duration: 5s}", []string{"--max-in-flight", "4"},
			"campaign.yaml:13:21: load.stages[0].concurrency", "above the cap on requests in flight, 4 (--max-in-flight)"},
		{"in-flight cap of 0", mistakesBase, "", "", []string{"--max-in-flight", "0"}, "--max-in-flight", "at least 1"},
		{"negative grace period", mistakesBase, "", "", []string{"--grace", "-1s"}, "--grace", "negative"},
		{"haystack folder without text", mistakesBase, "  depths: [0, 100]", "  depths: [0, 100]\n  haystack: dir:./empty", nil,
			"campaign.yaml:9:3: corpus", "has no .txt or .md files"},
		{"server length basis without preflight", mistakesBase, "  depths: [0, 100]", "  depths: [0, 100]\n  length_basis: server", []string{"--no-preflight"},
			"campaign.yaml:11:17: corpus.length_basis", "which --no-preflight skips"},
		// Silent defaults and repeats.
		{"samples 0", mistakesBase, "  depths: [0, 100]", "  depths: [0, 100]\n  samples: 0", nil,
			"campaign.yaml:11:12: corpus.samples", "which gives 1 case per"},
		{"empty depths", mistakesBase, "[0, 100]", "[]", nil, "campaign.yaml:10:11: corpus.depths", "the list is empty"},
		{"a length twice", mistakesBase, "[1k, 4k]", "[1k, 1k]", nil, "campaign.yaml:9:17: corpus.lengths[1]", "1k is already corpus.lengths[0]"},
		{"a task twice", mistakesBase, "  depths: [0, 100]", "  depths: [0, 100]\n  tasks: [single, single]", nil,
			"campaign.yaml:11:19: corpus.tasks[1]", "single is already corpus.tasks[0]"},
		{"repeats 0", mistakesBase, "  depths: [0, 100]", "  depths: [0, 100]\n  repeats: 0", nil, "campaign.yaml:11:12: corpus.repeats", "each case sent once"},
		{"max_tokens 0", mistakesBase, "    model: m\n", "    model: m\n    max_tokens: 0\n", nil,
			"campaign.yaml:7:17: targets[0].max_tokens", "which gives 256"},
		{"timeout 0", mistakesBase, "    model: m\n", "    model: m\n    timeout: 0s\n", nil, "campaign.yaml:7:14: targets[0].timeout", "which gives 10m0s"},
		{"max_steps 0", mistakesSearch, "{max_rate: 8}", "{max_rate: 8, max_steps: 0}", nil, "campaign.yaml:5:36: load.search.max_steps", "which gives 7"},
		{"start_rate 0", mistakesSearch, "{max_rate: 8}", "{max_rate: 8, start_rate: 0}", nil, "campaign.yaml:5:37: load.search.start_rate", "which gives 1"},
		{"step_requests 0 and no step_duration", mistakesSearch, "{max_rate: 8}", "{max_rate: 8, step_requests: 0}", nil,
			"campaign.yaml:5:40: load.search.step_requests", "which gives 20s steps"},
		{"empty stage kind", mistakesBase, "{rate: 2, duration: 5s}", "{kind: \"\", rate: 2, duration: 5s}", nil,
			"campaign.yaml:13:14: load.stages[0].kind", `which gives "constant"`},
		// Refused before too (the flag by a check of its own in cmd), still
		// refused with their place.
		{"samples 0 from a flag", mistakesBase, "", "", []string{"--samples", "0"}, "--samples", "which gives 1 case per"},
		{"negative rate", mistakesBase, "{rate: 2,", "{rate: -2,", nil, "campaign.yaml:13:14: load.stages[0].rate", "-2 is negative"},
		{"max_rate below start_rate", mistakesSearch, "{max_rate: 8}", "{max_rate: 8, start_rate: 10}", nil,
			"campaign.yaml:5:22: load.search.max_rate", "below start_rate 10"},
		{"unknown task", mistakesBase, "  depths: [0, 100]", "  depths: [0, 100]\n  tasks: [singel]", nil, "campaign.yaml:11:11: corpus.tasks[0]", "did you mean single?"},
		{"depth above 100", mistakesBase, "[0, 100]", "[0, 110]", nil, "campaign.yaml:10:15: corpus.depths[1]", "outside 0..100"},
		{"a target name twice", mistakesBase, "{name: local,", "{name: remote,", nil, "campaign.yaml:7:12: targets[1].name", "already the name of targets[0]"},
		{"simulator field on an openai target", mistakesBase, "    model: m\n", "    model: m\n    sim_profile: fast\n", nil,
			"campaign.yaml:7:18: targets[0].sim_profile", "only for kind sim"},
	}
	re := regexp.MustCompile(`^needlestorm: `)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := tt.base
			if tt.old != "" {
				if !strings.Contains(text, tt.old) {
					t.Fatalf("the base has no %q", tt.old)
				}
				text = strings.Replace(text, tt.old, tt.new, 1)
			}
			path := campaignTestFile(t, text)
			if err := os.Mkdir(filepath.Join(filepath.Dir(path), "empty"), 0o755); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"run", path, "--dry-run"}, tt.flags...)
			stdout, _, err := runTestApp(t, args...)
			if code := campaignTestExitCode(err); code != 2 {
				t.Fatalf("exit status %d (%v), want 2\n%s", code, err, stdout)
			}
			got := re.ReplaceAllString(err.Error(), "")
			place := tt.want
			if strings.HasPrefix(place, "campaign.yaml") {
				place = path + strings.TrimPrefix(place, "campaign.yaml")
			}
			if !strings.Contains(got, place+": ") || !strings.Contains(got, tt.msg) {
				t.Errorf("error\n%s\nwant %q with %q", got, place, tt.msg)
			}
			if strings.Contains(stdout, "Plan for campaign") {
				t.Errorf("the dry run printed a plan for a campaign it refuses:\n%s", stdout)
			}
		})
	}
	// Without a file, the same checks name the flags.
	for _, args := range [][]string{{"--lengths", "20"}, {"--concurrency", "8", "--max-in-flight", "4"}, {"--task", "single,single"}} {
		_, _, err := runTestApp(t, append([]string{"run", "--dry-run"}, args...)...)
		if code := campaignTestExitCode(err); code != 2 || !strings.Contains(err.Error(), args[0]+": ") && !strings.Contains(err.Error(), args[len(args)-2]) {
			t.Errorf("run --dry-run %s: exit status %d, %v; want 2 naming the flag", strings.Join(args, " "), code, err)
		}
	}
	// The base itself passes: each refusal is its mistake's.
	for _, base := range []string{mistakesBase, mistakesSearch} {
		if _, _, err := runTestApp(t, "run", campaignTestFile(t, base), "--dry-run"); err != nil {
			t.Errorf("the base campaign is refused: %v", err)
		}
	}
}

// TestDryRunRefusesRunDir checks that the dry run refuses a run directory
// that already holds a run, as the run does, and takes it with --overwrite.
func TestDryRunRefusesRunDir(t *testing.T) {
	path := campaignTestFile(t, mistakesBase)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "records.jsonl"), []byte(`{"seq":1}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := runTestApp(t, "run", path, "--dry-run", "--out", dir)
	if err == nil || !strings.Contains(err.Error(), "already holds a run") {
		t.Errorf("dry run into a run directory: %v, want it refused", err)
	}
	if _, _, err := runTestApp(t, "run", path, "--dry-run", "--out", dir, "--overwrite"); err != nil {
		t.Errorf("dry run with --overwrite: %v", err)
	}
}

// TestRunModelWithSlash: the README's --model meta-llama/Llama-3.1-8B-Instruct
// is accepted; the target is named without the slash and stderr says so.
func TestRunModelWithSlash(t *testing.T) {
	_, stderr, err := runTestApp(t, "run", "--dry-run", "--target", "http://127.0.0.1:9/v1", "--kind", "openai",
		"--model", "meta-llama/Llama-3.1-8B-Instruct", "--rates", "1", "--requests-per-stage", "1", "--lengths", "300")
	if err != nil {
		t.Fatalf("refused: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, `named "meta-llama-Llama-3.1-8B-Instruct" after model`) {
		t.Errorf("stderr does not say how the target was named:\n%s", stderr)
	}
}
