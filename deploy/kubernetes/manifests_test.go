// Package kubernetes_test checks the Kubernetes manifests of this folder:
// they decode strictly into the API's own types, and they pass the shard
// settings through the environment variables needlestorm reads. It is a
// test-only package: the needlestorm binary never imports the Kubernetes
// API.
package kubernetes_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/needlestorm/needlestorm/campaign"
)

// kustomization is the part of a kustomization.yaml these manifests use;
// decoding strictly into it refuses anything else.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
}

// manifests is every object of the folder, by kind and name.
type manifests struct {
	jobs       map[string]*batchv1.Job
	configMaps map[string]*corev1.ConfigMap
	pvcs       map[string]*corev1.PersistentVolumeClaim
	pods       map[string]*corev1.Pod
	namespaces map[string]*corev1.Namespace
}

// decodeStrict decodes one YAML document into v, refusing unknown and
// duplicate fields.
func decodeStrict(t *testing.T, file string, doc []byte, v any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		t.Fatalf("%s does not decode strictly into %T: %v", file, v, err)
	}
}

// load decodes every document of files into its kind's API type.
func load(t *testing.T, files []string) *manifests {
	t.Helper()
	m := &manifests{jobs: map[string]*batchv1.Job{}, configMaps: map[string]*corev1.ConfigMap{},
		pvcs: map[string]*corev1.PersistentVolumeClaim{}, pods: map[string]*corev1.Pod{}, namespaces: map[string]*corev1.Namespace{}}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(b, []byte("\n---")) {
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			name := fmt.Sprintf("%s (document %d)", file, i+1)
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			switch gvk := tm.APIVersion + " " + tm.Kind; gvk {
			case "batch/v1 Job":
				var o batchv1.Job
				decodeStrict(t, name, doc, &o)
				m.jobs[o.Name] = &o
			case "v1 ConfigMap":
				var o corev1.ConfigMap
				decodeStrict(t, name, doc, &o)
				m.configMaps[o.Name] = &o
			case "v1 PersistentVolumeClaim":
				var o corev1.PersistentVolumeClaim
				decodeStrict(t, name, doc, &o)
				m.pvcs[o.Name] = &o
			case "v1 Pod":
				var o corev1.Pod
				decodeStrict(t, name, doc, &o)
				m.pods[o.Name] = &o
			case "v1 Namespace":
				var o corev1.Namespace
				decodeStrict(t, name, doc, &o)
				m.namespaces[o.Name] = &o
			default:
				t.Fatalf("%s: unexpected kind %q", name, gvk)
			}
		}
	}
	return m
}

func env(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

// TestManifests: kustomization.yaml lists every manifest, each decodes
// strictly into its API type; the shards are an Indexed Job of N pods at
// once, told N, the barrier and the run id through the variables
// needlestorm reads, and given every API key the campaign names from a
// Secret; the campaign is one needlestorm accepts for a sharded run; the
// merge Job reads the shards' directories from the same volume.
func TestManifests(t *testing.T) {
	var k kustomization
	b, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	decodeStrict(t, "kustomization.yaml", b, &k)
	if k.Kind != "Kustomization" || k.Namespace == "" || len(k.Images) != 1 || k.Images[0].Name != "needlestorm" {
		t.Errorf("kustomization: %+v", k)
	}
	all, _ := filepath.Glob("*.yaml")
	for _, f := range all {
		if f != "kustomization.yaml" && f != "fetch-pod.yaml" && !slices.Contains(k.Resources, f) {
			t.Errorf("%s is not among the kustomization's resources", f)
		}
	}
	m := load(t, append(slices.Clone(k.Resources), "fetch-pod.yaml"))
	if m.namespaces[k.Namespace] == nil {
		t.Errorf("the kustomization's namespace %s has no manifest", k.Namespace)
	}

	shards := m.jobs["needlestorm-shards"]
	merge := m.jobs["needlestorm-merge"]
	if shards == nil || merge == nil {
		t.Fatalf("jobs %v: want needlestorm-shards and needlestorm-merge", m.jobs)
	}
	spec := shards.Spec
	if spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("the shards' completion mode is %v, want Indexed", spec.CompletionMode)
	}
	if spec.Completions == nil || spec.Parallelism == nil || *spec.Completions != *spec.Parallelism || *spec.Completions < 2 {
		t.Fatalf("completions %v, parallelism %v: want equal, every shard at once", spec.Completions, spec.Parallelism)
	}
	n := int(*spec.Completions)
	pod := spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever || len(pod.Containers) != 1 {
		t.Fatalf("shard pod: restart %s, %d containers", pod.RestartPolicy, len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Image != "needlestorm" || c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("shard container: image %q, resources %+v", c.Image, c.Resources)
	}

	// The shard count, the barrier and the run id, by the names the code reads.
	if e := env(c, campaign.EnvShards); e == nil || e.Value != strconv.Itoa(n) {
		t.Errorf("%s = %+v, want %d (the Job's completions)", campaign.EnvShards, e, n)
	}
	if e := env(c, campaign.EnvBarrier); e == nil || !strings.HasPrefix(e.Value, "/runs/") {
		t.Errorf("%s = %+v, want a folder on the shared volume", campaign.EnvBarrier, e)
	}
	if e := env(c, campaign.EnvRunID); e == nil || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil ||
		!strings.Contains(e.ValueFrom.FieldRef.FieldPath, "controller-uid") {
		t.Errorf("%s = %+v, want the Job's uid from the pod's labels", campaign.EnvRunID, e)
	}
	if env(c, campaign.EnvShardIndex) != nil {
		t.Errorf("%s is set by Kubernetes in an Indexed Job, not by the manifest", campaign.EnvShardIndex)
	}
	if len(c.Args) < 2 || c.Args[0] != "run" || !slices.Contains(c.Args, "--out") {
		t.Fatalf("shard args %q: want run CAMPAIGN --out DIR", c.Args)
	}
	out := c.Args[slices.Index(c.Args, "--out")+1]
	if !strings.Contains(out, "$("+campaign.EnvShardIndex+")") {
		t.Errorf("--out %s: each shard needs its own directory, named by $(%s)", out, campaign.EnvShardIndex)
	}

	// The campaign: one needlestorm accepts, shardable, its keys from a Secret.
	cm := m.configMaps["needlestorm-campaign"]
	if cm == nil {
		t.Fatal("no ConfigMap needlestorm-campaign")
	}
	mountPath := func(volume string) string {
		for _, vm := range c.VolumeMounts {
			if vm.Name == volume {
				return vm.MountPath
			}
		}
		return ""
	}
	var campaignVolume, runsVolume string
	for _, v := range pod.Volumes {
		switch {
		case v.ConfigMap != nil && v.ConfigMap.Name == cm.Name:
			campaignVolume = v.Name
		case v.PersistentVolumeClaim != nil && m.pvcs[v.PersistentVolumeClaim.ClaimName] != nil:
			runsVolume = v.Name
		}
	}
	file := strings.TrimPrefix(c.Args[1], mountPath(campaignVolume)+"/")
	text, ok := cm.Data[file]
	if campaignVolume == "" || !ok {
		t.Fatalf("the shards read %s, which is not the ConfigMap's (keys %v) mounted", c.Args[1], keys(cm.Data))
	}
	camp, err := campaign.Parse(file, []byte(text))
	if err != nil {
		t.Fatalf("the ConfigMap's campaign: %v", err)
	}
	if err := camp.CheckShard(&campaign.Shard{Index: 0, Count: n}); err != nil {
		t.Errorf("the ConfigMap's campaign cannot be sharded: %v", err)
	}
	for _, tg := range camp.TargetList {
		if tg.APIKeyEnv == "" {
			continue
		}
		e := env(c, tg.APIKeyEnv)
		if e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name == "" || e.ValueFrom.SecretKeyRef.Key == "" {
			t.Errorf("target %s reads its key from %s: the shards must get it from a Secret, got %+v", tg.Name, tg.APIKeyEnv, e)
		}
	}

	// The shared volume, and the merge Job reading the shards from it.
	if runsVolume == "" || !strings.HasPrefix(out, mountPath(runsVolume)+"/") {
		t.Fatalf("the shards write %s, not on a mounted PersistentVolumeClaim", out)
	}
	for _, pvc := range m.pvcs {
		if !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
			t.Errorf("PVC %s: access modes %v; pods on several nodes need ReadWriteMany", pvc.Name, pvc.Spec.AccessModes)
		}
	}
	mc := merge.Spec.Template.Spec.Containers[0]
	if merge.Spec.CompletionMode != nil && *merge.Spec.CompletionMode == batchv1.IndexedCompletion {
		t.Error("the merge Job is one pod, not indexed")
	}
	if len(mc.Args) < 2 || mc.Args[0] != "merge" || !slices.Contains(mc.Args, "--wait") || !slices.Contains(mc.Args, "--out") {
		t.Fatalf("merge args %q: want merge PATTERN --out DIR --wait D", mc.Args)
	}
	for i := range n {
		dir := strings.ReplaceAll(out, "$("+campaign.EnvShardIndex+")", strconv.Itoa(i))
		if ok, err := filepath.Match(mc.Args[1], dir); err != nil || !ok {
			t.Errorf("the merge's %s does not match shard %d's directory %s", mc.Args[1], i, dir)
		}
	}
	if barrier := env(c, campaign.EnvBarrier).Value; func() bool { ok, _ := filepath.Match(mc.Args[1], barrier); return ok }() {
		t.Errorf("the merge's %s also matches the barrier folder %s", mc.Args[1], barrier)
	}
	for _, p := range []corev1.PodSpec{merge.Spec.Template.Spec, m.pods["needlestorm-fetch"].Spec} {
		claims := 0
		for _, v := range p.Volumes {
			if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == pod.Volumes[slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == runsVolume })].PersistentVolumeClaim.ClaimName {
				claims++
			}
		}
		if claims != 1 {
			t.Errorf("a pod (containers %s) does not mount the shards' volume", p.Containers[0].Name)
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
