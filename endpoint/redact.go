package endpoint

import (
	"net/url"
	"sort"
	"strings"
)

// redactedMark replaces every secret removed from a message.
const redactedMark = "[REDACTED]"

// redactor removes secret values (API keys, header values read from the
// environment, URL passwords) from text before it is stored anywhere. A
// target builds one at construction; it is immutable afterwards and safe for
// concurrent use.
//
// net/http, go-openai and the servers themselves can echo URLs, headers and
// keys in error messages (OpenAI's 401 quotes part of the key, a proxy may
// quote the whole request) and in answers (a server may echo the request),
// so every message and answer a target stores in a Record goes through
// Scrub. Whole secrets are replaced first; then any run of
// redactWindow or more characters of a secret (a key quoted in part, or cut
// by a length limit), and a piece of redactPiece or more characters of one
// at either end of the text (where a cut may have split it).
type redactor struct {
	// secrets holds every form of every secret to remove, longest first so
	// that a longer form ("Bearer KEY", a URL-escaped key) is removed whole.
	secrets []string
	// windows holds every redactWindow-byte window of every secret at least
	// that long, packed into a uint64.
	windows map[uint64]struct{}
	// pieces are the secrets (not the compound forms) whose pieces at
	// either end of a text are removed.
	pieces []string
}

// redactWindow is the shortest run of a secret's characters removed
// wherever it appears; redactPiece the shortest piece removed at either end
// of a text.
const (
	redactWindow = 8
	redactPiece  = 4
)

// newRedactor returns a redactor for the given secret values. Empty values are
// ignored. Each secret is also removed in its URL-escaped and JSON-escaped
// forms when these differ from the plain one.
func newRedactor(values ...string) *redactor {
	r := &redactor{}
	seen := make(map[string]bool)
	add := func(s string) {
		if s == "" || seen[s] {
			return
		}
		seen[s] = true
		r.secrets = append(r.secrets, s)
	}
	for _, v := range values {
		if v == "" {
			continue
		}
		add(v)
		add(url.QueryEscape(v))
		add(url.PathEscape(v))
		add(redactJSONEscape(v))
	}
	// Longest first: when one secret contains another, the longer one must be
	// replaced before its part is.
	sort.SliceStable(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	for _, sec := range r.secrets {
		if strings.ContainsAny(sec, " \t\r\n") {
			// A compound form ("Bearer KEY"): its parts are secrets of
			// their own, and a window holding the space would take the
			// text around a key with it.
			continue
		}
		if len(sec) >= redactWindow {
			if r.windows == nil {
				r.windows = make(map[uint64]struct{})
			}
			for i := 0; i+redactWindow <= len(sec); i++ {
				r.windows[redactPack(sec, i)] = struct{}{}
			}
		}
		if len(sec) >= redactPiece {
			r.pieces = append(r.pieces, sec)
		}
	}
	return r
}

// redactPack packs the redactWindow bytes of s at i into one word.
func redactPack(s string, i int) uint64 {
	var w uint64
	for k := 0; k < redactWindow; k++ {
		w = w<<8 | uint64(s[i+k])
	}
	return w
}

// Scrub returns s with every secret, every run of redactWindow or more
// characters of one, and any piece of one of redactPiece or more characters
// at either end of s replaced by [REDACTED].
func (r *redactor) Scrub(s string) string {
	if r == nil || s == "" {
		return s
	}
	for _, sec := range r.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, redactedMark)
		}
	}
	s = r.scrubWindows(s)
	return r.scrubEnds(s)
}

// ScrubBytes is Scrub for a byte slice; it returns b itself when nothing
// was removed.
func (r *redactor) ScrubBytes(b []byte) []byte {
	if r == nil || len(b) == 0 {
		return b
	}
	if s := r.Scrub(string(b)); s != string(b) {
		return []byte(s)
	}
	return b
}

// Line returns s scrubbed, on one line (oneLine) and at most limit bytes
// long, with the end of a cut scrubbed again: a secret split by the cut
// leaves no piece behind.
func (r *redactor) Line(s string, limit int) string {
	out, cut := cutLine(r.Scrub(s), limit)
	if !cut {
		return out
	}
	return r.scrubEnds(strings.TrimSuffix(out, cutMark)) + cutMark
}

// scrubWindows replaces every maximal run of a secret's characters that
// holds one of its windows.
func (r *redactor) scrubWindows(s string) string {
	if len(r.windows) == 0 || len(s) < redactWindow {
		return s
	}
	var b strings.Builder
	last := 0 // s[last:] is not yet written
	for i := 0; i+redactWindow <= len(s); i++ {
		if _, ok := r.windows[redactPack(s, i)]; !ok {
			continue
		}
		end := i + redactWindow
		for end < len(s) && r.inSecret(s[i:end+1]) {
			end++
		}
		if b.Len() == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:i])
		b.WriteString(redactedMark)
		last = end
		i = end - 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// inSecret reports whether run is part of a secret.
func (r *redactor) inSecret(run string) bool {
	for _, sec := range r.secrets {
		if len(sec) >= len(run) && strings.Contains(sec, run) {
			return true
		}
	}
	return false
}

// scrubEnds replaces the longest beginning of a secret that s ends with,
// and the longest end of a secret that s begins with, when it has
// redactPiece or more characters.
func (r *redactor) scrubEnds(s string) string {
	if len(r.pieces) == 0 || len(s) < redactPiece {
		return s
	}
	tail := 0
	for _, sec := range r.pieces {
		for n := min(len(sec)-1, len(s)); n >= redactPiece && n > tail; n-- {
			if strings.HasSuffix(s, sec[:n]) {
				tail = n
				break
			}
		}
	}
	if tail > 0 {
		s = s[:len(s)-tail] + redactedMark
	}
	head := 0
	for _, sec := range r.pieces {
		for n := min(len(sec)-1, len(s)); n >= redactPiece && n > head; n-- {
			if strings.HasPrefix(s, sec[len(sec)-n:]) {
				head = n
				break
			}
		}
	}
	if head > 0 {
		s = redactedMark + s[head:]
	}
	return s
}

// redactJSONEscape returns s as it appears inside a JSON string (without the
// quotes), so that a key echoed inside a JSON error body is found too.
func redactJSONEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteRune(c)
		case c == '<' || c == '>' || c == '&' || c < 0x20:
			// encoding/json escapes these as \u00XX.
			const hex = "0123456789abcdef"
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// redactURL returns u as text with any password removed, for messages.
func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Redacted()
}

// RedactURL returns s with any password in it replaced, for printing. A URL
// that does not parse keeps nothing between "://" and the last "@" before
// its path, so a malformed URL cannot leak its credentials either.
func RedactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		if u.User == nil {
			return s
		}
		return u.Redacted()
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	host := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host = rest[:i]
	}
	if at := strings.LastIndex(host, "@"); at >= 0 {
		return scheme + "://xxxxx@" + rest[at+1:]
	}
	return s
}
