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
//   - Accuracy is correct answers over all requests, failed ones included
//     (a 429 or a rejection is a wrong answer for the user).
//   - Latency percentiles are taken over successful requests (no error
//     class), by the nearest-rank method: the p-th percentile of n sorted
//     values is the value at rank ceil(p/100 x n). They are always observed
//     values. chunk_gap pools every gap of every successful request.
//   - A request meets a latency objective when its own value is within the
//     objective's maximum (the percentile applies to the group, not to one
//     request): ttft and e2e must be observed; tpot and chunk_gap (the
//     request's largest gap) count as met when not observed.
package reports
