package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTokensCommand(t *testing.T) {
	out, _, err := runCmd(t, tokensCommand(), "hello world")
	if err != nil || out != "2\n" {
		t.Fatalf("stdin: %q %v", out, err)
	}
	p := filepath.Join(t.TempDir(), "f.txt")
	os.WriteFile(p, []byte("The grass is green. The sky is blue."), 0o644)
	out, _, err = runCmd(t, tokensCommand(), "", p)
	if err != nil || out != "10\n" {
		t.Fatalf("file: %q %v", out, err)
	}
	out, _, err = runCmd(t, tokensCommand(), "", "--encoding", "o200k_base", p)
	if err != nil || out != "10\n" {
		t.Fatalf("o200k: %q %v", out, err)
	}
	out, _, err = runCmd(t, tokensCommand(), "", "-")
	if err != nil || out != "0\n" {
		t.Fatalf("empty stdin: %q %v", out, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{filepath.Join(t.TempDir(), "nope.txt")}, "does not exist"},
		{[]string{"--encoding", "bogus"}, "unknown encoding"},
		{[]string{"a", "b"}, "at most one FILE"},
	} {
		if _, _, err := runCmd(t, tokensCommand(), "", tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}
