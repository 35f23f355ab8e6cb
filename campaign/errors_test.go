package campaign

import (
	"errors"
	"strings"
	"testing"
)

// TestMistakes checks that each kind of mistake is reported at its exact
// line and column, naming the field and what was expected.
func TestMistakes(t *testing.T) {
	cases := []struct {
		name      string
		yaml      string
		line, col int
		field     string
		msg       string // a part of the message
	}{
		{"unknown field", `targets:
  - name: a
    kind: sim
    colour: blue
corpus: {lengths: [1k]}
load: {stages: [{rate: 1, duration: 1s}]}
`, 4, 5, "targets[0].colour", `unknown field "colour"; known fields here are name, kind`},
		{"misspelled field", `targets:
  - name: a
    kind: openai
    modle: gpt-4o
corpus: {lengths: [1k]}
load: {stages: [{rate: 1, duration: 1s}]}
`, 4, 5, "targets[0].modle", `unknown field "modle"; did you mean model?`},
		{"misspelled top-level field", `targets: [{name: a, kind: sim}]
corpus: {lengths: [1k]}
lod: {stages: [{rate: 1, duration: 1s}]}
`, 3, 1, "lod", "did you mean load?"},
		{"literal api key", `targets:
  - name: a
    kind: openai
    model: m
    api_key: sk-not-a-real-key
corpus: {lengths: [1k]}
load: {stages: [{rate: 1, duration: 1s}]}
`, 5, 5, "targets[0].api_key", "never write an API key into a campaign file"},
		{"string for a number", `targets: [{name: a, kind: sim}]
corpus:
  lengths: [1k]
  samples: three
load: {stages: [{rate: 1, duration: 1s}]}
`, 4, 12, "corpus.samples", `expected a whole number, got "three"`},
		{"fraction for a whole number", `targets: [{name: a, kind: sim, max_tokens: 1.5}]
corpus: {lengths: [1k]}
load: {stages: [{rate: 1, duration: 1s}]}
`, 1, 44, "targets[0].max_tokens", "expected a whole number, got 1.5"},
		{"list expected", `targets: a
corpus: {lengths: [1k]}
load: {stages: [{rate: 1, duration: 1s}]}
`, 1, 10, "targets", `expected a list, got "a"`},
		{"missing targets", `corpus: {lengths: [1k]}
load: {stages: [{rate: 1, duration: 1s}]}
`, 1, 1, "targets", "missing: a campaign needs a list of targets"},
		{"missing kind", `targets:
  - name: a
    model: m
corpus: {lengths: [1k]}
load: {stages: [{rate: 1, duration: 1s}]}
`, 2, 5, "targets[0].kind", "missing: give the target's kind: openai, anthropic or sim"},
		{"missing model for openai", `targets:
  - name: a
    kind: sim
  - name: b
    kind: openai
corpus: {lengths: [1k]}
load: {stages: [{rate: 1, duration: 1s}]}
`, 4, 5, "targets[1].model", "missing: a openai target needs the model name"},
		{"bad kind", `targets:
  - name: a
    kind: sim
  - name: b
    kind: opanai
    model: m
corpus: {lengths: [1k]}
load: {stages: [{rate: 1, duration: 1s}]}
`, 5, 11, "targets[1].kind", `"opanai" is not a target kind; did you mean openai? (use openai, anthropic or sim)`},
		{"bad task", `targets: [{name: a, kind: sim}]
corpus:
  tasks: [single, multikee]
  lengths: [1k]
load: {stages: [{rate: 1, duration: 1s}]}
`, 3, 19, "corpus.tasks[1]", `did you mean multikey?`},
		{"bad encoding", `targets: [{name: a, kind: sim}]
corpus:
  lengths: [1k]
  encoding: p50k
load: {stages: [{rate: 1, duration: 1s}]}
`, 4, 13, "corpus.encoding", "use cl100k_base or o200k_base"},
		{"bad sim profile", `targets: [{name: a, kind: sim, sim_profile: vllm8b}]
corpus: {lengths: [1k]}
load: {stages: [{rate: 1, duration: 1s}]}
`, 1, 45, "targets[0].sim_profile", "did you mean vllm-8b?"},
		{"bad sim override", `targets:
  - name: a
    kind: sim
    sim: {context_windw: 4096}
corpus: {lengths: [1k]}
load: {stages: [{rate: 1, duration: 1s}]}
`, 4, 11, "targets[0].sim.context_windw", "did you mean context_window?"},
		{"bad duration", `targets: [{name: a, kind: sim}]
corpus: {lengths: [1k]}
load:
  stages:
    - rate: 1
      duration: 10 sec
`, 6, 17, "load.stages[0].duration", `"10 sec" is not a duration`},
		{"duration without unit", `targets: [{name: a, kind: sim}]
corpus: {lengths: [1k]}
load:
  warmup: 10
  stages: [{rate: 1, duration: 1s}]
`, 4, 11, "load.warmup", "10 has no unit"},
		{"bad length suffix", `targets: [{name: a, kind: sim}]
corpus:
  lengths: [1k, 8q]
load: {stages: [{rate: 1, duration: 1s}]}
`, 3, 17, "corpus.lengths[1]", `"8q" is not a length`},
		{"negative rate", `targets: [{name: a, kind: sim}]
corpus: {lengths: [1k]}
load:
  stages:
    - {rate: -2, duration: 5s}
`, 5, 14, "load.stages[0].rate", "-2 is negative"},
		{"bad stage kind", `targets: [{name: a, kind: sim}]
corpus: {lengths: [1k]}
load:
  stages:
    - {kind: constnt, rate: 2, duration: 5s}
`, 5, 14, "load.stages[0].kind", "did you mean constant?"},
		{"stages and search", `targets: [{name: a, kind: sim}]
corpus: {lengths: [1k]}
load:
  stages: [{rate: 1, duration: 1s}]
  search:
    max_rate: 10
`, 6, 5, "load.search", "give load.stages or load.search, not both"},
		{"unknown slo metric", `targets: [{name: a, kind: sim}]
corpus: {lengths: [1k]}
load: {stages: [{rate: 1, duration: 1s}]}
slo:
  ttft_p95: 2s
  tfft_p95: 2s
`, 6, 3, "slo.tfft_p95", `unknown objective "tfft_p95"`},
		{"slo without unit", `targets: [{name: a, kind: sim}]
corpus: {lengths: [1k]}
load: {stages: [{rate: 1, duration: 1s}]}
slo:
  e2e_p99: 30
`, 5, 12, "slo.e2e_p99", "give the duration a unit"},
		{"threshold outside 0..1", `targets: [{name: a, kind: sim}]
corpus: {lengths: [1k]}
load: {stages: [{rate: 1, duration: 1s}]}
accuracy:
  threshold: 85
`, 5, 14, "accuracy.threshold", "85 is outside 0..1"},
		{"duplicate target name", `targets:
  - {name: a, kind: sim}
  - {name: a, kind: sim}
corpus: {lengths: [1k]}
load: {stages: [{rate: 1, duration: 1s}]}
`, 3, 12, "targets[1].name", "already the name of targets[0]"},
		{"base_url on sim", `targets:
  - name: a
    kind: sim
    base_url: http://127.0.0.1:8000/v1
corpus: {lengths: [1k]}
load: {stages: [{rate: 1, duration: 1s}]}
`, 4, 15, "targets[0].base_url", "needs no base_url"},
		{"tab indentation", "targets:\n\t- name: a\n", 2, 1, "", "a tab in the indentation"},
		{"unclosed bracket", "targets: [a, b\n", 1, 10, "", "not valid YAML: sequence end token ']' not found"},
		{"empty file", "", 1, 1, "", "the file is empty"},
		{"only comments", "# nothing yet\n", 1, 1, "", "only comments"},
		{"not a mapping", "- a\n- b\n", 1, 1, "", "expected a mapping of campaign fields"},
		{"missing lengths", `targets: [{name: a, kind: sim}]
corpus:
  tasks: [single]
load: {stages: [{rate: 1, duration: 1s}]}
`, 3, 3, "corpus.lengths", "missing: give the prompt lengths"},
		{"missing load", `targets: [{name: a, kind: sim}]
corpus: {lengths: [1k]}
`, 1, 1, "load", "missing: give load.stages"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("campaign.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			if e.File != "campaign.yaml" || e.Line != tc.line || e.Column != tc.col || e.Field != tc.field {
				t.Errorf("at %s:%d:%d %q, want campaign.yaml:%d:%d %q\n%s", e.File, e.Line, e.Column, e.Field, tc.line, tc.col, tc.field, Detail(err))
			}
			if !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("message %q lacks %q", e.Msg, tc.msg)
			}
			first := strings.SplitN(err.Error(), "\n", 2)[0]
			if !strings.HasPrefix(first, "campaign.yaml:") {
				t.Errorf("first line %q does not start with the file name", first)
			}
		})
	}
}

// TestErrorLine checks the one-line shape of an error and its excerpt.
func TestErrorLine(t *testing.T) {
	src := "targets:\n  - name: a\n    kind: sim\n  - name: b\n    kind: opanai\n    model: m\ncorpus: {lengths: [1k]}\nload: {stages: [{rate: 1, duration: 1s}]}\n"
	_, err := Parse("dir/campaign.yaml", []byte(src))
	want := `dir/campaign.yaml:5:11: targets[1].kind: "opanai" is not a target kind; did you mean openai? (use openai, anthropic or sim)`
	if err == nil || err.Error() != want {
		t.Fatalf("error\n%v\nwant\n%s", err, want)
	}
	d := Detail(err)
	if !strings.Contains(d, "    5 |     kind: opanai\n      |           ^") {
		t.Errorf("excerpt missing or misplaced:\n%s", d)
	}
}

// TestSecretsNotEchoed checks that a key written into the file appears in
// no error text or excerpt.
func TestSecretsNotEchoed(t *testing.T) {
	const key = "sk-proj-abcdefghijklmnop1234567890"
	for _, src := range []string{
		"targets:\n  - name: a\n    kind: openai\n    model: m\n    api_key: " + key + "\ncorpus: {lengths: [1k]}\nload: {stages: [{rate: 1, duration: 1s}]}\n",
		"targets:\n  - name: a\n    kind: openai\n    model: m\n    api_key_env: " + key + "\ncorpus: {lengths: [1k]}\nload: {stages: [{rate: 1, duration: 1s}]}\n",
		"targets:\n  - name: a\n    kind: openai\n    model: m\n    headers: {Authorization: Bearer " + key + "}\ncorpus: {lengths: [1k]}\nload: {stages: [{rate: 1, duration: 1s}]}\n",
	} {
		_, err := Parse("c.yaml", []byte(src))
		if err == nil {
			t.Fatalf("no error for\n%s", src)
		}
		if strings.Contains(Detail(err), key) || strings.Contains(err.Error(), key) {
			t.Errorf("the key leaks into the error:\n%s", Detail(err))
		}
		var e *Error
		if !errors.As(err, &e) || e.Line != 5 {
			t.Errorf("error %v not placed on line 5", err)
		}
	}
}

// TestSeveralMistakes checks that semantic mistakes are all reported, in
// file order.
func TestSeveralMistakes(t *testing.T) {
	src := `targets:
  - name: a
    kind: opanai
corpus:
  lengths: [1k]
  depths: [0, 150]
load:
  stages: [{rate: 1, duration: 1s}]
accuracy: {threshold: 2}
`
	_, err := Parse("c.yaml", []byte(src))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %v is not Errors", err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Field)
	}
	want := "targets[0].kind,corpus.depths[1],accuracy.threshold"
	if strings.Join(got, ",") != want {
		t.Errorf("fields %v, want %s", got, want)
	}
}

// FuzzParse: decoding arbitrary bytes never panics, and every error it
// returns names the file.
func FuzzParse(f *testing.F) {
	f.Add([]byte("targets: [{name: a, kind: sim}]\ncorpus: {lengths: [1k]}\nload: {stages: [{rate: 1, duration: 1s}]}\n"))
	f.Add([]byte("targets:\n\t- a"))
	f.Add([]byte("slo: {ttft_p95: 2s}\nload: {search: {max_rate: 3}}"))
	f.Add([]byte("targets: [{name: a, kind: sim, sim: {overflow: 3}}]"))
	f.Add([]byte("&a [*a]"))
	f.Add([]byte("corpus: {lengths: [1k, \"8k\", 1.5, -3]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Errorf("error %q does not name the file", err)
			}
			_ = Detail(err)
			return
		}
		_ = c.Matrix()
		_ = c.Targets()
		_ = c.Schedule()
		_ = c.Objectives()
	})
}
