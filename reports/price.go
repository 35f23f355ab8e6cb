package reports

import "github.com/needlestorm/needlestorm/loadgen"

// RecordCost is what one request cost at price pr: the server's prompt token
// count when it sent one (else the client's), cached tokens at the cached
// price, and the output tokens; a failed request the server counted
// nothing for and sent nothing back costs nothing. A budget guard sums it over records as they
// complete, with the same arithmetic the reports use.
func (pr Price) RecordCost(r *loadgen.Record) float64 {
	return pr.cost(r.PromptTokensClient, r.PromptTokensServer, r.CachedTokens, r.OutputTokens, r.ErrorClass != "")
}
