package campaign

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
)

func TestBudgetGuard(t *testing.T) {
	prices := reports.Prices{Currency: "USD", Targets: map[string]reports.Price{
		"a": {Input: 1000, Output: 2000}, // $0.001 per input token
	}}
	// 100 prompt tokens and 10 output tokens at a's prices: $0.12.
	rec := func(target string) *run.Record {
		return &run.Record{Target: target, PromptTokensClient: 100, OutputTokens: 10}
	}
	ptr := func(f float64) *float64 { return &f }
	tests := []struct {
		name      string
		max       *float64
		records   []string
		wantSpent float64
		wantTrip  bool
	}{
		{"no budget keeps the sums", nil, []string{"a", "a", "a"}, 0.36, false},
		{"under the budget", ptr(0.5), []string{"a", "a", "a"}, 0.36, false},
		{"reaching the budget stops", ptr(0.36), []string{"a", "a", "a"}, 0.36, true},
		{"over the budget stops", ptr(0.2), []string{"a", "a"}, 0.24, true},
		{"unpriced targets cost nothing", ptr(0), []string{"b", "b"}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, stop := context.WithCancelCause(context.Background())
			defer stop(nil)
			g := NewBudgetGuard(tt.max, prices, stop)
			for _, target := range tt.records {
				g.Completed(rec(target))
			}
			if d := g.Total() - tt.wantSpent; d > 1e-9 || d < -1e-9 {
				t.Errorf("spent %v, want %v", g.Total(), tt.wantSpent)
			}
			if g.Spent("a") != g.Total() && g.Spent("b") != g.Total() {
				t.Errorf("spent per target %v and %v, total %v", g.Spent("a"), g.Spent("b"), g.Total())
			}
			cause := context.Cause(ctx)
			if tripped := ctx.Err() != nil; tripped != tt.wantTrip {
				t.Fatalf("stopped: %v (cause %v), want %v", tripped, cause, tt.wantTrip)
			}
			if !tt.wantTrip {
				return
			}
			var be *BudgetError
			if !errors.As(cause, &be) || !errors.Is(cause, ErrBudget) || g.Tripped() != be {
				t.Fatalf("cause %v is not the guard's *BudgetError", cause)
			}
			want := "budget: spent " + usd(tt.wantSpent) + " of " + usd(*tt.max)
			if be.Error() != want {
				t.Errorf("reason %q, want %q", be.Error(), want)
			}
		})
	}
}

func TestBudgetErrorText(t *testing.T) {
	tests := []struct {
		err  *BudgetError
		want string
	}{
		{&BudgetError{Spent: 12.345, Max: 12}, "budget: spent $12.35 of $12.00"},
		{&BudgetError{Spent: 0.01234, Max: 0.01}, "budget: spent $0.0123 of $0.0100"},
		{&BudgetError{MaxDuration: 90 * time.Second}, "budget: max_duration 1m30s reached"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%#v: %q, want %q", tt.err, got, tt.want)
		}
	}
}
