package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/needlestorm/needlestorm/campaign"
)

// shardFlags are run's flags for a sharded run: the shard, the common
// start, and what every shard of the run shares. In a Kubernetes Indexed
// Job they come from the environment (deploy/kubernetes).
func shardFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "shard", Usage: "send shard I of N's share of the load (I from 0): request k of every stage when k mod N = I, and 1/N of a closed-loop stage's concurrency; each shard writes its own run directory, which `needlestorm merge` makes one run of",
			DefaultText: "not sharded; in a Kubernetes Indexed Job, " + campaign.EnvShardIndex + " of --shards"},
		&cli.IntFlag{Name: "shards", EnvVars: []string{campaign.EnvShards}, Usage: "the shard count when the index comes from " + campaign.EnvShardIndex + " (a Kubernetes Indexed Job: its completions)", DefaultText: "none"},
		&cli.StringFlag{Name: "start-at", EnvVars: []string{campaign.EnvStartAt}, Usage: "sharded: the time, RFC 3339, at which every shard begins its first stage (a shard that is late begins at once and its manifest says so)"},
		&cli.StringFlag{Name: "barrier", EnvVars: []string{campaign.EnvBarrier}, Usage: "sharded, without --start-at: a folder on a volume every shard shares, where the shards agree on a common start once every one of them is ready"},
		&cli.DurationFlag{Name: "barrier-timeout", Value: campaign.DefaultBarrierTimeout, Usage: "how long a shard waits at --barrier for the others"},
		&cli.StringFlag{Name: "run-id", EnvVars: []string{campaign.EnvRunID}, Usage: "sharded: an id every shard of one run shares and no other run does (Kubernetes: the Job's uid); without --nonce-salt the shards derive their salt from the campaign and it",
			DefaultText: "none: every run of the campaign sends the same prompts"},
	}
}

// shardOptions reads the shard flags: nil when the run is not sharded. The
// shard is --shard, or the Indexed Job's index with --shards. Every error
// is a usage error.
func shardOptions(c *cli.Context, camp *campaign.Campaign) (*campaign.Shard, error) {
	s, err := shardSpec(c)
	if err != nil {
		return nil, cli.Exit(err.Error(), exitUsage)
	}
	if s == nil {
		for _, f := range []string{"start-at", "barrier", "run-id"} {
			if c.IsSet(f) {
				return nil, cli.Exit(fmt.Sprintf("--%s is for sharded runs: give --shard I/N too (or run in a Kubernetes Indexed Job with --shards)", f), exitUsage)
			}
		}
		return nil, nil
	}
	if v := c.String("start-at"); v != "" {
		if s.StartAt, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return nil, cli.Exit(fmt.Sprintf("--start-at %q: write an RFC 3339 time, such as 2026-05-01T12:00:00Z", v), exitUsage)
		}
	}
	s.Barrier, s.BarrierTimeout, s.RunID = c.String("barrier"), c.Duration("barrier-timeout"), c.String("run-id")
	if err := camp.CheckShard(s); err != nil {
		return nil, cli.Exit(err.Error(), exitUsage)
	}
	return s, nil
}

// shardSpec parses --shard I/N, or JOB_COMPLETION_INDEX with --shards.
func shardSpec(c *cli.Context) (*campaign.Shard, error) {
	if v := c.String("shard"); v != "" {
		is, ns, ok := strings.Cut(v, "/")
		i, ierr := strconv.Atoi(strings.TrimSpace(is))
		n, nerr := strconv.Atoi(strings.TrimSpace(ns))
		if !ok || ierr != nil || nerr != nil || n < 1 || i < 0 || i >= n {
			return nil, fmt.Errorf("--shard %q: write I/N, such as 0/3 for the first of 3 shards (I from 0 to N-1)", v)
		}
		if c.IsSet("shards") && c.Int("shards") != n {
			return nil, fmt.Errorf("--shard %s says %d shards, --shards (or %s) says %d: give one count", v, n, campaign.EnvShards, c.Int("shards"))
		}
		return &campaign.Shard{Index: i, Count: n}, nil
	}
	idx, inJob := os.LookupEnv(campaign.EnvShardIndex)
	switch {
	case !inJob && c.IsSet("shards"):
		return nil, fmt.Errorf("--shards (or %s) gives the shard count, and the index comes from --shard I/N or %s, which is not set", campaign.EnvShards, campaign.EnvShardIndex)
	case !inJob:
		return nil, nil
	case !c.IsSet("shards"):
		// Every pod would send the whole load.
		return nil, fmt.Errorf("%s is set (a Kubernetes Indexed Job), but not the shard count: set %s (or --shards) to the Job's completions, or give --shard I/N", campaign.EnvShardIndex, campaign.EnvShards)
	}
	i, err := strconv.Atoi(strings.TrimSpace(idx))
	n := c.Int("shards")
	if err != nil || n < 1 || i < 0 || i >= n {
		return nil, fmt.Errorf("%s=%q with %d shards (%s or --shards) is not a shard: the index must be from 0 to the count minus 1", campaign.EnvShardIndex, idx, n, campaign.EnvShards)
	}
	return &campaign.Shard{Index: i, Count: n}, nil
}
