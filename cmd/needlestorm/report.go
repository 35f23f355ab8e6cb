package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// reportCommand is a placeholder until its issue lands; it says so when run.
func reportCommand() *cli.Command {
	return &cli.Command{
		Name:   "report",
		Usage:  "(not built yet)",
		Action: func(*cli.Context) error { return errors.New("'report' is not built yet") },
	}
}
