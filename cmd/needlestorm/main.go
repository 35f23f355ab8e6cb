package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

func main() {
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "needlestorm:", err)
		os.Exit(exitCode(err))
	}
}

// exitCode is 1 for errors, or the code an error carries (cli.ExitCoder).
func exitCode(err error) int {
	if ec, ok := err.(cli.ExitCoder); ok && ec.ExitCode() != 0 {
		return ec.ExitCode()
	}
	return 1
}

func newApp() *cli.App {
	return &cli.App{
		Name:                 "needlestorm",
		Usage:                "find the real operating envelope of LLM endpoints",
		Version:              version(),
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		Commands: []*cli.Command{
			runCommand(),
			reportCommand(),
			routeCommand(),
			mergeCommand(),
			exportCommand(),
			simCommand(),
			corpusCommand(),
			tokensCommand(),
			versionCommand(),
		},
	}
}
