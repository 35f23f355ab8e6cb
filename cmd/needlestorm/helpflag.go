package main

import "github.com/urfave/cli/v2"

// ownHelpFlags gives the app and each of its commands a --help flag of its
// own instead of urfave/cli's shared cli.HelpFlag, which every command of
// every app in the process appends and writes to as it parses its flags: a
// data race between apps run side by side (the tests run several). --help
// still works: urfave/cli looks the flag up by its name.
func ownHelpFlags(app *cli.App) *cli.App {
	app.HideHelp = true
	app.Flags = append(app.Flags, newHelpFlag())
	for _, c := range app.Commands {
		c.HideHelp = true
		c.Flags = append(c.Flags, newHelpFlag())
	}
	return app
}

func newHelpFlag() *cli.BoolFlag {
	return &cli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show help", DisableDefaultText: true}
}
