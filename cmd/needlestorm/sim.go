package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/needlestorm/needlestorm/sim"
)

// simCommand runs the built-in simulated model server until interrupted.
func simCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "profile", Value: "vllm-8b", Usage: "named deployment to simulate (" + strings.Join(sim.Profiles(), ", ") + ")"},
		&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8089", Usage: "address to listen on (loopback only unless --allow-remote)"},
		&cli.BoolFlag{Name: "allow-remote", Usage: "allow a non-loopback listen address (the simulator has no authentication)"},
		&cli.BoolFlag{Name: "list-profiles", Usage: "print every profile's numbers and exit"},
	}
	flags = append(flags, configFlags()...)
	return &cli.Command{
		Name:      "sim",
		Usage:     "run the built-in simulated model server (OpenAI and Anthropic APIs)",
		UsageText: "needlestorm sim [--profile NAME] [--listen 127.0.0.1:8089] [--time-scale F] [--seed N] [--NUMBER VALUE ...]",
		Description: "Serves POST /v1/chat/completions, POST /v1/messages and GET /v1/models with a\n" +
			"simulated model: prefill and decode throughput, a sequence limit with a queue,\n" +
			"a context window with an overflow behaviour, answers read from the prompt, and\n" +
			"injected faults. Every number of the profile can be overridden by its flag.\n" +
			"Responses carry X-Sim-* headers with the server's own timings in simulated seconds.\n\n" +
			"Profiles:\n\n" + profileTable(),
		Flags:        flags,
		Action:       runSim,
		OnUsageError: usageError,
	}
}

// configField is one numeric or text field of sim.Config exposed as a flag.
type configField struct {
	index int
	flag  string
	help  string
	kind  reflect.Kind
}

// configFields lists sim.Config's fields with their flag names: the JSON
// key with dashes (time_scale -> --time-scale).
func configFields() []configField {
	t := reflect.TypeFor[sim.Config]()
	var fs []configField
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		fs = append(fs, configField{index: i, flag: strings.ReplaceAll(name, "_", "-"), help: f.Tag.Get("help"), kind: f.Type.Kind()})
	}
	return fs
}

func configFlags() []cli.Flag {
	var flags []cli.Flag
	for _, f := range configFields() {
		const def = "the profile's"
		switch f.kind {
		case reflect.Float64:
			flags = append(flags, &cli.Float64Flag{Name: f.flag, Usage: f.help, DefaultText: def})
		case reflect.Int:
			flags = append(flags, &cli.IntFlag{Name: f.flag, Usage: f.help, DefaultText: def})
		case reflect.Int64:
			flags = append(flags, &cli.Int64Flag{Name: f.flag, Usage: f.help, DefaultText: def})
		case reflect.String:
			flags = append(flags, &cli.StringFlag{Name: f.flag, Usage: f.help, DefaultText: def})
		}
	}
	return flags
}

// applyOverrides sets the fields of cfg whose flags were given.
func applyOverrides(c *cli.Context, cfg *sim.Config) {
	v := reflect.ValueOf(cfg).Elem()
	for _, f := range configFields() {
		if !c.IsSet(f.flag) {
			continue
		}
		field := v.Field(f.index)
		switch f.kind {
		case reflect.Float64:
			field.SetFloat(c.Float64(f.flag))
		case reflect.Int:
			field.SetInt(int64(c.Int(f.flag)))
		case reflect.Int64:
			field.SetInt(c.Int64(f.flag))
		case reflect.String:
			field.SetString(c.String(f.flag))
		}
	}
}

// profileTable renders every profile's numbers, one row per field.
func profileTable() string {
	names := sim.Profiles()
	cfgs := make([]reflect.Value, len(names))
	for i, n := range names {
		c, _ := sim.Profile(n) // names come from sim.Profiles
		cfgs[i] = reflect.ValueOf(c)
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  --flag\t%s\tmeaning\n", strings.Join(names, "\t"))
	for _, f := range configFields() {
		fmt.Fprintf(tw, "  --%s", f.flag)
		for _, c := range cfgs {
			v := c.Field(f.index)
			if v.Kind() == reflect.Float64 {
				fmt.Fprintf(tw, "\t%s", strconv.FormatFloat(v.Float(), 'f', -1, 64))
				continue
			}
			if v.Kind() == reflect.String && v.String() == "" {
				fmt.Fprint(tw, "\t-") // not set (a dataset, task accuracies)
				continue
			}
			fmt.Fprintf(tw, "\t%v", v.Interface())
		}
		fmt.Fprintf(tw, "\t%s\n", f.help)
	}
	_ = tw.Flush()
	return b.String()
}

func runSim(c *cli.Context) error {
	if c.Bool("list-profiles") {
		_, err := io.WriteString(c.App.Writer, profileTable())
		return err
	}
	if c.NArg() > 0 {
		return cli.Exit(fmt.Sprintf("sim takes no arguments, got %q: give numbers as flags, e.g. --max-seqs 8", c.Args().Slice()), exitUsage)
	}
	cfg, err := sim.Profile(c.String("profile"))
	if err != nil {
		return cli.Exit(fmt.Sprintf("--profile: %v", err), exitUsage)
	}
	applyOverrides(c, &cfg)
	if err := cfg.Validate(); err != nil {
		return cli.Exit("simulator configuration: "+err.Error(), exitUsage)
	}
	addr := c.String("listen")
	opts := []sim.Option{sim.WithAddr(addr), sim.WithLogger(slog.New(slog.NewTextHandler(c.App.ErrWriter, nil)))}
	if c.Bool("allow-remote") {
		opts = append(opts, sim.WithRemote())
	} else if err := sim.CheckLoopback(addr); err != nil {
		return cli.Exit(fmt.Sprintf("--listen: %v (pass --allow-remote to listen on other interfaces)", err), exitUsage)
	}

	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := sim.Start(context.WithoutCancel(ctx), cfg, opts...)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "needlestorm sim: profile %s, model %s, context window %d (%s), time scale %g\n",
		c.String("profile"), cfg.Model, cfg.ContextWindow, cfg.Overflow, cfg.TimeScale)
	fmt.Fprintf(c.App.Writer, "OpenAI base URL:    %s\nAnthropic base URL: %s\nPress Ctrl-C to stop.\n",
		srv.URL(), strings.TrimSuffix(srv.URL(), "/v1"))
	<-ctx.Done()
	fmt.Fprintln(c.App.Writer, "needlestorm sim: stopping")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
