package endpoint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Usage counts as servers send them, read leniently. A server's usage object
// is a measurement aid, not the answer: a count that is a string ("263"), a
// fraction (9.5), a float beyond any integer (1e20), negative, or absurd
// never fails the chunk it came in. It is left out of the record (zero) and
// the record's UsageInvalid says which count and why, so calibration and
// statistics use only counts that can be true.

// MaxUsageTokens is the largest token count believed from a server: no
// context window or answer comes near a billion tokens.
const MaxUsageTokens = 1_000_000_000

// usageCount is one token count of a usage object.
type usageCount struct {
	n       int64
	present bool   // the member was there and not null
	bad     string // why the value is unusable, "" when it is usable
}

// UnmarshalJSON reads any JSON value and never fails.
func (u *usageCount) UnmarshalJSON(b []byte) error {
	*u = usageCount{}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	u.present = true
	switch {
	case b[0] == '"':
		u.bad = "is a string (" + oneLine(string(b), 32) + "), not a number"
		return nil
	case b[0] != '-' && (b[0] < '0' || b[0] > '9'):
		u.bad = "is not a number (" + oneLine(string(b), 32) + ")"
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(b), 64)
		switch {
		case ferr != nil, f > MaxUsageTokens:
			u.bad = fmt.Sprintf("%s is beyond any possible count", oneLine(string(b), 32))
		case f < 0:
			u.bad = fmt.Sprintf("%s is negative", oneLine(string(b), 32))
		case f != math.Trunc(f):
			u.bad = fmt.Sprintf("%s is not a whole number", oneLine(string(b), 32))
		default:
			n = int64(f) // 263.0 or 2.63e2: a whole number written as a float
		}
		if u.bad != "" {
			return nil
		}
	}
	switch {
	case n < 0:
		u.bad = fmt.Sprintf("%d is negative", n)
	case n > MaxUsageTokens:
		u.bad = fmt.Sprintf("%d is above %d", n, MaxUsageTokens)
	default:
		u.n = n
	}
	return nil
}

// usable returns the count and whether it may be recorded.
func (u usageCount) usable() (int, bool) { return int(u.n), u.present && u.bad == "" }

// streamUsage is the usage one stream event carried, in the record's terms.
type streamUsage struct {
	// Prompt is the prompt's tokens as the server counted them, Output the
	// answer's, Cached the part of Prompt read from a cache.
	Prompt, Output, Cached usageCount
	// PromptName, OutputName and CachedName name the fields in the note of
	// an unusable count.
	PromptName, OutputName, CachedName string
	// Final is true when Output is the answer's final count (OpenAI's last
	// chunk, Anthropic's message_delta), not a running one.
	Final bool
}

// usageNotes collects what was wrong with a stream's usage, each field once.
type usageNotes struct {
	notes []string
	seen  map[string]bool
}

// usageNotesLimit bounds how many notes a record keeps.
const usageNotesLimit = 6

// add notes that field was unusable for reason.
func (n *usageNotes) add(field, reason string) {
	if n.seen[field] || len(n.notes) >= usageNotesLimit {
		return
	}
	if n.seen == nil {
		n.seen = make(map[string]bool)
	}
	n.seen[field] = true
	n.notes = append(n.notes, field+" "+reason)
}

// String is the record's UsageInvalid.
func (n *usageNotes) String() string {
	if len(n.notes) == 0 {
		return ""
	}
	return strings.Join(n.notes, "; ") + " (left out of the record)"
}

// anthropicPromptUsage sums Anthropic's three input counts into one prompt
// count (input_tokens leaves out the cached parts); it is unusable when any
// part present is, and the note names that part.
func anthropicPromptUsage(in, read, created usageCount) (usageCount, string) {
	sum := usageCount{}
	for _, p := range []struct {
		c    usageCount
		name string
	}{{in, "input_tokens"}, {read, "cache_read_input_tokens"}, {created, "cache_creation_input_tokens"}} {
		if !p.c.present {
			continue
		}
		if p.c.bad != "" {
			return p.c, p.name
		}
		sum.present = true
		sum.n += p.c.n
	}
	if sum.n > MaxUsageTokens {
		sum.bad = fmt.Sprintf("sum %d is above %d", sum.n, MaxUsageTokens)
	}
	return sum, "input_tokens"
}

// decodeUsage decodes a usage object into v. A usage that is not an object
// leaves v as it was and returns a note.
func decodeUsage(raw json.RawMessage, v any) (note string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return "is not a usage object (" + oneLine(string(raw), 48) + ")"
	}
	return ""
}
