// Package campaign reads a campaign file (YAML) and turns it into what the
// other packages take: the corpus matrix, target configurations with their
// prices and simulator settings, the schedule or the envelope search, the
// objectives and the prices. It also computes the dry-run plan (requests,
// tokens, cost and duration per target, without sending anything) and
// checks it against the budget.
//
// Every mistake in a file is reported with its place, in one line:
//
//	campaign.yaml:12:5: targets[1].kind: "opanai" is not a target kind; did you mean openai? (use openai, anthropic or sim)
//
// Syntax errors, unknown or misspelled fields (with the closest known name)
// and wrong types come from the YAML decoder (github.com/goccy/go-yaml with
// DisallowUnknownField); the semantic checks after decoding find their
// place in the parsed tree by path. A field that looks like a literal API
// key (api_key:) is refused, and such lines are never echoed.
//
// The file's sections: name, description, targets, corpus, load (stages or
// search), slo, accuracy, budget, output, require, routing and
// regression (the baseline and thresholds of run --baseline); see examples/campaigns for
// every field, commented.
//
// A stage, the search and a target's connection have one owner each: the
// file decodes straight into loadgen.Stage, loadgen.SearchSpec and
// endpoint.TargetConfig (inline in Target), by their JSON names. Those
// types own their defaults (WithDefaults), their validation (Validate, with
// the field it blames) and their estimates (Stage.Estimate,
// SearchSpec.WorstCase); the campaign puts their errors at their place in
// the file, refuses an explicit zero their defaults would replace, and the
// plan only adds tokens and prices. The engine knows no YAML: durations
// such as "20s" are read by decoder options of this package. Command-line
// flags are Overrides of the same values, validated once with the rest;
// a mistake in a value a flag set names the flag (see SetFrom).
//
// Import direction: cmd → campaign → (reports, loadgen, endpoint, live,
// sim) → run → probes → corpus.
package campaign
