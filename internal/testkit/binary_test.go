package testkit

import (
	"strings"
	"testing"
)

// recordTB records what Binary does to a test instead of doing it.
type recordTB struct {
	testing.TB
	skipped, failed string
}

func (r *recordTB) Helper()           {}
func (r *recordTB) Skip(args ...any)  { r.skipped = args[0].(string) }
func (r *recordTB) Fatal(args ...any) { r.failed = args[0].(string) }

func TestBinary(t *testing.T) {
	if p := Binary(t, "coreutils", "no-such-binary-needlestorm", "ls"); !strings.HasSuffix(p, "/ls") {
		t.Errorf("Binary found %q, want the path of ls", p)
	}

	t.Setenv(EnvRequireBinaries, "")
	r := &recordTB{TB: t}
	Binary(r, "victoria-metrics", "no-such-binary-needlestorm")
	if r.failed != "" || !strings.Contains(r.skipped, "install the Debian package victoria-metrics") || !strings.Contains(r.skipped, "no-such-binary-needlestorm") {
		t.Errorf("missing binary: skipped %q, failed %q; want a skip naming the binary and the package", r.skipped, r.failed)
	}

	t.Setenv(EnvRequireBinaries, "1")
	r = &recordTB{TB: t}
	Binary(r, "prometheus", "no-such-binary-needlestorm")
	if r.skipped != "" || !strings.Contains(r.failed, "install the Debian package prometheus") || !strings.Contains(r.failed, EnvRequireBinaries+"=1") {
		t.Errorf("missing binary with %s=1: skipped %q, failed %q; want a failure", EnvRequireBinaries, r.skipped, r.failed)
	}
}
