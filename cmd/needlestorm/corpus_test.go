package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/needlestorm/needlestorm/corpus"
)

// runCmd runs one command in-process and returns its standard output and
// error output.
func runCmd(t *testing.T, cmd *cli.Command, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	app := &cli.App{
		Name:           "needlestorm",
		Commands:       []*cli.Command{cmd},
		Writer:         &out,
		ErrWriter:      &errOut,
		Reader:         strings.NewReader(stdin),
		ExitErrHandler: func(*cli.Context, error) {},
	}
	err := app.Run(append([]string{"needlestorm", cmd.Name}, args...))
	return out.String(), errOut.String(), err
}

func readCases(t *testing.T, jsonl string) []corpus.Case {
	t.Helper()
	var cs []corpus.Case
	sc := bufio.NewScanner(strings.NewReader(jsonl))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var c corpus.Case
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("bad JSONL line: %v\n%.200s", err, sc.Text())
		}
		cs = append(cs, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestCorpusCommandStdout(t *testing.T) {
	out, _, err := runCmd(t, corpusCommand(), "", "--lengths", "1k,2000", "--depths", "0,50,100", "--task", "single,chain", "--task", "multikey", "--samples", "2", "--seed", "7", "--canaries")
	if err != nil {
		t.Fatal(err)
	}
	cs := readCases(t, out)
	if len(cs) != 3*2*3*2 {
		t.Fatalf("%d cases, want 36", len(cs))
	}
	tok, _ := corpus.GetTokenizer(corpus.DefaultEncoding)
	for i, c := range cs {
		if c.Schema != corpus.CaseSchema || c.Seed != 7 || c.Canaries == nil || c.Haystack != "prose" || c.Encoding != corpus.DefaultEncoding {
			t.Fatalf("case %d: %+v", i, c)
		}
		n := 0
		for _, m := range c.Messages {
			n += tok.Count(m.Content)
		}
		if n != c.Length || c.PromptTokens != c.Length {
			t.Fatalf("%s: %d tokens, prompt_tokens %d, length %d", c.ID, n, c.PromptTokens, c.Length)
		}
	}
	if cs[0].Task != "single" || cs[12].Task != "chain" || cs[24].Task != "multikey" || cs[0].ID != "single-1k-d0-s0" {
		t.Fatalf("order: %s %s %s", cs[0].ID, cs[12].ID, cs[24].ID)
	}
	// the same flags give the same bytes
	again, _, err := runCmd(t, corpusCommand(), "", "--lengths", "1k,2000", "--depths", "0,50,100", "--task", "single,chain", "--task", "multikey", "--samples", "2", "--seed", "7", "--canaries")
	if err != nil || again != out {
		t.Fatal("corpus output is not deterministic")
	}
}

func TestCorpusCommandOutFile(t *testing.T) {
	dir := t.TempDir()
	hay := filepath.Join(dir, "hay")
	os.Mkdir(hay, 0o755)
	os.WriteFile(filepath.Join(hay, "notes.md"), []byte("# Notes\n\nThe ferry leaves at dawn. It returns at dusk.\n"), 0o644)
	out := filepath.Join(dir, "sub", "cases.jsonl")
	stdout, stderr, err := runCmd(t, corpusCommand(), "", "--lengths", "600", "--depths", "50", "--haystack", "dir:"+hay, "--encoding", "o200k_base", "--shared-prefix", "--value-kind", "word", "--task", "multivalue", "--keys", "3", "--verify", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "" || !strings.Contains(stderr, "wrote 1 cases to "+out) {
		t.Fatalf("stdout %q stderr %q", stdout, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	cs := readCases(t, string(data))
	if len(cs) != 1 {
		t.Fatalf("%d cases", len(cs))
	}
	c := cs[0]
	if c.Encoding != "o200k_base" || !c.SharedPrefix || len(c.Expected) != 3 || c.Haystack != "dir:"+hay || !strings.Contains(c.Messages[1].Content, "The ferry leaves at dawn.") {
		t.Fatalf("%+v", c)
	}
	if strings.HasPrefix(c.Messages[1].Content, "Archive reference") {
		t.Fatal("--shared-prefix still has a preamble")
	}
}

func TestCorpusCommandErrors(t *testing.T) {
	empty := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--lengths", "0"}, "positive"},
		{[]string{"--lengths", "8q"}, "--lengths"},
		{[]string{"--lengths", "1k", "--depths", "120"}, "--depths"},
		{[]string{"--lengths", "1k", "--task", "haystack"}, "unknown task"},
		{[]string{"--lengths", "1k", "--encoding", "gpt2"}, "unknown encoding"},
		{[]string{"--lengths", "1k", "--haystack", "dir:" + filepath.Join(empty, "missing")}, "does not exist"},
		{[]string{"--lengths", "1k", "--haystack", "dir:" + empty}, "no .txt or .md files"},
		{[]string{"--lengths", "1k", "--haystack", "web"}, "unknown haystack"},
		{[]string{"--lengths", "60"}, "needs at least"},
		{[]string{"--lengths", "1k", "--samples", "0"}, "--samples"},
		{[]string{"--lengths", "1k", "--value-kind", "emoji"}, "unknown value kind"},
		{[]string{"--lengths", "1k", "extra"}, "no arguments"},
	} {
		_, _, err := runCmd(t, corpusCommand(), "", tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want it to say %q", tc.args, err, tc.want)
		}
	}
}
