package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// tokensCommand is a placeholder until its issue lands; it says so when run.
func tokensCommand() *cli.Command {
	return &cli.Command{
		Name:   "tokens",
		Usage:  "(not built yet)",
		Action: func(*cli.Context) error { return errors.New("'tokens' is not built yet") },
	}
}
