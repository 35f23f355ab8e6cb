// Package route turns measured envelopes into router configs: which
// target serves which job, up to which context, at which rate, with which
// fallbacks, decided by what was measured rather than by vendors' claims.
//
// A routing file (File, read by Load or Parse; see
// examples/routing/routing.yaml) names jobs: each a tier or task type
// (small models for extraction, classification, tagging and routing;
// medium for code, reasoning and transformations; large for planning,
// multi-step logic and synthesis), the context it needs, the accuracy it
// must reach, latency objectives (ttft_p95, e2e_p95), the rate it must
// sustain, a budget per request or per month, a preference and how many
// fallbacks to keep. The file also gives each measured target its tier.
//
// Merge makes a Fleet of the envelopes of one or more runs (the newest
// measurement of a target wins, and every figure keeps its Source); Decide
// judges every target against every job with reports.Choose (context,
// rate, latency, accuracy) plus the tier and the budget, ranks the
// covering ones (cheapest by cost per correct answer, then latency; or
// fastest first) and keeps the chosen target and its fallbacks. A job
// whose task (or task_type) names a task type of the user's dataset that
// a target measured (reports.EnvelopeTaskType) has its accuracy judged on
// that task type's accuracy instead of the needles' (Candidate.TaskType,
// AccuracyNote); context, rate and latency still come from the needles.
// The
// answer is written as a LiteLLM proxy config (WriteLiteLLM), a generic
// JSON with the evidence behind each choice (WriteJSON,
// needlestorm.routes/v1) and Markdown for people (WriteMarkdown).
//
// The package needs only reports, run, probes and corpus: it never
// imports an HTTP client or the load engine.
package route
