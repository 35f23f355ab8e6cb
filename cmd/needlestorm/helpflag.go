package main

import "github.com/urfave/cli/v2"

// ownHelpFlags gives the app and each of its commands --help (and the app
// --version) flags of their own instead of urfave/cli's shared
// cli.HelpFlag and cli.VersionFlag, which every app in the process appends
// and writes to as it parses its flags: a data race between apps run side
// by side (the tests run several). --help still works, as urfave/cli looks
// the flag up by its name; --version is answered before the app's
// own action (which must be set), with what the version command prints.
func ownHelpFlags(app *cli.App) *cli.App {
	app.HideHelp = true
	app.HideVersion = true
	app.Flags = append(app.Flags, newHelpFlag(),
		&cli.BoolFlag{Name: "version", Aliases: []string{"v"}, Usage: "print the version", DisableDefaultText: true})
	action := app.Action
	app.Action = func(c *cli.Context) error {
		if c.Bool("version") {
			return printVersion(c)
		}
		return action(c)
	}
	for _, c := range app.Commands {
		c.HideHelp = true
		c.Flags = append(c.Flags, newHelpFlag())
	}
	return app
}

func newHelpFlag() *cli.BoolFlag {
	return &cli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show help", DisableDefaultText: true}
}
