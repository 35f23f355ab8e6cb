package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// corpusCommand is a placeholder until its issue lands; it says so when run.
func corpusCommand() *cli.Command {
	return &cli.Command{
		Name:   "corpus",
		Usage:  "(not built yet)",
		Action: func(*cli.Context) error { return errors.New("'corpus' is not built yet") },
	}
}
