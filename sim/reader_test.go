package sim

import (
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/needlestorm/needlestorm/corpus"
)

var (
	toyFact     = regexp.MustCompile(`the value of ([a-z0-9-]+) is ([0-9]+)\.`)
	toyQuestion = regexp.MustCompile(`What is the value of ([a-z0-9-]+)\?`)
)

// toyRead is a stand-in for corpus.ReadPrompt over a toy phrasing: facts
// "the value of KEY is N." and a question "What is the value of KEY?".
func toyRead(text string) corpus.Reading {
	facts := map[string][]string{}
	for _, m := range toyFact.FindAllStringSubmatch(text, -1) {
		facts[m[1]] = append(facts[m[1]], m[2])
	}
	var r corpus.Reading
	asked := map[string]bool{}
	for _, m := range toyQuestion.FindAllStringSubmatch(text, -1) {
		r.Asks = append(r.Asks, corpus.Ask{Key: m[1], Values: facts[m[1]]})
		asked[m[1]] = true
	}
	for k, vs := range facts {
		if !asked[k] {
			r.Distractors = append(r.Distractors, vs...)
		}
	}
	return r
}

// startToy is startTest with the toy reader.
func startToy(t testing.TB, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	s, ts := startTest(t, cfg)
	s.read = toyRead
	return s, ts
}
