package corpus

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const offlineChildEnv = "NEEDLESTORM_TEST_OFFLINE_CHILD"

// TestTokenizerOffline proves the tokenizer never touches the network: in a
// fresh process (the shared encoders are built once per process, so a test in
// this one would prove nothing once another test built them), with every
// proxy pointing at a closed loopback port and an empty tiktoken cache
// folder, both encodings still load and encode.
func TestTokenizerOffline(t *testing.T) {
	if os.Getenv(offlineChildEnv) == "1" {
		offlineChild(t)
		return
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close() // nothing listens there any more
	cache := t.TempDir()
	for _, v := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
		t.Setenv(v, closed)
	}
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")
	t.Setenv("TIKTOKEN_CACHE_DIR", cache)
	t.Setenv(offlineChildEnv, "1")
	cmd := exec.Command(os.Args[0], "-test.run=^TestTokenizerOffline$", "-test.count=1", "-test.v")
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "offline encoders ok") {
		t.Fatalf("child process did not run the offline check:\n%s", out)
	}
	entries, err := os.ReadDir(cache)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("tiktoken cache folder is not empty: %v", entries)
	}
}

func offlineChild(t *testing.T) {
	for _, v := range []string{"HTTP_PROXY", "HTTPS_PROXY", "TIKTOKEN_CACHE_DIR"} {
		if os.Getenv(v) == "" {
			t.Fatalf("%s is not set in the child", v)
		}
	}
	want := map[string]int{"cl100k_base": 2, "o200k_base": 2}
	for _, name := range Encodings {
		tok, err := GetTokenizer(name)
		if err != nil {
			t.Fatalf("GetTokenizer(%s) offline: %v", name, err)
		}
		if n := tok.Count("hello world"); n != want[name] {
			t.Fatalf("%s: \"hello world\" has %d tokens, want %d", name, n, want[name])
		}
		if got := tok.Decode(tok.Encode("needle in a haystack")); got != "needle in a haystack" {
			t.Fatalf("%s: round trip gave %q", name, got)
		}
	}
	t.Log("offline encoders ok")
}

func TestTokenizerShared(t *testing.T) {
	a, err := GetTokenizer("")
	if err != nil {
		t.Fatal(err)
	}
	b, err := GetTokenizer(DefaultEncoding)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("GetTokenizer returns a new encoder per call; want one shared per encoding")
	}
	if _, err := GetTokenizer("p50k_bass"); err == nil || !strings.Contains(err.Error(), "cl100k_base") {
		t.Fatalf("unknown encoding error should list the valid ones, got %v", err)
	}
}
