// Package probes scores answers against Cases and says why a wrong answer was
// wrong: the strict and recall matchers of needles, the matchers of the
// user's own cases (matcher*.go: equals, contains, regex, one_of, json,
// number, as corpus.Matcher describes them), the attribution of a failure (the
// model missed, the server truncated or rejected the prompt, the answer was
// cut off, refused or an error), the template overhead calibration a
// truncation is judged against, and the consistency of repeated answers.
//
// It judges facts handed to it (probes.ResponseFacts) and holds no run
// data model, HTTP or load engine: it imports only corpus. Import
// direction: run → probes → corpus.
package probes
