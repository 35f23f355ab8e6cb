package testkit

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// EnvRequireBinaries, set to 1, makes Binary fail a test instead of
// skipping it when a binary is missing: CI sets it (.ci/run) so that the
// tests against real components never skip there.
const EnvRequireBinaries = "NEEDLESTORM_REQUIRE_BINARIES"

// Binary returns the path of the first of names found on PATH, such as
// Binary(t, "prometheus", "promtool"). When none is found it skips the
// test, saying which Debian package to install, or fails it when
// $NEEDLESTORM_REQUIRE_BINARIES is 1.
func Binary(t testing.TB, debianPackage string, names ...string) string {
	t.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := strings.Join(names, " or ") + " is not on PATH: install the Debian package " + debianPackage +
		" (apt-get install " + debianPackage + ") to run this test"
	if os.Getenv(EnvRequireBinaries) == "1" {
		t.Fatal(msg + "; " + EnvRequireBinaries + "=1 requires it")
		return ""
	}
	t.Skip(msg)
	return ""
}
