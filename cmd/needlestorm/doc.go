// Command needlestorm finds the real operating envelope of large language
// model endpoints: needle-in-a-haystack prompts at increasing context lengths,
// driven at configured request rates, scored, and turned into a report.
//
// It holds the command line alone (urfave/cli/v2), one file per
// subcommand: parsing flags and wiring the packages together. The work is
// theirs (campaign, loadgen, endpoint, reports, sim, corpus). Nothing
// imports it.
package main
