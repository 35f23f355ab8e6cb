package endpoint

import (
	"net/http"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/run"
)

// TestHeaderEnvInsideValue: "Bearer ${NAME}" is expanded from the
// environment, sent, and redacted from what the server echoes back, in an
// error and in an answer.
func TestHeaderEnvInsideValue(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusOK} {
		var got string
		url := testServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = r.Header.Get("Authorization")
			if status != http.StatusOK {
				w.WriteHeader(status)
				_, _ = w.Write([]byte(`{"error":{"message":"bad header ` + got + `"}}`))
				return
			}
			w.Header().Set("Content-Type", "text/event-stream")
			testWrite(w, r, testChunk("you sent "+got+" and "+got[len("Bearer "):][:12]), testFinishChunk, testDone)
		}))
		tg := newTestOpenAI(t, url, func(c *TargetConfig) {
			c.APIKeyEnv = "EMPTY_KEY"
			c.Headers = map[string]string{"Authorization": "Bearer ${CUSTOM_SECRET}"}
		})
		rec := testSend(t, tg) // fails if the secret is in the record
		if got != "Bearer "+testCanarySecret {
			t.Fatalf("Authorization sent: %q", got)
		}
		if status == http.StatusOK && (rec.ErrorClass != "" || !strings.Contains(rec.Answer, "[REDACTED]")) {
			t.Errorf("class %q, answer %q", rec.ErrorClass, rec.Answer)
		}
		if status != http.StatusOK && (rec.ErrorClass != run.ErrBadResponse || !strings.Contains(rec.Error, "[REDACTED]")) {
			t.Errorf("class %q, error %q", rec.ErrorClass, rec.Error)
		}
	}
}

// TestHeaderEnvRefused: an unset variable, an unclosed reference and a
// literal credential are refused, without repeating the value.
func TestHeaderEnvRefused(t *testing.T) {
	for v, want := range map[string]string{
		"Bearer ${NOPE}":             "NOPE is not set",
		"Bearer ${CUSTOM_SECRET":     "not closed",
		"Bearer sk-literal-12345678": "literal credential",
	} {
		_, err := NewOpenAI(TargetConfig{BaseURL: "http://127.0.0.1:1/v1", Model: "m", Headers: map[string]string{"Authorization": v}}, TargetEnv(testEnv))
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "sk-literal") {
			t.Errorf("%q: error %v, want one with %q", v, err, want)
		}
	}
}
