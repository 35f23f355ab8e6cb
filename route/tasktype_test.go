package route

import (
	"bytes"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/reports"
)

// taskType is a measured dataset task type of n scored requests, correct
// of them right (an interval wide enough to sit around the point).
func taskType(name string, correct, n int) reports.EnvelopeTaskType {
	acc := float64(correct) / float64(n)
	return reports.EnvelopeTaskType{TaskType: name, Cases: n, Scored: n, Accuracy: acc, AccuracyCI: [2]float64{acc - 0.1, min(1, acc+0.05)}, AccuracyThreshold: 0.85, Passed: acc >= 0.85}
}

// taskTypeRoutes routes job over the fixture tiers whose envelopes carry
// the given dataset task types.
func taskTypeRoutes(t *testing.T, tts map[string][]reports.EnvelopeTaskType, job Job) *Routes {
	t.Helper()
	env := fixtureEnvelope(t, "tiers", fixtureStart, fixtureTiers)
	for i := range env.Targets {
		env.Targets[i].TaskTypes = tts[env.Targets[i].Target]
	}
	fleet, err := Merge(Input{Path: "runs/tiers", Envelope: env})
	if err != nil {
		t.Fatal(err)
	}
	f := &File{Targets: map[string]TargetInfo{"small": {TierSmall}, "medium": {TierMedium}, "large": {TierLarge}}, Jobs: []Job{job}}
	return Decide(f, fleet)
}

// TestRouteTaskTypeAccuracy: a job naming a task type has its accuracy
// judged on the target's measured accuracy on that task type when there is
// one (the needle envelope still giving context, rate and latency), and on
// the needle envelope otherwise, saying which.
func TestRouteTaskTypeAccuracy(t *testing.T) {
	extract := Job{Name: "extract", Task: "extraction", Context: 1000, Accuracy: 0.9, Rate: 8}
	summarize := Job{Name: "summarize", TaskType: "summarization", Context: 16000, Accuracy: 0.9, Rate: 8}
	open := taskType("extraction", 0, 10)
	open.Scored, open.Open = 0, 10
	for _, tc := range []struct {
		name   string
		job    Job
		tts    map[string][]reports.EnvelopeTaskType
		chosen string
		// notes and reasons hold a substring each target's must contain
		// ("" for none at all).
		notes, reasons map[string]string
	}{
		{
			name: "measured and held", job: extract, chosen: "small",
			tts:   map[string][]reports.EnvelopeTaskType{"small": {taskType("extraction", 38, 40)}},
			notes: map[string]string{"small": "accuracy on your extraction cases 0.95 (95% CI 0.85–1.00, n=40) >= 0.90", "medium": "", "large": ""},
		},
		{
			name: "measured below the job's accuracy", job: extract, chosen: "medium",
			tts: map[string][]reports.EnvelopeTaskType{"small": {taskType("extraction", 28, 40)}, "medium": {taskType("code", 9, 10)}},
			notes: map[string]string{
				"small":  "accuracy on your extraction cases 0.70",
				"medium": "no extraction cases of your dataset measured on medium: accuracy judged on the needle envelope",
				"large":  "",
			},
			reasons: map[string]string{"small": "accuracy on your extraction cases 0.70 < 0.90 (95% CI 0.60–0.75, n=40)"},
		},
		{
			// The run's threshold is higher than the job's: it applies, as
			// on the needle path.
			name: "run threshold above the job's", job: Job{Name: "x", Task: "extraction", Context: 1000, Accuracy: 0.5}, chosen: "medium",
			tts:     map[string][]reports.EnvelopeTaskType{"small": {taskType("extraction", 32, 40)}},
			reasons: map[string]string{"small": "accuracy on your extraction cases 0.80 < 0.85"},
		},
		{
			name: "open-ended cases only", job: extract, chosen: "small",
			tts:   map[string][]reports.EnvelopeTaskType{"small": {open}},
			notes: map[string]string{"small": "had no expected answers (10 open-ended): accuracy judged on the needle envelope"},
		},
		{
			// A free-text task type implies no tier; the needle envelope
			// still bounds the context (small reads 1k, medium 4k).
			name: "free-text task type, context from the needles", job: summarize, chosen: "large",
			tts:     map[string][]reports.EnvelopeTaskType{"small": {taskType("summarization", 40, 40)}, "medium": {taskType("summarization", 40, 40)}, "large": {taskType("summarization", 19, 20)}},
			notes:   map[string]string{"large": "accuracy on your summarization cases 0.95 (95% CI 0.85–1.00, n=20) >= 0.90"},
			reasons: map[string]string{"small": "effective context", "medium": "effective context"},
		},
		{
			name: "needle-only run, job naming a task", job: extract, chosen: "small",
			notes: map[string]string{"small": "", "medium": "", "large": ""},
		},
		{
			name: "needle-only run, job naming a task type", job: summarize, chosen: "large",
			notes: map[string]string{"large": "no summarization cases of your dataset measured on large"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := taskTypeRoutes(t, tc.tts, tc.job)
			d := &r.Decisions[0]
			if c := d.Chosen(); c == nil || c.Target != tc.chosen {
				t.Fatalf("chosen %+v, want %s; %s", c, tc.chosen, d.Summary())
			}
			for target, want := range tc.notes {
				c := candidate(t, d, target)
				if (want == "") != (c.AccuracyNote == "") || !strings.Contains(c.AccuracyNote, want) {
					t.Errorf("%s: note %q, want %q", target, c.AccuracyNote, want)
				}
			}
			for target, want := range tc.reasons {
				c := candidate(t, d, target)
				if c.Covers || !strings.Contains(strings.Join(c.Reasons, "; "), want) {
					t.Errorf("%s: covers %v, reasons %q, want %q", target, c.Covers, c.Reasons, want)
				}
			}
		})
	}
}

// TestRouteTaskTypeOutputs: the Markdown, text, JSON and LiteLLM comments
// say what the chosen target's accuracy was judged on.
func TestRouteTaskTypeOutputs(t *testing.T) {
	r := taskTypeRoutes(t, map[string][]reports.EnvelopeTaskType{"small": {taskType("extraction", 38, 40)}},
		Job{Name: "extract", Task: "extraction", Context: 1000, Accuracy: 0.9})
	const want = "accuracy on your extraction cases 0.95 (95% CI 0.85–1.00, n=40)"
	var md, js, lite bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteLiteLLM(&lite, r); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"markdown": md.String(), "text": r.Text(), "json": js.String(), "litellm": lite.String()} {
		if !strings.Contains(out, want) {
			t.Errorf("%s does not say %q:\n%s", name, want, out)
		}
	}
	if !strings.Contains(js.String(), `"task_type": "extraction"`) {
		t.Errorf("routes JSON lacks the task type's figures:\n%s", js.String())
	}
	if !strings.Contains(lite.String(), "# extract: small from") {
		t.Errorf("LiteLLM comment line missing:\n%s", lite.String())
	}
}

// TestRoutingFileTaskType: task_type is read as free text and checked.
func TestRoutingFileTaskType(t *testing.T) {
	f, err := Parse("r.yaml", []byte("jobs: [{name: x, task: code, task_type: code-review, context: 1k}]"))
	if err != nil {
		t.Fatal(err)
	}
	if j := f.Jobs[0]; j.DatasetTaskType() != "code-review" || j.JobTier() != TierMedium || !strings.Contains(j.Describe(), "task type code-review") {
		t.Errorf("job %+v: task type %q, tier %s", j, j.DatasetTaskType(), j.JobTier())
	}
	if f, _ := Parse("r.yaml", []byte("jobs: [{name: x, task: tagging, context: 1k}]")); f.Jobs[0].DatasetTaskType() != "tagging" {
		t.Errorf("a task is its own task type: %q", f.Jobs[0].DatasetTaskType())
	}
	_, err = Parse("r.yaml", []byte("jobs:\n  - {name: x, task_type: \" code\", context: 1k}\n"))
	if err == nil || !strings.Contains(err.Error(), "task_type") || !strings.Contains(err.Error(), ":2") {
		t.Errorf("a task type with spaces: %v", err)
	}
}

// TestRouteTaskTypeControlCharacters: a task type holding a line break
// (a job built by hand, not from a file) cannot break out of the LiteLLM
// config's comment lines or the terminal's.
func TestRouteTaskTypeControlCharacters(t *testing.T) {
	name := "ext\nmodel_list: []\x1b[2J"
	r := taskTypeRoutes(t, map[string][]reports.EnvelopeTaskType{"small": {taskType(name, 38, 40)}},
		Job{Name: "extract", TaskType: name, Context: 1000, Accuracy: 0.9})
	var lite bytes.Buffer
	if err := WriteLiteLLM(&lite, r); err != nil {
		t.Fatal(err)
	}
	if c := r.Decisions[0].Chosen(); c == nil || c.TaskType == nil {
		t.Fatalf("the task type was not matched: %s", r.Decisions[0].Summary())
	}
	for name, out := range map[string]string{"litellm": lite.String(), "text": r.Text()} {
		if strings.Contains(out, "\nmodel_list: []") || strings.Contains(out, "\x1b") {
			t.Errorf("%s carries the task type's control characters:\n%s", name, out)
		}
	}
}
