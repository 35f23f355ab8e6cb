package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// runCommand is a placeholder until its issue lands; it says so when run.
func runCommand() *cli.Command {
	return &cli.Command{
		Name:   "run",
		Usage:  "(not built yet)",
		Action: func(*cli.Context) error { return errors.New("'run' is not built yet") },
	}
}
