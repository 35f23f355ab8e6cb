package campaign

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/needlestorm/needlestorm/loadgen"
	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
)

// A campaign's budget is checked twice. Before anything is sent, Plan and
// CheckBudget refuse a campaign whose estimate is over budget.max_cost_usd
// or budget.max_duration. While it runs, a BudgetGuard sums what each
// completed request cost (reports.Price.RecordCost: the server's prompt
// token count, cached tokens at the cached price, the output tokens) and
// stops the campaign once the spend reaches budget.max_cost_usd, and a
// deadline stops it once budget.max_duration has passed since the first
// target started (preflight not counted). Either stop is an interruption:
// sending stops, requests in flight have the grace period and are recorded,
// the remaining targets are skipped, and the manifest says status
// "interrupted" with the budget's reason ("budget: spent $0.0123 of
// $0.0100"), so that a report made from it says the figures cover what was
// recorded before the stop. Preflight's calibration requests (two short
// prompts per target) are not counted.

// ErrBudget is what every budget stop is: errors.Is(context.Cause(ctx),
// ErrBudget) tells a budget stop from a signal.
var ErrBudget = errors.New("budget")

// BudgetError says which budget stopped a campaign. Its message is the
// reason written into the manifest.
type BudgetError struct {
	// Spent and Max are in US dollars, for budget.max_cost_usd.
	Spent, Max float64
	// MaxDuration is set when budget.max_duration stopped the campaign.
	MaxDuration time.Duration
}

func (e *BudgetError) Error() string {
	if e.MaxDuration > 0 {
		return fmt.Sprintf("budget: max_duration %s reached", e.MaxDuration)
	}
	return fmt.Sprintf("budget: spent %s of %s", usd(e.Spent), usd(e.Max))
}

// Is makes errors.Is(err, ErrBudget) true.
func (e *BudgetError) Is(target error) bool { return target == ErrBudget }

// usd writes an amount of dollars with enough digits to tell small amounts
// apart: $12.35, $0.0123.
func usd(v float64) string {
	if v != 0 && v < 1 && v > -1 {
		return fmt.Sprintf("$%.4f", v)
	}
	return fmt.Sprintf("$%.2f", v)
}

// BudgetGuard is a loadgen.Observer that sums the cost of completed requests
// per target, at the campaign's prices, and stops the campaign (through
// stop, with a *BudgetError) once the total reaches the cost budget. With no
// cost budget it only keeps the sums. It is safe for concurrent use.
type BudgetGuard struct {
	max    *float64
	prices map[string]reports.Price
	stop   context.CancelCauseFunc

	mu      sync.Mutex
	spent   map[string]float64
	total   float64
	tripped *BudgetError
}

var _ loadgen.Observer = (*BudgetGuard)(nil)

// NewBudgetGuard returns a guard for maxUSD (nil: no cost budget) at prices,
// which calls stop once the spend reaches maxUSD.
func NewBudgetGuard(maxUSD *float64, prices reports.Prices, stop context.CancelCauseFunc) *BudgetGuard {
	g := &BudgetGuard{prices: maps.Clone(prices.Targets), stop: stop, spent: map[string]float64{}}
	if maxUSD != nil {
		m := *maxUSD
		g.max = &m
	}
	return g
}

// StageStarted implements loadgen.Observer.
func (g *BudgetGuard) StageStarted(int, loadgen.Stage) {}

// Sent implements loadgen.Observer.
func (g *BudgetGuard) Sent(*run.Record) {}

// Completed adds the request's cost and stops the campaign when the budget
// is reached.
func (g *BudgetGuard) Completed(rec *run.Record) {
	price, ok := g.prices[rec.Target]
	if !ok {
		return
	}
	cost := price.RecordCost(rec)
	if cost <= 0 {
		return
	}
	g.mu.Lock()
	g.spent[rec.Target] += cost
	g.total += cost
	var trip *BudgetError
	if g.max != nil && g.tripped == nil && g.total >= *g.max {
		trip = &BudgetError{Spent: g.total, Max: *g.max}
		g.tripped = trip
	}
	g.mu.Unlock()
	if trip != nil && g.stop != nil {
		g.stop(trip)
	}
}

// Spent is what the target's completed requests cost so far.
func (g *BudgetGuard) Spent(target string) float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.spent[target]
}

// Total is what every completed request cost so far.
func (g *BudgetGuard) Total() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total
}

// Tripped is the stop the guard caused, or nil.
func (g *BudgetGuard) Tripped() *BudgetError {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tripped
}

// budgetManifest is the manifest's "budget": what was allowed, what the plan
// estimated, and what was spent.
type budgetManifest struct {
	MaxCostUSD  *float64    `json:"max_cost_usd,omitempty"`
	MaxDuration run.Seconds `json:"max_duration,omitzero"`
	// Currency of the estimates and the spend (empty when no target is
	// priced).
	Currency string `json:"currency,omitempty"`
	// EstimatedCostMax is the plan's upper bound (every answer max_tokens
	// long), the figure max_cost_usd was checked against;
	// EstimatedCostTypical the plan's typical figure.
	EstimatedCostMax     float64 `json:"estimated_cost_max"`
	EstimatedCostTypical float64 `json:"estimated_cost_typical"`
	// EstimatedDuration is the plan's duration (0 when unknown).
	EstimatedDuration run.Seconds `json:"estimated_duration,omitzero"`
	// Spent is what the completed requests cost, by target and in all.
	Spent         float64            `json:"spent"`
	SpentByTarget map[string]float64 `json:"spent_by_target,omitempty"`
	// Stopped is the budget's reason when it stopped the campaign.
	Stopped string `json:"stopped,omitempty"`
}
