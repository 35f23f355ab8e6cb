package probes

import (
	"fmt"
	"strings"

	"github.com/needlestorm/needlestorm/corpus"
)

// Error classes probes tells apart. They are the strings loadgen writes in a
// record's error_class (loadgen imports probes, not the other way round).
const (
	errContextOverflow = "context_overflow"
)

// Cut ends: which part of a prompt a server dropped.
const (
	CutNone    = ""
	CutHead    = "head"
	CutTail    = "tail"
	CutBoth    = "both"
	CutUnknown = "unknown"
)

// Tolerance defaults: a server's prompt count may fall short of the client's
// (net of the template overhead) by this much before the prompt counts as
// truncated. Tokenizers differ between client and server, so the tolerance
// grows with the prompt.
const (
	DefaultToleranceTokens   = 16
	DefaultToleranceFraction = 0.05
)

// Calibration is what is known about a target's token accounting.
type Calibration struct {
	// Overhead is the target's chat-template overhead in tokens: how many
	// more prompt tokens the server counts than the client sends, measured
	// on prompts short enough not to be truncated (see MeasureOverhead).
	Overhead int
	// OverheadKnown is false until Overhead has been measured; truncation
	// is then judged with an overhead of 0 (which under-reports it) and
	// from canaries.
	OverheadKnown bool
	// Tolerance is the shortfall in tokens allowed before a prompt counts
	// as truncated; 0 means DefaultTolerance of the client count.
	Tolerance int
	// CutEnd is the end this target is known to drop (CutHead or CutTail),
	// learned from the canaries of its other truncated prompts; it names
	// the cut end of a truncated prompt whose own answer does not. Empty
	// when unknown.
	CutEnd string
}

// DefaultTolerance is the truncation tolerance for a prompt of client tokens:
// the larger of DefaultToleranceTokens and DefaultToleranceFraction of it.
func DefaultTolerance(client int) int {
	t := int(float64(client)*DefaultToleranceFraction + 0.5)
	return max(t, DefaultToleranceTokens)
}

// Observation is everything attribution needs to know about one request.
type Observation struct {
	// Expected are the values a correct answer contains.
	Expected []string
	// CanaryHead and CanaryTail are the expected canary values; empty when
	// the Case had none.
	CanaryHead, CanaryTail string
	// NeedleTokenIndex is where the needle starts, in client tokens, over
	// all of the prompt's message contents in order: the system content,
	// then the user content (corpus.Case.NeedleTokenIndex). It counts the
	// same contents as PromptTokensClient; the chat template's own tokens,
	// which the server adds around them, are in neither.
	NeedleTokenIndex int
	// Matchers, when set, decide instead of Expected (a case of the user's
	// own dataset; see ScoreMatchers). Open marks a dataset case with no
	// expected answer: it is not scored, and a successful answer to it is
	// AttrUnscored.
	Matchers []corpus.Matcher
	Open     bool
	// Task is the Case's task; corpus.TaskCWE caps how many candidate
	// words an answer may list (see capCWE).
	Task string

	// ResponseFacts are what the target observed: the answer, finish
	// reason, error, status, token counts and the calibration.
	ResponseFacts
}

// Assessment is the full judgement of one answer: the Verdict, and for a
// truncated prompt which end was cut and by how much.
type Assessment struct {
	Verdict
	// Cut is which end of the prompt the server dropped (CutHead, CutTail,
	// CutBoth, CutUnknown), or CutNone when no truncation was seen.
	Cut string
	// Shortfall is how many tokens the server counted fewer than the client
	// sent, net of the template overhead; 0 when not short.
	Shortfall int
	// NeedleLost is true when the truncation evidence places the needle in
	// the dropped part: the model never saw it.
	NeedleLost bool
	// Reason explains a failure in words.
	Reason string
}

// Assess scores and attributes one answer. A correct answer (every expected
// value present) is AttrCorrect. A wrong one is, in order of precedence:
//
//   - AttrRejected: the server refused the length (error class
//     context_overflow, a 413, or a 400 whose message speaks of the context
//     or the length);
//   - AttrError: any other failed request;
//   - AttrServerTruncated: the server counted fewer prompt tokens than the
//     client sent, net of the template overhead, beyond the tolerance;
//   - AttrCutOff: the answer stopped at the output limit (finish reason
//     "length" or "max_tokens");
//   - AttrServerTruncated: a head or tail canary is missing from an answer
//     that shows the model read the prompt (it holds the other canary or an
//     expected value), unless the server's token count shows it saw the
//     whole prompt; the canaries' values are asked for, so the missing one
//     names the end that was cut;
//   - AttrRefused: the model declined (see IsRefusal);
//   - AttrModelMissed: the model saw the whole prompt and got it wrong.
//
// With Matchers the answer is scored by them; an Open case's answer that
// none of the above explains is AttrUnscored rather than AttrModelMissed.
func Assess(o Observation) Assessment {
	m := MatchAnswer(o.Expected, o.Answer)
	if o.Task == corpus.TaskCWE {
		m = capCWE(m, o.Expected, o.Answer)
	}
	if len(o.Matchers) > 0 {
		m = ScoreMatchers(o.Matchers, o.Answer)
	} else if o.Open {
		m = Match{Null: m.Null}
	}
	a := Assessment{Verdict: Verdict{Correct: m.Strict, Recall: m.Recall, Any: m.Any, Null: m.Null}}

	// Truncation evidence is gathered for correct answers too, so that a
	// report can say how often truncation did not matter.
	a.Shortfall = shortfall(o)
	tol := o.Calibration.Tolerance
	if tol <= 0 {
		tol = DefaultTolerance(o.PromptTokensClient)
	}
	tokenCut := a.Shortfall > tol
	// When the server's count matches what was sent (net of a measured
	// overhead), it saw the whole prompt: a missing canary is then the
	// model's miss, not evidence of a cut.
	countsIntact := o.Calibration.OverheadKnown && o.PromptTokensServer > 0 && o.PromptTokensClient > 0 && a.Shortfall == 0
	headLost, tailLost := false, false
	if !countsIntact {
		headLost, tailLost = canariesLost(o, m)
	}

	if m.Strict {
		a.Attribution = AttrCorrect
		a.Cut = cutEnd(tokenCut || headLost || tailLost, headLost, tailLost)
		return a
	}
	switch {
	case isRejection(o):
		a.Attribution = AttrRejected
		a.Reason = fmt.Sprintf("the server refused the prompt of %d tokens (%s)", o.PromptTokensClient, describeError(o))
	case o.ErrorClass != "":
		a.Attribution = AttrError
		a.Reason = "request failed: " + describeError(o)
	case tokenCut:
		a.Attribution = AttrServerTruncated
		a.Cut = cutEnd(true, headLost, tailLost)
		if a.Cut == CutUnknown && (o.Calibration.CutEnd == CutHead || o.Calibration.CutEnd == CutTail) {
			a.Cut = o.Calibration.CutEnd
		}
		a.NeedleLost = needleLost(o, a.Cut, a.Shortfall, overheadOf(o))
		a.Reason = fmt.Sprintf("the server counted %d prompt tokens, %d fewer than the %d sent plus %d of template overhead",
			o.PromptTokensServer, a.Shortfall, o.PromptTokensClient, o.Calibration.Overhead)
	case isCutOff(o.FinishReason):
		a.Attribution = AttrCutOff
		a.Reason = fmt.Sprintf("the answer stopped at the output limit (finish_reason %q)", o.FinishReason)
	case headLost || tailLost:
		a.Attribution = AttrServerTruncated
		a.Cut = cutEnd(true, headLost, tailLost)
		a.NeedleLost = needleLost(o, a.Cut, a.Shortfall, overheadOf(o))
		a.Reason = "the answer lacks the " + canaryWords(headLost, tailLost) + ", so the server dropped that end of the prompt"
	case IsRefusal(o.Answer):
		a.Attribution = AttrRefused
		a.Reason = "the model declined to answer"
	case o.Open:
		a.Attribution = AttrUnscored
		a.Reason = "an open-ended prompt: no expected answer to score against"
	default:
		a.Attribution = AttrModelMissed
		switch {
		case m.Null:
			a.Reason = "empty answer"
		case m.Any:
			a.Reason = fmt.Sprintf("partial answer (recall %.2f)", m.Recall)
		default:
			a.Reason = "the model saw the whole prompt and did not give the expected value"
		}
	}
	return a
}

// shortfall is client + overhead - server, or 0 when the server sent no
// count or counted at least as many.
func shortfall(o Observation) int {
	if o.PromptTokensServer <= 0 || o.PromptTokensClient <= 0 {
		return 0
	}
	return max(o.PromptTokensClient+overheadOf(o)-o.PromptTokensServer, 0)
}

// overheadOf is the measured template overhead, or 0 while it is unknown
// (the shortfall then leaves it out, and so under-counts the cut by it).
func overheadOf(o Observation) int {
	if o.Calibration.OverheadKnown {
		return max(o.Calibration.Overhead, 0)
	}
	return 0
}

// canariesLost says which canaries an answer lacks, counting a loss only
// when the answer shows the model read the prompt: it holds an expected
// value or the other canary. An empty or evasive answer proves nothing.
func canariesLost(o Observation, m Match) (head, tail bool) {
	if m.Null || (o.CanaryHead == "" && o.CanaryTail == "") {
		return false, false
	}
	hasHead := o.CanaryHead != "" && Contains(o.Answer, o.CanaryHead)
	hasTail := o.CanaryTail != "" && Contains(o.Answer, o.CanaryTail)
	head = o.CanaryHead != "" && !hasHead && (m.Any || hasTail)
	tail = o.CanaryTail != "" && !hasTail && (m.Any || hasHead)
	return head, tail
}

func cutEnd(cut, head, tail bool) string {
	switch {
	case !cut:
		return CutNone
	case head && tail:
		return CutBoth
	case head:
		return CutHead
	case tail:
		return CutTail
	}
	return CutUnknown
}

// needleLost says whether a cut of shortfall tokens from the given end took
// the needle with it. With the end unknown it cannot tell and says no.
//
// The needle's index and the client's count cover the message contents
// only (system, then user). The server's count, and so the shortfall, also
// covers the chat template's overhead tokens, some before the contents
// (role headers) and some after (the assistant's header), in a split no
// count reveals. A server that truncates the templated prompt drops the
// template's leading (or trailing) tokens before any content; one that
// truncates the contents alone (as the simulator does) drops content
// only. The needle is said to be lost only when it lies in the dropped
// part however the overhead is split:
//
//   - cut from the head: index < shortfall - overhead (at most overhead of
//     the dropped tokens were the template's, so at least shortfall -
//     overhead content tokens went);
//   - cut from the tail: index >= client - shortfall + overhead.
//
// A needle within the overhead of the cut's edge is a close call and is
// not claimed: the record still says server_truncated, only not that the
// needle was certainly dropped. overhead is 0 while it is unknown, when
// the shortfall already leaves it out.
func needleLost(o Observation, cut string, shortfall, overhead int) bool {
	if shortfall <= 0 {
		return false
	}
	switch cut {
	case CutHead:
		return o.NeedleTokenIndex < shortfall-overhead
	case CutTail:
		return o.PromptTokensClient > 0 && o.NeedleTokenIndex >= o.PromptTokensClient-shortfall+overhead
	}
	return false
}

func canaryWords(head, tail bool) string {
	switch {
	case head && tail:
		return "head and tail canaries"
	case head:
		return "head canary"
	}
	return "tail canary"
}

func isCutOff(finish string) bool {
	switch strings.ToLower(finish) {
	case "length", "max_tokens", "model_length":
		return true
	}
	return false
}

// isRejection reports whether the server refused the prompt's length.
func isRejection(o Observation) bool {
	if o.ErrorClass == errContextOverflow || o.Status == 413 {
		return true
	}
	if o.Status != 400 {
		return false
	}
	msg := strings.ToLower(o.Error)
	for _, p := range []string{"context", "too long", "too many tokens", "maximum", "exceeds", "num_ctx", "length"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func describeError(o Observation) string {
	var parts []string
	if o.ErrorClass != "" {
		parts = append(parts, o.ErrorClass)
	}
	if o.Status != 0 {
		parts = append(parts, fmt.Sprintf("HTTP %d", o.Status))
	}
	if len(parts) == 0 {
		return "no detail"
	}
	return strings.Join(parts, ", ")
}
