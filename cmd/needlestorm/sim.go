package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// simCommand is a placeholder until its issue lands; it says so when run.
func simCommand() *cli.Command {
	return &cli.Command{
		Name:   "sim",
		Usage:  "(not built yet)",
		Action: func(*cli.Context) error { return errors.New("'sim' is not built yet") },
	}
}
