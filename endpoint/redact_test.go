package endpoint

import (
	"net/url"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/internal/testkit"
)

func TestRedactScrub(t *testing.T) {
	key := "sk-abc/123+xyz<9>"
	r := newRedactor(key, "Bearer "+key, "", "second-secret")
	tests := []struct{ in, want string }{
		{"plain " + key + " end", "plain [REDACTED] end"},
		{"Authorization: Bearer " + key, "Authorization: [REDACTED]"},
		{"twice " + key + key, "twice [REDACTED][REDACTED]"},
		{"in a URL ?k=" + url.QueryEscape(key), "in a URL ?k=[REDACTED]"},
		{"in a path /" + url.PathEscape(key), "in a path /[REDACTED]"},
		{`in JSON {"k":"sk-abc/123+xyz\u003c9\u003e"}`, `in JSON {"k":"[REDACTED]"}`},
		{"other second-secret here", "other [REDACTED] here"},
		{"nothing to hide", "nothing to hide"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := r.Scrub(tt.in); got != tt.want {
			t.Errorf("Scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := newRedactor().Scrub("x"); got != "x" {
		t.Errorf("an empty redactor changed text: %q", got)
	}
	var nilR *redactor
	if got := nilR.Scrub("x"); got != "x" {
		t.Errorf("a nil redactor changed text: %q", got)
	}
}

func TestRedactURL(t *testing.T) {
	u, _ := url.Parse("http://user:hunter2@host:8000/v1")
	if got := redactURL(u); strings.Contains(got, "hunter2") || !strings.Contains(got, "host:8000/v1") {
		t.Errorf("redactURL = %q", got)
	}
}

func TestRedactTargetErrors(t *testing.T) {
	// A target's construction errors never quote a credential-looking value.
	for _, cfg := range []TargetConfig{
		{Kind: KindOpenAI, Model: "m", APIKeyEnv: testCanaryKey},
		{Kind: KindOpenAI, Model: "m", Headers: map[string]string{"Authorization": "Bearer " + testCanaryKey}},
		{Kind: KindAnthropic, Model: "m", Headers: map[string]string{"X-Api-Key": testCanaryKey}},
	} {
		_, err := NewTarget(cfg, TargetEnv(testEnv))
		if err == nil {
			t.Fatalf("%+v accepted", cfg)
		}
		if strings.Contains(err.Error(), testCanaryKey) {
			t.Errorf("error %q holds the key", err)
		}
	}
}

func TestRedactURLString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"},
		{"https://user:hunter2@host:8000/v1", "https://user:xxxxx@host:8000/v1"},
		{"http://user:hunter2@host:8000/v1/%zz", "http://xxxxx@host:8000/v1/%zz"},
		{"http://us er:hunter2@ho st/v1", "http://xxxxx@ho st/v1"},
		{"not a url", "not a url"},
	}
	for _, tt := range tests {
		got := RedactURL(tt.in)
		if got != tt.want || strings.Contains(got, "hunter2") {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestRedactNoKey: a target sending no key has no secret to remove, so an
// answer that says "Bearer", or ends in "Bear", reaches the record whole
// (a key-less target once took "Bearer " for a secret).
func TestRedactNoKey(t *testing.T) {
	answer := "The Bearer bond is held by the Bear"
	srv := testkit.NewServer(t, testSSE(testRoleChunk, testChunk(answer), testFinishChunk, testDone))
	tg := newTestOpenAI(t, srv.URL, nil, TargetEnv(func(string) (string, bool) { return "", false }))
	rec := testSend(t, tg)
	if rec.ErrorClass != "" || rec.Answer != answer {
		t.Fatalf("error %q, answer %q; want %q", rec.ErrorClass, rec.Answer, answer)
	}
	if r := tg.(*openaiTarget).redact; len(r.secrets) != 0 {
		t.Errorf("a key-less target redacts %q", r.secrets)
	}
}
