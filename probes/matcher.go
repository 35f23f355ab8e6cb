package probes

import (
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/needlestorm/needlestorm/corpus"
)

// MatcherResult is how an answer fared against one matcher.
type MatcherResult struct {
	Kind string
	// Pass is true when the answer passes the matcher.
	Pass bool
	// Score is the share of the matcher's parts the answer passed: for
	// contains (all) the share of values present, for json the share of
	// fields right, otherwise 1 or 0.
	Score float64
}

// ScoreMatchers scores an answer against a case's matchers (see
// corpus.Matcher for the kinds and the normalisation). Strict is true
// when every matcher passes; Recall is the mean of their scores; Any is
// true when some matcher scored above 0; Null when the answer holds no
// word. With no matchers nothing can be matched: Strict and Any are false.
// A matcher that fails corpus.Matcher.Check never passes.
func ScoreMatchers(ms []corpus.Matcher, answer string) Match {
	m := Match{Null: Normalize(answer) == ""}
	if len(ms) == 0 {
		return m
	}
	m.Strict = true
	sum := 0.0
	for _, mt := range ms {
		r := ScoreMatcher(mt, answer)
		sum += r.Score
		m.Strict = m.Strict && r.Pass
		m.Any = m.Any || r.Score > 0
	}
	m.Recall = sum / float64(len(ms))
	return m
}

// ScoreMatcher scores an answer against one matcher.
func ScoreMatcher(mt corpus.Matcher, answer string) MatcherResult {
	r := MatcherResult{Kind: mt.Kind()}
	switch r.Kind {
	case corpus.MatchEquals:
		r.Pass = Normalize(answer) == Normalize(*mt.Equals) && Normalize(answer) != ""
	case corpus.MatchContains:
		r.Score, r.Pass = scoreContains(mt, answer)
		return r
	case corpus.MatchRegex:
		re, err := compileRegex(*mt.Regex)
		r.Pass = err == nil && *mt.Regex != "" && re.MatchString(strings.TrimSpace(answer))
	case corpus.MatchOneOf:
		r.Pass = labelOf(mt.OneOf, answer) == Normalize(mt.Label) && mt.Label != ""
	case corpus.MatchJSON:
		r.Score, r.Pass = scoreJSON(mt.JSON, answer)
		return r
	case corpus.MatchNumber:
		r.Pass = numberWithin(answer, *mt.Number, mt.Tolerance)
	}
	if r.Pass {
		r.Score = 1
	}
	return r
}

// scoreContains: mode all passes when every value is present (score: the
// share present); mode any when one is (score 1 or 0).
func scoreContains(mt corpus.Matcher, answer string) (float64, bool) {
	if len(mt.Contains) == 0 {
		return 0, false
	}
	padded := " " + Normalize(answer) + " "
	found := 0
	for _, v := range mt.Contains {
		if containsNormalized(padded, Normalize(v)) {
			found++
		}
	}
	if mt.Match == corpus.ContainsAny {
		if found > 0 {
			return 1, true
		}
		return 0, false
	}
	return float64(found) / float64(len(mt.Contains)), found == len(mt.Contains)
}

// labelOf is the one label an answer names, normalised; "" when it names
// none or several. A label found only inside a longer label the answer
// also names does not count, so with labels "spam" and "not spam" the
// answer "Not spam." names "not spam" alone.
func labelOf(labels []string, answer string) string {
	na := " " + Normalize(answer) + " "
	var named []string
	for _, l := range labels {
		nl := Normalize(l)
		if containsNormalized(na, nl) {
			named = append(named, nl)
		}
	}
	var kept []string
	for _, n := range named {
		inside := false
		for _, o := range named {
			if o != n && len(o) > len(n) && containsNormalized(" "+o+" ", n) {
				inside = true
				break
			}
		}
		if !inside {
			kept = append(kept, n)
		}
	}
	if len(kept) != 1 {
		return ""
	}
	return kept[0]
}

// regexCache holds compiled patterns: reports score every record again, and
// a dataset repeats its patterns over targets and repeats.
// It stops growing at maxCachedRegexes patterns (a fuzz test, or a huge
// dataset, then compiles the rest each time).
var (
	regexCache  sync.Map // pattern -> regexResult
	regexCached atomic.Int64
)

const maxCachedRegexes = 4096

type regexResult struct {
	re  *regexp.Regexp
	err error
}

func compileRegex(pattern string) (*regexp.Regexp, error) {
	if v, ok := regexCache.Load(pattern); ok {
		r := v.(regexResult)
		return r.re, r.err
	}
	re, err := regexp.Compile(pattern)
	if regexCached.Add(1) <= maxCachedRegexes {
		regexCache.Store(pattern, regexResult{re, err})
	}
	return re, err
}
