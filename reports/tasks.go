package reports

import (
	"cmp"
	"fmt"
	"html/template"
	"slices"
	"strings"

	"github.com/needlestorm/needlestorm/corpus"
)

// TaskAccuracy is one built-in task's accuracy at one length for one
// target, over every stage (all loads; the cells give each stage apart):
// what shows that a harder task, such as latent, falls earlier than
// single. Summary.Tasks holds them only when a run mixed several built-in
// tasks, whose requests the cells, points and envelope pool.
type TaskAccuracy struct {
	Target string `json:"target"`
	Task   string `json:"task"`
	Length int    `json:"length"`
	// Stats are over the task's scored requests at the length, warm-up
	// left out: accuracy with its Wilson interval, mean recall (cwe and
	// the multi-value tasks score by it), latency.
	Stats
}

// taskAccuracies groups the needle records by (target, task, length) when
// the run has more than one built-in task; nil otherwise.
func taskAccuracies(recs []scored, opts Options) []TaskAccuracy {
	type key struct {
		target, task string
		length       int
	}
	groups := map[key][]*scored{}
	tasks := map[string]bool{}
	for i := range recs {
		sc := &recs[i]
		r := sc.rec
		if r.Warmup || r.Open() || r.Task == corpus.TaskDataset || r.Task == "" {
			continue
		}
		tasks[r.Task] = true
		k := key{r.Target, r.Task, r.Length}
		groups[k] = append(groups[k], sc)
	}
	if len(tasks) < 2 {
		return nil
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	order := func(task string) int {
		if i := slices.Index(corpus.Tasks, task); i >= 0 {
			return i
		}
		return len(corpus.Tasks)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.target, b.target), cmp.Compare(order(a.task), order(b.task)), cmp.Compare(a.task, b.task), cmp.Compare(a.length, b.length))
	})
	out := make([]TaskAccuracy, 0, len(keys))
	for _, k := range keys {
		out = append(out, TaskAccuracy{Target: k.target, Task: k.task, Length: k.length, Stats: computeStats(groups[k], 0, opts, k.target)})
	}
	return out
}

// tasksIntro says what the per-task table is over.
const tasksIntro = "The run mixed built-in tasks, which the points and the envelope pool; here each task's accuracy per length, over every stage (warm-up left out). Recall is the mean share of the expected values found (cwe, multivalue and multiquery score by it)."

// writeTasksMarkdown writes the per-task accuracy of summary.md.
func writeTasksMarkdown(b *strings.Builder, s *Summary) {
	if len(s.Tasks) == 0 {
		return
	}
	b.WriteString("\n## Accuracy per task\n\n" + tasksIntro + "\n\n")
	b.WriteString("| target | task | length | accuracy (95% CI) | recall | requests |\n| --- | --- | ---: | --- | ---: | ---: |\n")
	for _, t := range s.Tasks {
		fmt.Fprintf(b, "| %s | %s | %d | %s | %.2f | %d |\n", md(t.Target), md(t.Task), t.Length, taskAccuracyText(t), t.Recall, t.Requests)
	}
}

// taskAccuracyText is "0.83 (0.77-0.88)", as the points give accuracy, or
// "-" without a scored request.
func taskAccuracyText(t TaskAccuracy) string {
	if t.Requests == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f (%.2f-%.2f)", t.Accuracy, t.AccuracyCI[0], t.AccuracyCI[1])
}

var tasksTemplate = template.Must(template.New("tasks").Funcs(template.FuncMap{
	"acc":    taskAccuracyText,
	"recall": func(f float64) string { return fmt.Sprintf("%.2f", f) },
}).Parse(`<section id="tasks"><h2>Accuracy per task</h2><p>{{.Intro}}</p>
<table><thead><tr><th>target</th><th>task</th><th>length</th><th>accuracy (95% CI)</th><th>recall</th><th>requests</th></tr></thead><tbody>
{{range .Tasks}}<tr><td>{{.Target}}</td><td>{{.Task}}</td><td>{{.Length}}</td><td>{{acc .}}</td><td>{{recall .Recall}}</td><td>{{.Requests}}</td></tr>
{{end}}</tbody></table></section>`))

// tasksHTML renders the per-task accuracy of report.html.
func tasksHTML(s *Summary) (template.HTML, error) {
	if len(s.Tasks) == 0 {
		return "", nil
	}
	var b strings.Builder
	if err := tasksTemplate.Execute(&b, struct {
		Intro string
		Tasks []TaskAccuracy
	}{tasksIntro, s.Tasks}); err != nil {
		return "", fmt.Errorf("report.html, tasks: %w", err)
	}
	return template.HTML(b.String()), nil //nolint:gosec // produced by html/template
}
