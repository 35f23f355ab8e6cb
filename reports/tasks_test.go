package reports_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/run"
)

// taskRecords are n requests of task at 1k tokens, the first right of them
// answered right.
func taskRecords(task string, n, right int, t0 time.Time) []run.Record {
	var out []run.Record
	for i := range n {
		at := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		answer := "no"
		if i < right {
			answer = "4829173"
		}
		out = append(out, run.Record{Schema: run.RecordSchema, Target: "t", Stage: 0, StageLabel: "rate=10/s", CaseID: task, Task: task, Length: 1000,
			ScheduledAt: at, SentAt: at, AskedRate: 10, PromptTokensClient: 1000,
			TTFT: run.Seconds(50 * time.Millisecond), E2E: run.Seconds(100 * time.Millisecond), Status: 200, FinishReason: "stop",
			Expected: []string{"4829173"}, Answer: answer})
	}
	return out
}

// TestTasksTable: a run mixing single and latent gives each task its own
// accuracy (the points pool them), in summary.md, report.html and
// summary.json; a run of one task has no such table.
func TestTasksTable(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC)
	recs := append(taskRecords("single", 20, 19, t0), taskRecords("latent", 20, 6, t0.Add(50*time.Millisecond))...)
	s, err := reports.Build(nil, recs, reports.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Tasks) != 2 {
		t.Fatalf("tasks %+v, want single and latent", s.Tasks)
	}
	single, latent := s.Tasks[0], s.Tasks[1]
	if single.Task != "single" || single.Requests != 20 || single.Correct != 19 || latent.Task != "latent" || latent.Correct != 6 || latent.Accuracy != 0.3 {
		t.Errorf("single %+v\nlatent %+v", single, latent)
	}
	if !(latent.AccuracyCI[0] < 0.3 && latent.AccuracyCI[1] > 0.3 && latent.AccuracyCI[1] < single.AccuracyCI[0]) {
		t.Errorf("intervals: latent %v, single %v; want latent's around 0.3 and below single's", latent.AccuracyCI, single.AccuracyCI)
	}
	var md, html strings.Builder
	if err := reports.WriteMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	if err := reports.WriteHTML(&html, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "## Accuracy per task") || !strings.Contains(md.String(), "| t | latent | 1000 | 0.30 (") {
		t.Errorf("summary.md:\n%s", md.String())
	}
	if !strings.Contains(html.String(), `id="tasks"`) || !strings.Contains(html.String(), "<td>latent</td>") {
		t.Error("report.html has no per-task table")
	}
	js, _ := json.Marshal(s)
	if !strings.Contains(string(js), `"tasks":[{"target":"t","task":"single"`) {
		t.Errorf("summary.json: no tasks")
	}

	one, err := reports.Build(nil, taskRecords("single", 20, 19, t0), reports.Options{})
	if err != nil {
		t.Fatal(err)
	}
	md.Reset()
	if err := reports.WriteMarkdown(&md, one); err != nil {
		t.Fatal(err)
	}
	if one.Tasks != nil || strings.Contains(md.String(), "Accuracy per task") {
		t.Errorf("a run of one task shows a per-task table: %+v", one.Tasks)
	}
}
