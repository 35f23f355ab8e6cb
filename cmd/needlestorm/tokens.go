package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/needlestorm/needlestorm/corpus"
)

// tokensCommand counts the client tokens of a file or of standard input.
func tokensCommand() *cli.Command {
	return &cli.Command{
		Name:      "tokens",
		Usage:     "count the tokens of a file or of standard input",
		ArgsUsage: "[FILE]",
		Description: "Prints the number of tokens of FILE (or of standard input when FILE is missing or -)\n" +
			"in the given encoding, the way needlestorm counts prompt lengths.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "encoding", Aliases: []string{"e"}, Value: corpus.DefaultEncoding, Usage: "tokenizer encoding: " + strings.Join(corpus.Encodings, " or ")},
		},
		Action:       tokensAction,
		OnUsageError: usageError,
	}
}

func tokensAction(c *cli.Context) error {
	if c.NArg() > 1 {
		return cli.Exit(fmt.Sprintf("tokens takes at most one FILE, got %d: count files one at a time", c.NArg()), exitUsage)
	}
	tok, err := corpus.GetTokenizer(c.String("encoding"))
	if err != nil {
		return cli.Exit(err.Error(), exitUsage)
	}
	var in io.Reader = c.App.Reader
	if in == nil {
		in = os.Stdin
	}
	name := c.Args().First()
	if name != "" && name != "-" {
		f, err := os.Open(name)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("file %s does not exist: give an existing file, or no file to read standard input", name)
			}
			return fmt.Errorf("cannot read %s: %w", name, err)
		}
		defer f.Close()
		in = f
	}
	data, err := io.ReadAll(in)
	if err != nil {
		return fmt.Errorf("reading the input: %w", err)
	}
	_, err = fmt.Fprintln(c.App.Writer, tok.Count(string(data)))
	return err
}
