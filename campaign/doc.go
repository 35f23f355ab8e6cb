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
// search), slo, accuracy, budget and output; see examples/campaigns for
// every field, commented. Import direction: cmd → campaign → reports →
// loadgen → probes → corpus.
package campaign
