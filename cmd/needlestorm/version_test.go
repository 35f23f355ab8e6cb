package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/run"
)

func TestVersionFormat(t *testing.T) {
	stamped := &debug.BuildInfo{
		GoVersion: "go1.99.1",
		Main:      debug.Module{Path: "github.com/needlestorm/needlestorm", Version: "v1.4.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-05-06T07:08:09Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	devel := &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Version: "(devel)"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "fedcba9876543210fedcba9876543210fedcba98"}}}
	tests := []struct {
		name  string
		ld    linked
		info  *debug.BuildInfo
		short string
		want  string
	}{
		{"ldflags win over build info", linked{"v9.9.9", "abc123", "2026-01-02T03:04:05Z"}, stamped, "v9.9.9",
			"needlestorm v9.9.9\n  commit    abc123 (modified)\n  built     2026-01-02T03:04:05Z\n  go        go1.99.1\n"},
		{"only build info", linked{}, stamped, "v1.4.0",
			"needlestorm v1.4.0\n  commit    0123456789abcdef0123456789abcdef01234567 (modified)\n  committed 2026-05-06T07:08:09Z\n  go        go1.99.1\n"},
		{"only some ldflags", linked{Version: "v2.0.0"}, devel, "v2.0.0",
			"needlestorm v2.0.0\n  commit    fedcba9876543210fedcba9876543210fedcba98\n  go        go1.99.1\n"},
		{"devel build with a revision", linked{}, devel, "dev-fedcba987654",
			"needlestorm dev\n  commit    fedcba9876543210fedcba9876543210fedcba98\n  go        go1.99.1\n"},
		{"neither", linked{}, nil, "dev", "needlestorm dev\n  go        " + runtime.Version() + "\n"},
		{"empty build info", linked{}, &debug.BuildInfo{}, "dev", "needlestorm dev\n  go        " + runtime.Version() + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := resolveBuild(tt.ld, tt.info)
			if got := b.String(); got != tt.want {
				t.Errorf("printed\n%q\nwant\n%q", got, tt.want)
			}
			if got := b.short(); got != tt.short {
				t.Errorf("short version %q, want %q", got, tt.short)
			}
		})
	}
}

// TestVersionCommandAndFlag: `version` and --version print the same
// description of the running binary.
func TestVersionCommandAndFlag(t *testing.T) {
	want := currentBuild().String()
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		out, err := runApp(args...)
		if err != nil || out != want {
			t.Errorf("%v: %v, printed %q, want %q", args, err, out, want)
		}
	}
}

// TestVersionLinked builds the binary with the -ldflags the Makefile sets
// and checks that it prints them.
func TestVersionLinked(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "needlestorm")
	build := exec.Command("go", "build", "-o", bin,
		"-ldflags", "-X main.buildVersion=v9.9.9 -X main.buildCommit=abc123 -X main.buildDate=2026-01-02T03:04:05Z", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, arg := range []string{"version", "--version"} {
		out, err := exec.Command(bin, arg).CombinedOutput()
		if err != nil {
			t.Fatalf("needlestorm %s: %v\n%s", arg, err, out)
		}
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		if len(lines) != 4 || lines[0] != "needlestorm v9.9.9" || lines[1] != "  commit    abc123" ||
			lines[2] != "  built     2026-01-02T03:04:05Z" || !strings.HasPrefix(lines[3], "  go        go1.") {
			t.Errorf("needlestorm %s printed\n%s", arg, out)
		}
	}
	// A run's manifest names the linked version and commit.
	dir := filepath.Join(t.TempDir(), "run")
	runCmd := exec.Command(bin, "run", "--out", dir, "--rates", "10", "--stage-duration", "200ms", "--warmup", "0s",
		"--lengths", "300", "--depths", "0", "--quiet", "--sim-time-scale", "0")
	out, err := runCmd.CombinedOutput()
	m, readErr := run.ReadManifest(dir)
	if readErr != nil {
		t.Fatalf("run: %v, no manifest: %v\n%s", err, readErr, out)
	}
	if m.Tool != "needlestorm" || m.Version != "v9.9.9" || m.Commit != "abc123" {
		t.Errorf("manifest names tool %q version %q commit %q, want needlestorm v9.9.9 abc123", m.Tool, m.Version, m.Commit)
	}
}
