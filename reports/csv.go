package reports

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/needlestorm/needlestorm/internal/termsafe"
	"github.com/needlestorm/needlestorm/run"
)

// CSVColumns returns the columns of records.csv, in order. Durations are
// float seconds, times RFC 3339 with nanoseconds. A record's chunk_gaps
// (a list in records.jsonl) become two columns: chunk_gap_count, the
// number of gaps, and chunk_gap_max, the longest in seconds. The verdict columns are
// the report's re-attribution, not the one written live; cost is what the
// request cost at the target's price (empty when no price was given).
// task_type, last so that older readers' column positions still hold, is a
// dataset case's task type (empty for built-in needle tasks). miss, after
// it, is why the model missed (see probes.Miss; "unclassified" when the
// record has no kind) for the report's model_missed answers, else empty.
func CSVColumns() []string {
	return []string{
		"seq", "target", "model", "stage", "stage_label", "warmup",
		"case_id", "task", "length", "depth", "actual_depth", "needle_token_index", "repeat",
		"scheduled_at", "sent_at", "send_lag", "ttfb", "ttft", "e2e", "e2e_sched", "tpot",
		"chunk_gap_count", "chunk_gap_max",
		"prompt_tokens_client", "prompt_tokens_server", "output_tokens", "cached_tokens", "output_tokens_estimated", "cost",
		"finish_reason", "status", "error_class", "error", "retry_after",
		"correct", "recall", "any", "null", "attribution", "cut", "needle_lost",
		"expected", "answer", "task_type", "miss",
	}
}

// WriteCSV writes one row per record (warm-up included, marked), in the
// order read, under a header of CSVColumns(). Text that came from a server
// (model, finish reason, error, answer) is neutralised (termsafe.Text):
// records.csv is shown in terminals too, and must not drive one.
func WriteCSV(w io.Writer, s *Summary) error {
	cw := csv.NewWriter(w)
	cols := CSVColumns()
	if err := cw.Write(cols); err != nil {
		return fmt.Errorf("writing records.csv: %w", err)
	}
	row := make([]string, 0, len(cols))
	for _, sc := range s.records {
		row = csvRow(row[:0], sc)
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("writing records.csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing records.csv: %w", err)
	}
	return nil
}

func csvRow(row []string, sc scored) []string {
	r := sc.rec
	var gapMax run.Seconds
	for _, g := range r.ChunkGaps {
		gapMax = max(gapMax, g)
	}
	return append(row,
		strconv.FormatInt(r.Seq, 10), termsafe.Line(r.Target), termsafe.Line(r.Model), strconv.Itoa(r.Stage), termsafe.Line(r.StageLabel), strconv.FormatBool(r.Warmup),
		r.CaseID, r.Task, strconv.Itoa(r.Length), ftoa(r.Depth), ftoa(r.ActualDepth), strconv.Itoa(r.NeedleTokenIndex), strconv.Itoa(r.Repeat),
		timeString(r.ScheduledAt), timeString(r.SentAt), secs(r.SendLag), secs(r.TTFB), secs(r.TTFT), secs(r.E2E), secs(r.E2ESched), secs(r.TPOT),
		strconv.Itoa(len(r.ChunkGaps)), secs(gapMax),
		strconv.Itoa(r.PromptTokensClient), strconv.Itoa(r.PromptTokensServer), strconv.Itoa(r.OutputTokens), strconv.Itoa(r.CachedTokens), strconv.FormatBool(r.OutputTokensEstimated), costString(sc),
		termsafe.Line(r.FinishReason), strconv.Itoa(r.Status), termsafe.Line(r.ErrorClass), termsafe.Text(r.Error), secs(r.RetryAfter),
		strconv.FormatBool(sc.a.Correct), ftoa(sc.a.Recall), strconv.FormatBool(sc.a.Any), strconv.FormatBool(sc.a.Null), sc.a.Attribution, sc.a.Cut, strconv.FormatBool(sc.a.NeedleLost),
		strings.Join(r.Expected, ";"), termsafe.Text(r.Answer), termsafe.Line(r.TaskType), missKindOf(&sc),
	)
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// secs writes a duration as float seconds, empty when not observed.
func secs(s run.Seconds) string {
	if s == 0 {
		return ""
	}
	return ftoa(s.Duration().Seconds())
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

// costString writes a record's cost, empty when its target has no price.
func costString(sc scored) string {
	if !sc.priced {
		return ""
	}
	return ftoa(sc.cost)
}
