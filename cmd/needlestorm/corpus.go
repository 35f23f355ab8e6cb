package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/needlestorm/needlestorm/corpus"
)

// corpusCommand writes needle-in-a-haystack Cases as JSONL.
func corpusCommand() *cli.Command {
	return &cli.Command{
		Name:  "corpus",
		Usage: "write needle-in-a-haystack prompts (Cases) as JSONL",
		Description: "Expands tasks x lengths x depths x samples into Cases, one JSON object per line\n" +
			"(schema " + corpus.CaseSchema + "). Every prompt is exactly --lengths tokens long, counted\n" +
			"as the client tokens of its system and user message contents.\n\n" +
			"Example: needlestorm corpus --lengths 1k,8k,32k --depths 0,25,50,75,100 --task single --samples 3",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "lengths", Aliases: []string{"l"}, Value: "1k,8k,32k", Usage: "prompt lengths in tokens, comma-separated; k = 1,000, m = 1,000,000"},
			&cli.StringFlag{Name: "depths", Aliases: []string{"d"}, Value: "0,25,50,75,100", Usage: "needle depths in percent of the haystack, comma-separated"},
			&cli.StringSliceFlag{Name: "task", Aliases: []string{"t"}, Value: cli.NewStringSlice(corpus.TaskSingle), Usage: "task, repeated or comma-separated: " + strings.Join(corpus.Tasks, ", ")},
			&cli.IntFlag{Name: "samples", Aliases: []string{"n"}, Value: 1, Usage: "Cases per task, length and depth, each with its own keys and values"},
			&cli.StringFlag{Name: "haystack", Value: corpus.DefaultHaystack, Usage: "prose, noise, or dir:PATH for a folder of your own .txt/.md files"},
			&cli.StringFlag{Name: "encoding", Value: corpus.DefaultEncoding, Usage: "tokenizer encoding: " + strings.Join(corpus.Encodings, " or ")},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "seed; the same seed gives the same Cases"},
			&cli.BoolFlag{Name: "canaries", Usage: "add opening and closing passphrases to detect truncation"},
			&cli.BoolFlag{Name: "shared-prefix", Usage: "leave out the per-Case preamble that defeats server prefix caches"},
			&cli.StringFlag{Name: "value-kind", Value: corpus.KindNumber, Usage: "needle values: " + strings.Join(corpus.ValueKinds, ", ") + " (chain always uses numbers, latent character names, cwe list words)"},
			&cli.IntFlag{Name: "keys", Usage: "distractor keys (multikey), values (multivalue), keys (multiquery), hops (chain), distractor characters (latent) or common words (cwe)", DefaultText: "the task's default"},
			&cli.BoolFlag{Name: "verify", Usage: "re-count every prompt with the tokenizer (slow; the builder is exact without it)"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "write to this file instead of standard output"},
		},
		Action:       corpusAction,
		OnUsageError: usageError,
	}
}

// corpusMatrix reads the corpus flags into a Matrix.
func corpusMatrix(c *cli.Context) (corpus.Matrix, error) {
	lengths, err := corpus.ParseLengths(c.String("lengths"))
	if err != nil {
		return corpus.Matrix{}, fmt.Errorf("--lengths: %w", err)
	}
	depths, err := corpus.ParseDepths(c.String("depths"))
	if err != nil {
		return corpus.Matrix{}, fmt.Errorf("--depths: %w", err)
	}
	var tasks []string
	for _, t := range c.StringSlice("task") {
		for _, f := range strings.Split(t, ",") {
			if f = strings.TrimSpace(f); f != "" {
				tasks = append(tasks, f)
			}
		}
	}
	if c.Int("samples") < 1 {
		return corpus.Matrix{}, fmt.Errorf("--samples must be 1 or more, not %d", c.Int("samples"))
	}
	m := corpus.Matrix{
		Tasks:        tasks,
		Lengths:      lengths,
		Depths:       depths,
		Samples:      c.Int("samples"),
		Haystack:     c.String("haystack"),
		Encoding:     c.String("encoding"),
		Seed:         c.Int64("seed"),
		Canaries:     c.Bool("canaries"),
		SharedPrefix: c.Bool("shared-prefix"),
		ValueKind:    c.String("value-kind"),
		Keys:         c.Int("keys"),
	}
	if _, err := m.Specs(); err != nil {
		return corpus.Matrix{}, err
	}
	return m, nil
}

func corpusAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return cli.Exit(fmt.Sprintf("corpus takes no arguments, got %q: use flags such as --lengths 8k", c.Args().Slice()), exitUsage)
	}
	m, err := corpusMatrix(c)
	if err != nil {
		return cli.Exit(err.Error(), exitUsage)
	}
	out := c.String("out")
	var w io.Writer = c.App.Writer
	var f *os.File
	if out != "" {
		if dir := filepath.Dir(out); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("cannot create the folder for --out %s: %w", out, err)
			}
		}
		f, err = os.Create(out)
		if err != nil {
			return fmt.Errorf("cannot write --out %s: %w", out, err)
		}
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	var opts []corpus.BuilderOption
	if c.Bool("verify") {
		opts = append(opts, corpus.Verify(true))
	}
	for cs, err := range m.All(c.Context, opts...) {
		if err == nil {
			err = enc.Encode(cs)
		}
		if err != nil {
			if f != nil {
				f.Close()
				os.Remove(out)
			}
			return err
		}
		n++
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing the cases: %w", err)
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return fmt.Errorf("writing --out %s: %w", out, err)
		}
		fmt.Fprintf(c.App.ErrWriter, "wrote %d cases to %s\n", n, out)
	}
	return nil
}
