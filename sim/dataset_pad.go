package sim

import (
	"slices"
	"strings"

	"github.com/needlestorm/needlestorm/corpus"
)

// padHeadLen is how many bytes of a case's buried content key its padded
// prompts in the index.
const padHeadLen = 16

// padForm is how a padded prompt of a case holds it (see
// corpus.DatasetCase.PadParts).
type padForm struct {
	before            []string
	lead, core, trail string
	// base is the key of the messages before the last.
	base uint64
}

// padBase is the key of the messages before the last, apart from every
// key of whole prompts.
func padBase(before []string) uint64 { return hashPrompt(before) ^ 0x9e3779b97f4a7c15 }

// padKey is the index key of a padded prompt: its messages before the
// last and the first bytes of the buried content.
func padKey(base uint64, head string) uint64 {
	h := base
	for i := 0; i < len(head); i++ {
		h ^= uint64(head[i])
		h *= 1099511628211
	}
	return h
}

// addPadded indexes a case's padded prompts too: the same answers when its
// content is buried in a haystack (corpus.Builder.PadCase).
func (idx datasetIndex) addPadded(c corpus.DatasetCase, dc *datasetCase) {
	before, lead, core, trail := c.PadParts()
	if core == "" {
		return
	}
	pf := &padForm{lead: lead, core: core, trail: trail}
	for _, m := range before {
		pf.before = append(pf.before, m.Content)
	}
	pf.base = padBase(pf.before)
	dc.pad = pf
	k := padKey(pf.base, core[:min(len(core), padHeadLen)])
	idx[k] = append(idx[k], dc)
}

// lookupPadded finds the case whose content a padded prompt buries: the
// content starts at the start of the last message or just after a
// newline, so only those places are looked up.
func (idx datasetIndex) lookupPadded(contents []string) *datasetCase {
	n := len(contents)
	if n == 0 || len(idx) == 0 {
		return nil
	}
	before, last := contents[:n-1], contents[n-1]
	base := padBase(before)
	at := func(start int) *datasetCase {
		for l := min(padHeadLen, len(last)-start); l > 0; l-- {
			for _, dc := range idx[padKey(base, last[start:start+l])] {
				pf := dc.pad
				if pf != nil && len(pf.core) >= l && (l == padHeadLen || len(pf.core) == l) &&
					slices.Equal(pf.before, before) && corpus.PaddedHolds(last, start, pf.lead, pf.core, pf.trail) {
					return dc
				}
			}
		}
		return nil
	}
	if dc := at(0); dc != nil {
		return dc
	}
	for i := 0; i+1 < len(last); i++ {
		if last[i] == '\n' && last[i+1] != '\n' {
			if dc := at(i + 1); dc != nil {
				return dc
			}
		}
	}
	return nil
}

// readIn reports whether text, what the server kept of a truncated
// prompt, still holds all of the case: its messages as written or, for a
// padded prompt, the messages before the last and the buried content with
// the text before and after it (its question). A truncation that cut only
// haystack leaves the case answerable, as a model would find it.
func (dc *datasetCase) readIn(text string) bool {
	if containsAll(text, dc.contents) {
		return true
	}
	if dc.pad == nil {
		return false
	}
	return containsAll(text, dc.pad.before) && containsAll(text, []string{dc.pad.lead, dc.pad.core, dc.pad.trail})
}

// containsAll reports whether text holds every non-empty part.
func containsAll(text string, parts []string) bool {
	for _, p := range parts {
		if p != "" && !strings.Contains(text, p) {
			return false
		}
	}
	return true
}
