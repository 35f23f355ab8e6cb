package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/campaign"
	"github.com/needlestorm/needlestorm/run"
)

// TestRunSummaryCanceledApart: the end-of-run summary counts the requests
// needlestorm itself canceled apart from the target's errors.
func TestRunSummaryCanceledApart(t *testing.T) {
	for _, tt := range []struct {
		errors map[string]int64
		want   []string
		not    string
	}{
		{map[string]int64{run.ErrCanceled: 4, run.ErrServerError: 1}, []string{"errors: 1 (server_error 1), warm-up included", "canceled by needlestorm itself: 4 requests"}, "canceled 4"},
		{map[string]int64{run.ErrCanceled: 1}, []string{"errors: none", "canceled by needlestorm itself: 1 request "}, "errors: 1"},
		{nil, []string{"errors: none"}, "canceled by"},
	} {
		var b bytes.Buffer
		runSummary(&b, &campaign.Result{Run: &run.Result{Dir: "d", Status: run.StatusInterrupted, Errors: tt.errors}}, nil)
		for _, w := range tt.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("errors %v: the summary lacks %q:\n%s", tt.errors, w, b.String())
			}
		}
		if strings.Contains(b.String(), tt.not) {
			t.Errorf("errors %v: the summary holds %q:\n%s", tt.errors, tt.not, b.String())
		}
	}
}
