package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/needlestorm/needlestorm/internal/gctune"
	"github.com/needlestorm/needlestorm/internal/termsafe"
)

// collector says how main set the process's garbage collector (see
// internal/gctune), as it is when asked: every run's manifest records it
// when the run starts and again when it ends, so that a guard's putting
// Go's defaults back during the run shows.
var collector fmt.Stringer = gctune.Setting{Reason: "not set by main"}

func main() {
	guard := gctune.NewGuard(gctune.Apply(), time.Second)
	collector = guard
	defer guard.Stop()
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "needlestorm:", termsafe.Text(err.Error()))
		os.Exit(exitCode(err))
	}
}

func newApp() *cli.App {
	return ownHelpFlags(&cli.App{
		Name:                 "needlestorm",
		Usage:                "find the real operating envelope of LLM endpoints",
		Version:              version(),
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		ExitErrHandler:       exitOnError,
		// Exit statuses have one meaning each (exitcodes.go); --help
		// lists them.
		CustomAppHelpTemplate: cli.AppHelpTemplate + "\n" + exitCodesHelp,
		Action:                rootAction,
		CommandNotFound:       commandNotFound,
		Commands: []*cli.Command{
			runCommand(),
			reportCommand(),
			compareCommand(),
			routeCommand(),
			mergeCommand(),
			exportCommand(),
			simCommand(),
			corpusCommand(),
			tokensCommand(),
			versionCommand(),
		},
	})
}

// exitOnError is the app's ExitErrHandler: an error that carries an exit
// status is printed and the process exits with it, as urfave/cli does, but
// with the message neutralised first (termsafe), since it may quote what a
// server sent (model ids, error messages).
func exitOnError(c *cli.Context, err error) {
	var ec cli.ExitCoder
	if !errors.As(err, &ec) {
		return
	}
	if msg := err.Error(); msg != "" {
		var w io.Writer = os.Stderr
		if c != nil && c.App != nil && c.App.ErrWriter != nil {
			w = c.App.ErrWriter
		}
		fmt.Fprintln(w, termsafe.Text(msg))
	}
	cli.OsExiter(exitCode(err))
}
