package run

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func promoteRun(t *testing.T, dir, name string) {
	t.Helper()
	if err := WriteManifest(dir, &Manifest{Reason: name}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.json"), []byte(name), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "charts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "charts", "a.svg"), []byte(name), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPromote(t *testing.T) {
	root := t.TempDir()
	first, second := filepath.Join(root, "n1"), filepath.Join(root, "n2")
	for _, d := range []string{first, second} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		promoteRun(t, d, filepath.Base(d))
	}
	if err := os.WriteFile(filepath.Join(first, "only-in-first"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(root, "sub", "baseline")
	if err := Promote(first, base); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(base, "charts", "a.svg")); string(b) != "n1" {
		t.Errorf("first promotion: charts/a.svg = %q, want n1", b)
	}
	if err := Promote(second, base); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(base, "summary.json")); string(b) != "n2" {
		t.Errorf("second promotion: summary.json = %q, want n2", b)
	}
	if _, err := os.Stat(filepath.Join(base, "only-in-first")); err == nil {
		t.Error("the old baseline's files survive the promotion: it must be replaced whole")
	}
	m, err := ReadManifest(base)
	if err != nil || m.Reason != "n2" {
		t.Errorf("baseline manifest %+v, %v", m, err)
	}
	left, _ := os.ReadDir(filepath.Join(root, "sub"))
	if len(left) != 1 {
		t.Errorf("promotion leaves temporary directories behind: %v", left)
	}
	if b, _ := os.ReadFile(filepath.Join(second, "summary.json")); string(b) != "n2" {
		t.Error("the promoted run itself changed")
	}
}

func TestPromoteRefuses(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "run")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	promoteRun(t, src, "run")
	notRun := filepath.Join(root, "docs")
	if err := os.Mkdir(notRun, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(notRun, "keep.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ src, dst, want string }{
		{src, notRun, "not a needlestorm run directory"},
		{src, src, "the baseline directory itself"},
		{notRun, filepath.Join(root, "b"), "is " + notRun + " a needlestorm run directory"},
	} {
		err := Promote(tc.src, tc.dst)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Promote(%s, %s) = %v, want an error saying %q", tc.src, tc.dst, err, tc.want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(notRun, "keep.txt")); string(b) != "mine" {
		t.Error("a refused promotion touched the directory")
	}
}
