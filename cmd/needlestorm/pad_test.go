package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRunPadFlags: --pad-to and --pad-depths pad the --dataset's cases
// (the plan counts them), and a bad value is a usage error naming its flag.
func TestRunPadFlags(t *testing.T) {
	ds, err := filepath.Abs("../../examples/datasets/cases.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := runTestApp(t, "run", "--dataset", ds, "--pad-to", "1k,2k", "--pad-depths", "0,1", "--dry-run", "--out", filepath.Join(t.TempDir(), "run"))
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if want := "230 cases (230 from the dataset)"; !strings.Contains(out, want) {
		t.Errorf("plan lacks %q (46 cases, as written and at 2 lengths × 2 depths):\n%s", want, out)
	}
	for _, tc := range []struct{ args []string }{
		{[]string{"--pad-to", "1k", "--pad-depths", "0,50"}},
		{[]string{"--pad-to", "ten"}},
		{[]string{"--pad-to", "20"}},
	} {
		flag := tc.args[len(tc.args)-2]
		_, _, err := runTestApp(t, append([]string{"run", "--dataset", ds, "--dry-run"}, tc.args...)...)
		if code := campaignTestExitCode(err); code != exitUsage || !strings.Contains(err.Error(), flag) {
			t.Errorf("%v: exit %d (%v), want %d naming %s", tc.args, code, err, exitUsage, flag)
		}
	}
}
