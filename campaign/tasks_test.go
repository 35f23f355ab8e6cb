package campaign

import (
	"errors"
	"strings"
	"testing"
)

// TestHarderTasks: a campaign may ask for the latent and cwe tasks, and
// a length too short for cwe's list is refused at that length, naming
// the task and the length it needs.
func TestHarderTasks(t *testing.T) {
	ok := `targets: [{name: a, kind: sim}]
corpus:
  tasks: [latent, cwe]
  lengths: [1k, 4k]
load: {stages: [{rate: 1, duration: 1s}]}
`
	c, err := Parse("campaign.yaml", []byte(ok))
	if err != nil {
		t.Fatalf("%v", Detail(err))
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("%v", Detail(err))
	}
	short := strings.Replace(strings.Replace(ok, "[1k, 4k]", "[1k, 200]", 1), "[latent, cwe]", "[cwe]", 1)
	c, err = Parse("campaign.yaml", []byte(short))
	if err == nil {
		err = c.Validate()
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not an *Error", err, err)
	}
	if e.Field != "corpus.lengths[1]" || !strings.Contains(e.Msg, "task cwe") || !strings.Contains(e.Msg, "not 200") {
		t.Fatalf("at %q: %s", e.Field, e.Msg)
	}
}
