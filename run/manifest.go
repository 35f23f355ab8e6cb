package run

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ManifestSchema names the version of the manifest JSON format.
const ManifestSchema = "needlestorm.manifest/v1"

// Run statuses.
const (
	StatusRunning     = "running"
	StatusComplete    = "complete"
	StatusInterrupted = "interrupted"
	StatusFailed      = "failed"
)

// File names inside a run directory.
const (
	ManifestFile = "manifest.json"
	RecordsFile  = "records.jsonl"
)

// Manifest says what a run was asked to do and how it ended. Together with
// records.jsonl it is all that reports need.
type Manifest struct {
	Schema  string `json:"schema"`
	Tool    string `json:"tool"`
	Version string `json:"version"`
	// Commit is the VCS revision the tool was built from, when known.
	Commit string `json:"commit,omitempty"`
	// Collector says how the client's Go garbage collector was set
	// (internal/gctune): its pauses are one cause of send lag.
	Collector string    `json:"collector,omitempty"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	Status    string    `json:"status"`
	// Reason says why a run did not complete (signal, budget, error).
	Reason string `json:"reason,omitempty"`
	// Records is the number of records written.
	Records int64 `json:"records"`
	// NonceSalt is the salt mixed into every request's cache-busting nonce
	// (loadgen.NonceSalt): the prompt a record was sent is its Case with
	// the preamble of nonce Seq XOR NonceSalt. 0 in manifests written
	// before the salt existed, whose nonce was the Seq alone.
	NonceSalt uint64 `json:"nonce_salt"`
	// Targets, Corpus, Schedule and Objectives hold what was asked. They are
	// kept as raw JSON here so that each package owns its own part's schema.
	Targets    json.RawMessage `json:"targets,omitempty"`
	Corpus     json.RawMessage `json:"corpus,omitempty"`
	Schedule   json.RawMessage `json:"schedule,omitempty"`
	Objectives json.RawMessage `json:"objectives,omitempty"`
	// Preflight holds what preflight learned about each target (a list of
	// PreflightReport, in target order) and Budget the campaign's budget and
	// what was spent; both are written by campaigns.
	Preflight json.RawMessage `json:"preflight,omitempty"`
	Budget    json.RawMessage `json:"budget,omitempty"`
	// Campaign names the campaign that ran (empty for a run from flags);
	// Routing holds the routing file the campaign named, as the route
	// package reads it, so that a report can answer it again.
	Campaign string          `json:"campaign,omitempty"`
	Routing  json.RawMessage `json:"routing,omitempty"`
	// CampaignHash identifies what a sharded run was asked to do (see
	// Shard): every shard of one run has the same, and Merge merges only
	// shards that share it. A merged run keeps it.
	CampaignHash string `json:"campaign_hash,omitempty"`
	// Shard is this directory's part of a sharded run; nil for a run of
	// one process and for a merged run.
	Shard *Shard `json:"shard,omitempty"`
	// Merged says which shards a merged run was made from (Merge); nil
	// otherwise.
	Merged *Merged `json:"merged,omitempty"`
}

// WriteManifest writes m to dir/manifest.json atomically (write, then
// rename), so a reader never sees half a manifest.
func WriteManifest(dir string, m *Manifest) error {
	if m.Schema == "" {
		m.Schema = ManifestSchema
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding manifest: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".manifest-*.json")
	if err != nil {
		return fmt.Errorf("writing manifest in %s: %w", dir, err)
	}
	// CreateTemp makes the file 0600; a manifest is as readable as the
	// records beside it.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("writing manifest: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("writing manifest: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing manifest: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, ManifestFile)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing manifest: %w", err)
	}
	return nil
}

// ReadManifest reads dir/manifest.json.
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w (is %s a needlestorm run directory?)", err, dir)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON: %w", path, err)
	}
	if m.Schema != ManifestSchema {
		return nil, fmt.Errorf("%s: schema %q, want %q", path, m.Schema, ManifestSchema)
	}
	return &m, nil
}
