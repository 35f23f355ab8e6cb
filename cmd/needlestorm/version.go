package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"
)

// Set at link time by the Makefile's build target:
//
//	-ldflags "-X main.buildVersion=v1.2.3 -X main.buildCommit=<sha> -X main.buildDate=2026-01-02T03:04:05Z"
//
// Each one set wins over what the Go toolchain stamped in the build info.
var (
	buildVersion = ""
	buildCommit  = ""
	buildDate    = ""
)

// build describes the binary: what `needlestorm version` prints.
type build struct {
	Version string // "dev" when nothing says
	Commit  string // empty when unknown
	// Date is when the binary was built (from -ldflags), else when its
	// commit was made (vcs.time); DateIsCommit says which.
	Date         string
	DateIsCommit bool
	// Modified is true when the build info says the work tree had
	// uncommitted changes (vcs.modified).
	Modified  bool
	GoVersion string
}

// linked holds the -ldflags variables.
type linked struct{ Version, Commit, Date string }

// currentBuild is this binary's build.
func currentBuild() build {
	info, _ := debug.ReadBuildInfo()
	return resolveBuild(linked{buildVersion, buildCommit, buildDate}, info)
}

// resolveBuild combines the -ldflags variables with the build info (nil
// when the binary has none): a variable set wins; then the module version
// (not "(devel)"), the vcs.* settings and the toolchain's Go version.
func resolveBuild(ld linked, info *debug.BuildInfo) build {
	b := build{Version: ld.Version, Commit: ld.Commit, Date: ld.Date, GoVersion: runtime.Version()}
	if info != nil {
		if info.GoVersion != "" {
			b.GoVersion = info.GoVersion
		}
		if v := info.Main.Version; b.Version == "" && v != "" && v != "(devel)" {
			b.Version = v
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				if b.Date == "" && s.Value != "" {
					b.Date, b.DateIsCommit = s.Value, true
				}
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	return b
}

// short is the version as one word, as run manifests and --help show it:
// the version, or "dev-" and the commit's first 12 characters for a
// development build whose commit is known.
func (b build) short() string {
	if b.Version == "dev" && len(b.Commit) >= 12 {
		return "dev-" + b.Commit[:12]
	}
	return b.Version
}

// String is what `needlestorm version` and --version print: the version,
// then one line each for the commit, the date and the Go version (the lines
// of what is unknown are left out, except the Go version's).
func (b build) String() string {
	var s strings.Builder
	fmt.Fprintf(&s, "needlestorm %s\n", b.Version)
	if b.Commit != "" {
		mod := ""
		if b.Modified {
			mod = " (modified)"
		}
		fmt.Fprintf(&s, "  commit    %s%s\n", b.Commit, mod)
	}
	if b.Date != "" {
		label := "built    "
		if b.DateIsCommit {
			label = "committed"
		}
		fmt.Fprintf(&s, "  %s %s\n", label, b.Date)
	}
	fmt.Fprintf(&s, "  go        %s\n", b.GoVersion)
	return s.String()
}

// version is the tool's version in one word (build.short).
func version() string { return currentBuild().short() }

// printVersion writes the build description to c.App.Writer, for both the
// version command and --version.
func printVersion(c *cli.Context) error {
	_, err := fmt.Fprint(c.App.Writer, currentBuild().String())
	return err
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:   "version",
		Usage:  "print the version, commit, build date and Go version",
		Action: printVersion,
	}
}
