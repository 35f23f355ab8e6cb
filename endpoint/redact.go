package endpoint

import (
	"net/url"
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
// quote the whole request), so every message a target stores in a Record goes
// through Scrub.
type redactor struct {
	// secrets holds every form of every secret to remove, longest first so
	// that a longer form ("Bearer KEY", a URL-escaped key) is removed whole.
	secrets []string
}

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
	for i := 1; i < len(r.secrets); i++ {
		for j := i; j > 0 && len(r.secrets[j]) > len(r.secrets[j-1]); j-- {
			r.secrets[j], r.secrets[j-1] = r.secrets[j-1], r.secrets[j]
		}
	}
	return r
}

// Scrub returns s with every secret replaced by [REDACTED].
func (r *redactor) Scrub(s string) string {
	if r == nil {
		return s
	}
	for _, sec := range r.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, redactedMark)
		}
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
