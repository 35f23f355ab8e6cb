// Package reports turns a run's records into statistics, the operating
// envelope and the rendered report.
//
// Everything here is recomputable from a run directory's manifest.json and
// records.jsonl alone: Write reads both, re-scores every record (the
// template overhead that truncation is judged against is only known once the
// whole run is in), aggregates and writes report.html, summary.md,
// summary.json, envelope.json and records.csv.
//
// Definitions used throughout:
//
//   - Warm-up records are left out of every statistic (they still count for
//     measuring a target's template overhead, and are kept in records.csv).
//   - A stage's rate is (n-1)/(last scheduled - first scheduled) over the
//     target's n records in that stage: the rate the client actually sent
//     at. A cell's or point's rate is its share of that, rate x n_cell/n;
//     goodput is the same share for the requests that met every latency
//     objective, correct goodput for those that were also answered right.
//     A stage with fewer than two records, or all scheduled at one instant,
//     has rate 0.
//   - Each stage also has, from its records (StageInfo): the asked rate,
//     the achieved send rate (over sent_at), the completion rate
//     ((k-1)/(last end - first end) over the k successful responses) and
//     goodput (its share meeting every latency objective), and send lag
//     p50/p99/max. A
//     target's rate and goodput are its requests and good requests over
//     the sum of its stages' windows. Charts of latency and accuracy
//     against the achieved rate plot the completion rate, labelled with
//     the asked rate.
//   - The client was the bottleneck in a stage when its send lag p99 is
//     above SendLagLimit, its send rate more than SendRateShortfall below
//     its schedule, or the in-flight cap held a request back. Every output
//     warns of it, and the stage's points are unresolved: the envelope's
//     max rate stops below them and says why (EnvelopeLength.Unresolved).
//   - Accuracy is correct answers over all requests, failed ones included
//     (a 429 or a rejection is a wrong answer for the user).
//   - Requests needlestorm itself canceled (error class canceled: an
//     interrupt, or the run aborted) say nothing about the target: they
//     are counted apart (Stats.Canceled) and left out of requests,
//     accuracy, error rate, latency and consistency; they still count in
//     the rate sent and the cost.
//   - A records.jsonl holding fewer records than its manifest says were
//     written makes the run incomplete (StatusIncomplete), with a note in
//     every output.
//   - Latency percentiles are taken over successful requests (no error
//     class), by the nearest-rank method: the p-th percentile of n sorted
//     values is the value at rank ceil(p/100 x n). They are always observed
//     values. chunk_gap pools every gap of every successful request.
//   - A request meets a latency objective when its own value is within the
//     objective's maximum (the percentile applies to the group, not to one
//     request): ttft and e2e must be observed; tpot and chunk_gap (the
//     request's largest gap) count as met when not observed.
//   - Cost is per record: input tokens at the server's count when it sent
//     one (else the client's), cached tokens at the cached price, output
//     tokens at the output price. A failed request the server counted
//     nothing for and sent nothing back (a rejection, a 429) costs nothing.
//     Cells, points and targets sum their non-warm-up records; a target's
//     and the run's spend also count warm-up, which was paid for too.
//   - Search steps: when every stage of a target held one length, as the
//     steps of a rate search do, the report lists them per length in the
//     order they ran, each judged like any point. The envelope then reads
//     the max rate from the steps sorted by rate, so a bisection step
//     between the last pass and the first fail counts where it belongs.
//
// A Requirement (length L, rate R, optional latency bounds and accuracy)
// is covered by a target when L is within its effective context and, at
// some tested length at or above L, a point whose rate is at least R (less
// 1%, for pacing noise) is within the passing run of points below the
// length's max rate, with its latency percentiles within the requirement's
// bounds (the run's objectives when it gives none) and its accuracy at or
// above the threshold. Only tested lengths count: a requirement longer
// than every tested length is not covered, and the report says the run
// cannot tell. The covering point is the lightest such point at the
// shortest such length: the closest the run came to the requirement.
//
// Covering targets are ranked by cost per request at the covering point,
// cost per correct answer breaking ties. Per request is the primary key
// because it is what serving R requests per second costs (R times it):
// every covering target already answers at or above the accuracy
// threshold, so cost per correct answer differs from it by less than that
// threshold's margin and would rank by accuracy more than by price; a user
// who cares about accuracy beyond the threshold states it in the
// requirement. When some covering target has no price the cost is unknown
// and the ranking is by max rate at the covering length, then by latency
// there (the first latency bound's percentile, else ttft p95).
//
// With two or more targets the report compares them: a row per target in
// the envelope table, and charts with one line per target in a fixed
// colour and marker each. Latency against rate is drawn at the longest
// length every target was tested at (one chart, where the targets differ
// most; each target's own section has every length). Chart legends are
// drawn beside the plot, or below it when too wide, never over the data.
//
// The user's own dataset cases (records of task "dataset") are scored by
// their matchers; open-ended ones (no expected answer) are attributed
// "unscored" and kept out of the cells' accuracy. Their dataset forms one
// length in the cells (its longest prompt). tasktype.go sums them per
// target and task type (accuracy with its Wilson interval over the scored
// ones, latency, cost per correct answer, agreement over repeats, the
// highest stage rate holding the threshold); ab.go compares every pair of
// targets on the cases both answered: a target's verdict on a case is the
// majority of its answers, the paired difference is tested with the exact
// McNemar test (two-sided binomial on the discordant cases, gonum's
// distuv.Binomial), every disagreement is listed with both answers, and
// open-ended cases are compared by the agreement of their normalised
// answers.
package reports
