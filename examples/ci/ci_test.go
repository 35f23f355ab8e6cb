// Package ci_test checks the CI recipes of this folder: the GitHub Actions
// workflow parses as YAML with the keys GitHub requires, the Kubernetes
// CronJob decodes strictly into the API's own types, and every needlestorm
// command line either of them holds uses only flags that the command
// defines (read from the help of a needlestorm built once for the test).
// It is a test-only package: the needlestorm binary never imports the
// Kubernetes API.
package ci_test

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/goccy/go-yaml"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8syaml "sigs.k8s.io/yaml"

	"github.com/needlestorm/needlestorm/campaign"
)

const (
	workflowFile = "github-actions-nightly.yml"
	cronJobFile  = "cronjob.yaml"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// needlestorm builds cmd/needlestorm once for every test of the package.
func needlestorm(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "needlestorm-ci-test")
		if buildErr != nil {
			return
		}
		binary = filepath.Join(binDir, "needlestorm")
		cmd := exec.Command("go", "build", "-o", binary, "./cmd/needlestorm")
		cmd.Dir = filepath.Join("..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/needlestorm: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

var (
	helpMu    sync.Mutex
	helpCache = map[string]map[string]bool{}
	flagRE    = regexp.MustCompile(`(?:^|[\s,])(--?[a-z][a-z0-9-]*)`)
)

// commandFlags are the flags (with their dashes, such as --out and -q)
// that `needlestorm COMMAND --help` lists under OPTIONS.
func commandFlags(t *testing.T, command string) map[string]bool {
	t.Helper()
	helpMu.Lock()
	defer helpMu.Unlock()
	if f, ok := helpCache[command]; ok {
		return f
	}
	out, err := exec.Command(needlestorm(t), command, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("needlestorm %s --help: %v\n%s", command, err, out)
	}
	_, opts, ok := strings.Cut(string(out), "OPTIONS:")
	if !ok {
		t.Fatalf("needlestorm %s --help has no OPTIONS section:\n%s", command, out)
	}
	flags := map[string]bool{}
	for _, line := range strings.Split(opts, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "-") {
			continue
		}
		// The names come first: "--quiet, -q   no progress display".
		names, _, _ := strings.Cut(line, "  ")
		for _, m := range flagRE.FindAllStringSubmatch(names, -1) {
			flags[m[1]] = true
		}
	}
	if !flags["--help"] || len(flags) < 3 {
		t.Fatalf("needlestorm %s --help: read flags %v from\n%s", command, flags, opts)
	}
	helpCache[command] = flags
	return flags
}

// commandLine is one needlestorm command of a recipe: its command and the
// words after it.
type commandLine struct {
	command string
	words   []string
}

// commandLines finds the needlestorm run and compare commands of a shell
// script, continuation lines joined.
func commandLines(script string) []commandLine {
	script = strings.ReplaceAll(script, "\\\n", " ")
	var out []commandLine
	for _, line := range strings.Split(script, "\n") {
		words := strings.Fields(line)
		for i := 0; i+1 < len(words); i++ {
			if strings.HasSuffix(words[i], "needlestorm") && (words[i+1] == "run" || words[i+1] == "compare") {
				out = append(out, commandLine{command: words[i+1], words: words[i+2:]})
			}
		}
	}
	return out
}

// checkFlags fails for every flag of words the command does not define.
func checkFlags(t *testing.T, where, command string, words []string) {
	t.Helper()
	known := commandFlags(t, command)
	for _, w := range words {
		if !strings.HasPrefix(w, "-") || w == "-" || w == "--" {
			continue
		}
		name, _, _ := strings.Cut(w, "=")
		if !known[name] {
			t.Errorf("%s: needlestorm %s has no flag %s (see needlestorm %s --help)", where, command, name, command)
		}
	}
}

// cronFields fails unless spec is a cron schedule of 5 fields.
func cronFields(t *testing.T, where, spec string) {
	t.Helper()
	if f := strings.Fields(spec); len(f) != 5 {
		t.Errorf("%s: schedule %q has %d fields, want 5 (minute hour day month weekday)", where, spec, len(f))
	}
}

// workflow is the part of a GitHub Actions workflow the test reads.
type workflow struct {
	Name string `yaml:"name"`
	On   struct {
		Schedule []struct {
			Cron string `yaml:"cron"`
		} `yaml:"schedule"`
		WorkflowDispatch any `yaml:"workflow_dispatch"`
	} `yaml:"on"`
	Jobs map[string]struct {
		RunsOn any    `yaml:"runs-on"`
		Steps  []step `yaml:"steps"`
	} `yaml:"jobs"`
}

type step struct {
	Name string            `yaml:"name"`
	ID   string            `yaml:"id"`
	If   string            `yaml:"if"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]string `yaml:"with"`
}

// TestWorkflow: the nightly workflow parses, has the keys GitHub requires
// (on with a 5-field cron and workflow_dispatch, jobs with runs-on and
// steps, every step uses or run), its needlestorm commands use only flags
// the app defines, it runs with and without a baseline, the summary step
// always appends regression.md, and only a job that passed saves the run,
// at the path the restore reads, as the next baseline.
func TestWorkflow(t *testing.T) {
	b, err := os.ReadFile(workflowFile)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		t.Fatalf("%s does not parse as YAML: %v", workflowFile, err)
	}
	for _, key := range []string{"name", "on", "jobs"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("%s: no top-level key %q (keys %v)", workflowFile, key, mapKeys(raw))
		}
	}
	var w workflow
	if err := yaml.Unmarshal(b, &w); err != nil {
		t.Fatalf("%s: %v", workflowFile, err)
	}
	if len(w.On.Schedule) == 0 {
		t.Errorf("%s: on.schedule has no cron", workflowFile)
	}
	for _, s := range w.On.Schedule {
		cronFields(t, workflowFile, s.Cron)
	}
	if _, ok := raw["on"].(map[string]any)["workflow_dispatch"]; !ok {
		t.Errorf("%s: no on.workflow_dispatch, to run it by hand", workflowFile)
	}
	if len(w.Jobs) == 0 {
		t.Fatalf("%s: no jobs", workflowFile)
	}
	var runs []commandLine
	var all []step
	for name, job := range w.Jobs {
		if job.RunsOn == nil || len(job.Steps) == 0 {
			t.Errorf("job %s: runs-on %v, %d steps; GitHub requires both", name, job.RunsOn, len(job.Steps))
		}
		for i, s := range job.Steps {
			if (s.Uses == "") == (s.Run == "") {
				t.Errorf("job %s, step %d (%s): give uses or run, one of them", name, i+1, s.Name)
			}
			for _, cl := range commandLines(s.Run) {
				checkFlags(t, fmt.Sprintf("job %s, step %q", name, s.Name), cl.command, cl.words)
				runs = append(runs, cl)
			}
		}
		all = append(all, job.Steps...)
	}

	// Runs with a baseline and without one, into the directory the later
	// steps read.
	withBaseline := 0
	for _, cl := range runs {
		if cl.command != "run" {
			continue
		}
		if i := slices.Index(cl.words, "--out"); i < 0 || i+1 >= len(cl.words) || cl.words[i+1] != "runs/nightly" {
			t.Errorf("needlestorm run %s: want --out runs/nightly, the directory the later steps read", strings.Join(cl.words, " "))
		}
		if slices.Contains(cl.words, "--baseline") {
			withBaseline++
		}
	}
	if withBaseline == 0 || withBaseline == len(runs) {
		t.Errorf("%d of %d needlestorm runs give --baseline: want one with it and one for the first night, without", withBaseline, len(runs))
	}

	find := func(pred func(step) bool, what string) step {
		t.Helper()
		for _, s := range all {
			if pred(s) {
				return s
			}
		}
		t.Fatalf("%s: no step that %s", workflowFile, what)
		return step{}
	}
	setup := find(func(s step) bool { return strings.HasPrefix(s.Uses, "actions/setup-go@") }, "sets up Go")
	if setup.With["go-version-file"] != "go.mod" {
		t.Errorf("setup-go: with %v, want go-version-file: go.mod", setup.With)
	}
	find(func(s step) bool { return strings.Contains(s.Run, "go build -o needlestorm ./cmd/needlestorm") }, "builds needlestorm")
	summary := find(func(s step) bool { return strings.Contains(s.Run, "$GITHUB_STEP_SUMMARY") }, "writes the job summary")
	if !strings.Contains(summary.If, "always()") || !strings.Contains(summary.Run, "runs/nightly/regression.md") {
		t.Errorf("summary step: if %q, run %q; want always(), appending runs/nightly/regression.md", summary.If, summary.Run)
	}
	find(func(s step) bool {
		return strings.HasPrefix(s.Uses, "mikepenz/action-junit-report@") && s.With["report_paths"] == "runs/nightly/regression.junit.xml"
	}, "reports runs/nightly/regression.junit.xml")
	upload := find(func(s step) bool { return strings.HasPrefix(s.Uses, "actions/upload-artifact@") }, "uploads the run")
	if upload.With["path"] != "runs/nightly" || !strings.Contains(upload.If, "always()") {
		t.Errorf("upload: if %q, path %q; want always(), runs/nightly", upload.If, upload.With["path"])
	}
	restore := find(func(s step) bool { return strings.HasPrefix(s.Uses, "actions/cache/restore@") }, "restores the baseline")
	save := find(func(s step) bool { return strings.HasPrefix(s.Uses, "actions/cache/save@") }, "saves the baseline")
	if restore.With["path"] != "runs/baseline" || save.With["path"] != restore.With["path"] {
		t.Errorf("the baseline is restored to %q and saved from %q: want runs/baseline both (the path is part of the cache's version)", restore.With["path"], save.With["path"])
	}
	prefix := strings.TrimSpace(restore.With["restore-keys"])
	if prefix == "" || !strings.HasPrefix(save.With["key"], prefix) {
		t.Errorf("saved under key %q, restored by prefix %q: the restore would never find it", save.With["key"], prefix)
	}
	if save.If != "success()" {
		t.Errorf("the baseline is saved if %q: want success(), only a run that passed", save.If)
	}
	promote := find(func(s step) bool { return strings.Contains(s.Run, "mv runs/nightly runs/baseline") }, "moves the run to runs/baseline")
	if promote.If != "success()" {
		t.Errorf("the run becomes the baseline if %q: want success()", promote.If)
	}
}

// TestCronJob: the CronJob and its ConfigMap decode strictly into the
// API's types; the schedule has 5 fields, runs never overlap, a failed pod
// is neither restarted nor retried, the container has resources, its args
// are a needlestorm run with flags that exist, of the ConfigMap's
// campaign (one needlestorm accepts) into a directory of the mounted
// volume, named by a variable the container defines, and every API key the
// campaign names comes from a Secret.
func TestCronJob(t *testing.T) {
	b, err := os.ReadFile(cronJobFile)
	if err != nil {
		t.Fatal(err)
	}
	var cj *batchv1.CronJob
	configMaps := map[string]*corev1.ConfigMap{}
	for i, doc := range bytes.Split(b, []byte("\n---")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		name := fmt.Sprintf("%s (document %d)", cronJobFile, i+1)
		var tm metav1.TypeMeta
		if err := k8syaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		switch gvk := tm.APIVersion + " " + tm.Kind; gvk {
		case "batch/v1 CronJob":
			cj = &batchv1.CronJob{}
			decodeStrict(t, name, doc, cj)
		case "v1 ConfigMap":
			var o corev1.ConfigMap
			decodeStrict(t, name, doc, &o)
			configMaps[o.Name] = &o
		default:
			t.Fatalf("%s: unexpected kind %q", name, gvk)
		}
	}
	if cj == nil {
		t.Fatalf("%s: no batch/v1 CronJob", cronJobFile)
	}
	cronFields(t, cronJobFile, cj.Spec.Schedule)
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy %q: want Forbid, two runs at once measure each other", cj.Spec.ConcurrencyPolicy)
	}
	job := cj.Spec.JobTemplate.Spec
	if job.BackoffLimit == nil || *job.BackoffLimit != 0 {
		t.Errorf("backoffLimit %v: want 0, a failed run is not retried", job.BackoffLimit)
	}
	pod := job.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever || len(pod.Containers) != 1 {
		t.Fatalf("pod: restartPolicy %q, %d containers; want Never, one", pod.RestartPolicy, len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Image == "" || c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("container: image %q, resources %+v", c.Image, c.Resources)
	}
	if len(c.Command) != 0 || len(c.Args) < 2 || c.Args[0] != "run" {
		t.Fatalf("container command %q, args %q: want the image's entrypoint with args run CAMPAIGN ...", c.Command, c.Args)
	}
	checkFlags(t, cronJobFile, "run", c.Args[1:])
	out := ""
	if i := slices.Index(c.Args, "--out"); i >= 0 && i+1 < len(c.Args) {
		out = c.Args[i+1]
	}
	for _, m := range regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).FindAllStringSubmatch(strings.Join(c.Args, " "), -1) {
		if env(c, m[1]) == nil {
			t.Errorf("args name $(%s), which the container does not define: Kubernetes would pass it as is", m[1])
		}
	}

	mountPath := func(volume string) string {
		for _, vm := range c.VolumeMounts {
			if vm.Name == volume {
				return vm.MountPath
			}
		}
		return ""
	}
	var cm *corev1.ConfigMap
	var campaignVolume, runsVolume string
	for _, v := range pod.Volumes {
		switch {
		case v.ConfigMap != nil:
			cm, campaignVolume = configMaps[v.ConfigMap.Name], v.Name
		case v.PersistentVolumeClaim != nil || v.EmptyDir != nil:
			runsVolume = v.Name
		}
	}
	if cm == nil {
		t.Fatalf("the pod mounts no ConfigMap of %s (ConfigMaps %v)", cronJobFile, slices.Sorted(maps.Keys(configMaps)))
	}
	if runsVolume == "" || mountPath(runsVolume) == "" || !strings.HasPrefix(out, mountPath(runsVolume)+"/") {
		t.Errorf("--out %q is not on the mounted run volume %q (%q)", out, runsVolume, mountPath(runsVolume))
	}
	file, ok := strings.CutPrefix(c.Args[1], mountPath(campaignVolume)+"/")
	text, found := cm.Data[file]
	if campaignVolume == "" || !ok || !found {
		t.Fatalf("the container runs %s, not a key of the ConfigMap %s (keys %v) mounted at %s", c.Args[1], cm.Name, slices.Sorted(maps.Keys(cm.Data)), mountPath(campaignVolume))
	}
	camp, err := campaign.Parse(file, []byte(text))
	if err != nil {
		t.Fatalf("the ConfigMap's campaign: %v", err)
	}
	keys := 0
	for _, tg := range camp.TargetList {
		if tg.APIKeyEnv == "" {
			continue
		}
		keys++
		e := env(c, tg.APIKeyEnv)
		if e == nil || e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name == "" || e.ValueFrom.SecretKeyRef.Key == "" {
			t.Errorf("target %s reads its key from %s: the pod must get it from a Secret, got %+v", tg.Name, tg.APIKeyEnv, e)
		}
	}
	if keys == 0 {
		t.Error("the campaign names no api_key_env: the Secret is not checked")
	}
}

// decodeStrict decodes one YAML document into v, refusing unknown and
// duplicate fields.
func decodeStrict(t *testing.T, file string, doc []byte, v any) {
	t.Helper()
	if err := k8syaml.UnmarshalStrict(doc, v); err != nil {
		t.Fatalf("%s does not decode strictly into %T: %v", file, v, err)
	}
}

func env(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

func mapKeys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}
