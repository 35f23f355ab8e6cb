package run

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Promote makes the run directory src the baseline at dst: a copy of src,
// put in place whole, so that a reader of dst sees either the old baseline
// or the new one, never half of each. dst is created when it does not
// exist; an existing dst must itself be a run directory (it holds a
// manifest), so that a mistyped path cannot replace unrelated files. The
// copy is made beside dst (on the same file system, so the final step is
// a rename), and the old baseline is removed only once the new one is in
// place.
func Promote(src, dst string) error {
	if _, err := ReadManifest(src); err != nil {
		return fmt.Errorf("promoting %s: %w", src, err)
	}
	if abs, err := filepath.Abs(dst); err == nil {
		if absSrc, err := filepath.Abs(src); err == nil && abs == absSrc {
			return fmt.Errorf("promoting %s: it is the baseline directory itself: give another directory", src)
		}
	}
	old := false
	switch _, err := os.Stat(dst); {
	case err == nil:
		if _, err := os.Stat(filepath.Join(dst, ManifestFile)); err != nil {
			return fmt.Errorf("promoting %s to %s: %s exists and is not a needlestorm run directory (no %s): remove it or give another directory", src, dst, dst, ManifestFile)
		}
		old = true
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("promoting %s: %w", src, err)
	}
	parent := filepath.Dir(filepath.Clean(dst))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("promoting %s: %w", src, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dst)+".new-")
	if err != nil {
		return fmt.Errorf("promoting %s: %w", src, err)
	}
	defer os.RemoveAll(tmp) // gone after the rename; what is left of a failed copy otherwise
	if err := os.CopyFS(tmp, os.DirFS(src)); err != nil {
		return fmt.Errorf("promoting %s: copying it: %w", src, err)
	}
	if !old {
		if err := os.Rename(tmp, dst); err != nil {
			return fmt.Errorf("promoting %s: %w", src, err)
		}
		return nil
	}
	prev := tmp + ".old"
	if err := os.Rename(dst, prev); err != nil {
		return fmt.Errorf("promoting %s: moving the old baseline aside: %w", src, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		// Put the old baseline back: a failed promotion keeps it.
		return errors.Join(fmt.Errorf("promoting %s: %w", src, err), os.Rename(prev, dst))
	}
	if err := os.RemoveAll(prev); err != nil {
		return fmt.Errorf("promoted %s to %s, but the old baseline is left at %s: %w", src, dst, prev, err)
	}
	return nil
}
