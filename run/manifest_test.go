package run

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestManifestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	m := &Manifest{Tool: "needlestorm", Version: "v1", StartedAt: time.Now().UTC(), Status: StatusInterrupted,
		Reason: "received interrupt", Records: 12, NonceSalt: 0xdeadbeefcafef00d, Objectives: json.RawMessage(`{"accuracy":0.9}`)}
	if err := WriteManifest(dir, m); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("manifest mode %v, want 0644", fi.Mode().Perm())
	}
	got, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	var obj bytes.Buffer
	if err := json.Compact(&obj, got.Objectives); err != nil {
		t.Fatal(err)
	}
	if got.Schema != ManifestSchema || got.Status != StatusInterrupted || got.Reason != m.Reason || got.Records != 12 ||
		got.NonceSalt != m.NonceSalt || !got.StartedAt.Equal(m.StartedAt) || obj.String() != `{"accuracy":0.9}` {
		t.Errorf("read back %+v, want %+v", got, m)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".manifest-*")); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestReadManifestErrors(t *testing.T) {
	tests := []struct{ name, content, want string }{
		{"missing", "", "a needlestorm run directory?"},
		{"not json", "{", "is not valid JSON"},
		{"other schema", `{"schema":"x/v2"}`, `schema "x/v2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.content != "" {
				if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := ReadManifest(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// changingSetting is a collector setting that changes while a run goes on.
type changingSetting struct{ s string }

func (c *changingSetting) String() string { return c.s }

// TestManifestCollectorAtClose: the manifest records the collector as it
// was when the run started, and as it is when the run ends.
func TestManifestCollectorAtClose(t *testing.T) {
	dir := t.TempDir()
	c := &changingSetting{s: "GOGC=off GOMEMLIMIT=1024MiB"}
	rs, err := Open(dir, Collector(c))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ReadManifest(dir)
	if err != nil || m.Collector != c.s {
		t.Fatalf("manifest at open: collector %q (%v), want %q", m.Collector, err, c.s)
	}
	c.s = "GOGC=off GOMEMLIMIT=1024MiB; GOGC=100 since 2026-12-04T03:00:00Z"
	if _, err := rs.Close(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if m, err = ReadManifest(dir); err != nil || m.Collector != c.s {
		t.Fatalf("manifest at close: collector %q (%v), want %q", m.Collector, err, c.s)
	}
}
