package corpus

import (
	"strings"
	"testing"
)

func TestReadDataset(t *testing.T) {
	src := `{"id": "a1", "task_type": "extraction", "prompt": "Total of: 2 + 3?", "expected": {"number": 5}}

{"id": "a2", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}], "max_tokens": 8, "expected": [{"equals": "Paris"}, {"regex": "^P"}]}
{"id": "a3", "task_type": "summarization", "prompt": "Summarise: the sky is blue."}
`
	d, err := ReadDataset(strings.NewReader(src), "cases.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Cases) != 3 {
		t.Fatalf("%d cases, want 3", len(d.Cases))
	}
	if c := d.Cases[1]; c.Line != 3 || c.TaskType != DefaultTaskType || c.MaxTokens != 8 || len(c.Expected) != 2 || c.Expected[1].Kind() != MatchRegex {
		t.Errorf("case a2 = %+v", c)
	}
	if !d.Cases[2].Open() || d.Cases[0].Open() {
		t.Error("open-ended: a3 has no expected, a1 has")
	}
	if got := strings.Join(d.TaskTypes(), ","); got != "extraction,general,summarization" {
		t.Errorf("TaskTypes = %s", got)
	}
	cases, err := d.Build("")
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := GetTokenizer(DefaultEncoding)
	if c := cases[1]; c.Task != TaskDataset || c.ID != "a2" || c.PromptTokens != tok.Count("Be brief.")+tok.Count("Capital of France?") || c.Length < c.PromptTokens || c.Length != cases[0].Length || len(c.Messages) != 2 || !c.SharedPrefix {
		t.Errorf("case a2 built as %+v", c)
	}
	if c := cases[0]; len(c.Messages) != 1 || c.Messages[0].Role != "user" || strings.Join(c.Expected, ",") != "5" {
		t.Errorf("case a1 built as %+v", c)
	}
}

func TestReadDatasetErrors(t *testing.T) {
	good := `{"id": "ok", "prompt": "hi", "expected": {"equals": "hello"}}`
	tests := []struct {
		name string
		src  string
		want string // substring of the error
	}{
		{"empty file", "", "cases.jsonl: the dataset holds no case"},
		{"blank lines only", "\n  \n", "holds no case"},
		{"not an object", good + "\n[1,2]", "cases.jsonl:2: not a JSON object"},
		{"bad json", good + "\n\n{\"id\": \"x\",", "cases.jsonl:3: "},
		{"two values", `{"id":"x","prompt":"p"} {"id":"y"}`, "cases.jsonl:1: more than one JSON value"},
		{"unknown field", good + "\n" + `{"id": "x", "promt": "p"}`, `cases.jsonl:2: promt: unknown field`},
		{"wrong type", `{"id": 7, "prompt": "p"}`, "cases.jsonl:1: id: a JSON number where a string belongs"},
		{"no id", `{"prompt": "p"}`, "cases.jsonl:1: id: missing"},
		{"duplicate id", good + "\n" + good, `cases.jsonl:2: id: "ok" is already the id of line 1`},
		{"no prompt", `{"id": "x"}`, "cases.jsonl:1: messages: missing"},
		{"both", `{"id": "x", "prompt": "p", "messages": [{"role":"user","content":"c"}]}`, "cases.jsonl:1: prompt: give messages or prompt, not both"},
		{"bad role", `{"id": "x", "messages": [{"role":"bot","content":"c"}]}`, `cases.jsonl:1: messages[0].role: "bot"`},
		{"empty content", `{"id": "x", "messages": [{"role":"user","content":" "}]}`, "cases.jsonl:1: messages[0].content: empty"},
		{"last not user", `{"id": "x", "messages": [{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}`, "messages[1].role"},
		{"max_tokens", `{"id": "x", "prompt": "p", "max_tokens": -1}`, "cases.jsonl:1: max_tokens: -1"},
		{"empty expected list", `{"id": "x", "prompt": "p", "expected": []}`, "cases.jsonl:1: expected: an empty list"},
		{"invalid regex", good + "\n" + `{"id": "x", "prompt": "p", "expected": {"regex": "(["}}`, "cases.jsonl:2: expected: regex:"},
		{"one_of empty", `{"id": "x", "prompt": "p", "expected": {"one_of": [], "label": "a"}}`, "cases.jsonl:1: expected: one_of"},
		{"second matcher bad", `{"id": "x", "prompt": "p", "expected": [{"equals": "a"}, {"contains": []}]}`, "cases.jsonl:1: expected[1]: contains"},
		{"unknown matcher", `{"id": "x", "prompt": "p", "expected": [{"equals": "a"}, {"startswith": "a"}]}`, "cases.jsonl:1: expected[1]: startswith: unknown field"},
		{"matchers contradict", good + "\n" + `{"id": "x", "prompt": "p", "expected": [{"equals": "yes"}, {"equals": "no"}]}`, `cases.jsonl:2: expected: matchers 0 (equals "yes") and 1 (equals) contradict`},
		{"expected a string", `{"id": "x", "prompt": "p", "expected": "Paris"}`, "cases.jsonl:1: expected: must be a matcher object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadDataset(strings.NewReader(tt.src), "cases.jsonl")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}

func TestReadDatasetListsEveryBadLine(t *testing.T) {
	src := `{"id": "a", "prompt": "p"}
{"id": "b"}
{"id": "c", "prompt": "p", "expected": {"regex": "("}}
{"id": "a", "prompt": "p"}`
	_, err := ReadDataset(strings.NewReader(src), "d.jsonl")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"d.jsonl:2: messages", "d.jsonl:3: expected: regex", "d.jsonl:4: id"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "d.jsonl:1") {
		t.Errorf("good line 1 reported: %v", err)
	}
}

// FuzzReadDataset: whatever the bytes, ReadDataset never panics, refuses
// or accepts, and every error it gives names the file.
func FuzzReadDataset(f *testing.F) {
	for _, s := range []string{
		`{"id": "a", "prompt": "p", "expected": {"equals": "x"}}`,
		`{"id": "a", "messages": [{"role": "user", "content": "c"}], "expected": [{"json": {"a.b": {"regex": "^x"}}}, {"number": 1, "tolerance": 0.5}]}`,
		`{"id": "a", "prompt": "p", "expected": {"one_of": ["a", "b"], "label": "a"}}` + "\n" + `{"id": "a"}`,
		"{\"id\": \"\xff\"}", "[]", "", "{",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		d, err := ReadDataset(strings.NewReader(src), "f.jsonl")
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "f.jsonl") {
					t.Fatalf("error line %q does not name the file", line)
				}
			}
			return
		}
		if len(d.Cases) == 0 {
			t.Fatal("an empty dataset was accepted")
		}
		for _, c := range d.Cases {
			for _, m := range c.Expected {
				if err := m.Check(); err != nil {
					t.Fatalf("case %s kept a matcher no answer can pass: %v", c.ID, err)
				}
			}
		}
	})
}
