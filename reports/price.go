package reports

import (
	"encoding/json"
	"fmt"

	"github.com/needlestorm/needlestorm/run"
)

// RecordCost is what one request cost at price pr: the server's prompt token
// count when it sent one (else the client's), cached tokens at the cached
// price, and the output tokens; a failed request the server counted nothing
// for and sent nothing back costs nothing. A budget guard sums it over
// records as they complete, with the same arithmetic the reports use.
func (pr Price) RecordCost(r *run.Record) float64 {
	return pr.cost(r.PromptTokensClient, r.PromptTokensServer, r.CachedTokens, r.OutputTokens, r.ErrorClass != "")
}

// PricesFromManifest reads the prices a run recorded with its targets (the
// manifest's targets list, entries with "name", "prices" and "currency"), so
// that a report regenerated from a run directory costs what the run cost.
// Targets without prices are left out, and so are prices that are zero
// throughout (manifests written before unpriced targets left "prices" out
// recorded them so): their cost is unknown, shown "-" and null, as during
// the run, never $0. A run with none gives zero Prices.
func PricesFromManifest(m *run.Manifest) (Prices, error) {
	var p Prices
	if len(m.Targets) == 0 {
		return p, nil
	}
	var targets []struct {
		Name     string `json:"name"`
		Prices   *Price `json:"prices"`
		Currency string `json:"currency"`
	}
	if err := json.Unmarshal(m.Targets, &targets); err != nil {
		return p, fmt.Errorf("manifest targets: %w", err)
	}
	for _, t := range targets {
		if t.Prices == nil || t.Name == "" || !t.Prices.Given() {
			continue
		}
		if p.Targets == nil {
			p.Targets = map[string]Price{}
		}
		p.Targets[t.Name] = *t.Prices
		if p.Currency == "" {
			p.Currency = t.Currency
		}
	}
	return p, nil
}

// Given reports whether the price says anything: a price of zero for every
// kind of token is no price (the campaign treats it so), and the cost of a
// target with no price is unknown rather than zero.
func (pr Price) Given() bool { return pr.Input > 0 || pr.Output > 0 || pr.Cached > 0 }
