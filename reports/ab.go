package reports

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/needlestorm/needlestorm/probes"
)

// ABSignificance is the p-value below which an A/B difference names the
// better target.
const ABSignificance = 0.05

// maxABShown is how many disagreements summary.md lists per pair
// (summary.json lists every one).
const maxABShown = 100

// ABPair compares two targets on the dataset cases both answered. A
// target's verdict on a case is the majority of its (non-warm-up)
// answers to it: right when more than half were right. Its answer to a
// case is its most frequent normalised answer.
type ABPair struct {
	A string `json:"a"`
	B string `json:"b"`
	// Cases is the number of scored cases both answered; CorrectA and
	// CorrectB how many each got right, AccuracyA and AccuracyB the shares.
	Cases     int     `json:"cases"`
	CorrectA  int     `json:"correct_a"`
	CorrectB  int     `json:"correct_b"`
	AccuracyA float64 `json:"accuracy_a"`
	AccuracyB float64 `json:"accuracy_b"`
	// OnlyA are the cases A got right and B wrong, OnlyB the reverse: the
	// discordant pairs.
	OnlyA int `json:"only_a"`
	OnlyB int `json:"only_b"`
	// Difference is AccuracyA - AccuracyB on the paired cases; PValue the
	// exact McNemar test of it (two-sided binomial test of OnlyA against
	// OnlyA + OnlyB at one half; 1 with no discordant pair).
	Difference float64 `json:"difference"`
	PValue     float64 `json:"p_value"`
	// Better names the better target when PValue < ABSignificance, and is
	// empty otherwise.
	Better string `json:"better,omitempty"`
	// Disagreements are the scored cases one got right and the other
	// wrong, in case order, with both answers.
	Disagreements []ABCase `json:"disagreements"`
	// OpenCases is the number of open-ended cases both answered, Agreement
	// the share whose normalised answers were the same; OpenDiffer lists
	// those that differ.
	OpenCases  int      `json:"open_cases"`
	Agreement  float64  `json:"agreement"`
	OpenDiffer []ABCase `json:"open_differ,omitempty"`
	// OutputTokensA and B are each target's mean answer length in tokens
	// on the open-ended cases; E2EA and E2EB their median latency there.
	OutputTokensA float64 `json:"output_tokens_a"`
	OutputTokensB float64 `json:"output_tokens_b"`
	E2EA          float64 `json:"e2e_p50_a"`
	E2EB          float64 `json:"e2e_p50_b"`
}

// ABCase is one case two targets answered differently.
type ABCase struct {
	CaseID   string `json:"case_id"`
	TaskType string `json:"task_type"`
	// RightA and RightB are each one's verdict (false for open cases).
	RightA  bool   `json:"right_a"`
	RightB  bool   `json:"right_b"`
	AnswerA string `json:"answer_a"`
	AnswerB string `json:"answer_b"`
}

// McNemarExact is the two-sided exact McNemar p-value for b and c
// discordant pairs: twice the binomial(b+c, 1/2) probability of a count at
// most min(b, c), capped at 1.
func McNemarExact(b, c int) float64 {
	n := b + c
	if n == 0 {
		return 1
	}
	k := min(b, c)
	p := 2 * distuv.Binomial{N: float64(n), P: 0.5}.CDF(float64(k))
	return math.Min(1, p)
}

// caseView is one target's answers to one dataset case.
type caseView struct {
	taskType string
	open     bool
	right    int
	answers  int
	modal    string
	shown    string       // the answer text behind modal, as given
	texts    []answerText // distinct normalised answers, in order first given
	outToks  int
	e2e      []float64
}

// answerText is one distinct answer of a target to a case.
type answerText struct {
	norm, shown string
	correct     bool
	n           int
}

// verdict is the target's verdict on the case: right when more than half
// of its answers were.
func (v *caseView) verdict() bool { return 2*v.right > v.answers }

// abPairs compares every pair of targets (in name order) that answered
// dataset cases in common.
func abPairs(recs []scored, targets []string) []ABPair {
	views := map[string]map[string]*caseView{}
	order := map[string]int{}
	for i := range recs {
		sc := &recs[i]
		r := sc.rec
		if r.Warmup || r.TaskType == "" {
			continue
		}
		if _, ok := order[r.CaseID]; !ok {
			order[r.CaseID] = len(order)
		}
		if views[r.Target] == nil {
			views[r.Target] = map[string]*caseView{}
		}
		v := views[r.Target][r.CaseID]
		if v == nil {
			v = &caseView{taskType: r.TaskType, open: r.Open()}
			views[r.Target][r.CaseID] = v
		}
		v.answers++
		if sc.a.Correct {
			v.right++
		}
		v.outToks += r.OutputTokens
		if r.ErrorClass == "" && r.E2E > 0 {
			v.e2e = append(v.e2e, r.E2E.Duration().Seconds())
		}
		n, shown := probes.Normalize(r.Answer), clip(r.Answer, maxAnswerShown)
		if r.ErrorClass != "" {
			n, shown = "("+r.ErrorClass+")", "("+r.ErrorClass+")"
		}
		i := slices.IndexFunc(v.texts, func(t answerText) bool { return t.norm == n && t.correct == sc.a.Correct })
		if i < 0 {
			i = len(v.texts)
			v.texts = append(v.texts, answerText{norm: n, shown: shown, correct: sc.a.Correct})
		}
		v.texts[i].n++
	}
	// The answer shown is the most frequent one (the first given among
	// equals) of those that agree with the verdict on the case, so a case
	// judged wrong shows a wrong answer; an open case's is the most
	// frequent of all.
	for _, vs := range views {
		for _, v := range vs {
			best := -1
			for _, t := range v.texts {
				if !v.open && t.correct != v.verdict() {
					continue
				}
				if t.n > best {
					best, v.modal, v.shown = t.n, t.norm, t.shown
				}
			}
		}
	}
	var out []ABPair
	for i, a := range targets {
		for _, b := range targets[i+1:] {
			if p, ok := abPair(a, b, views[a], views[b], order); ok {
				out = append(out, p)
			}
		}
	}
	return out
}

func abPair(a, b string, va, vb map[string]*caseView, order map[string]int) (ABPair, bool) {
	var ids []string
	for id := range va {
		if vb[id] != nil {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return ABPair{}, false
	}
	slices.SortFunc(ids, func(x, y string) int { return cmp.Compare(order[x], order[y]) })
	p := ABPair{A: a, B: b, Disagreements: []ABCase{}}
	var e2eA, e2eB []float64
	toksA, toksB := 0, 0
	answersA, answersB := 0, 0
	for _, id := range ids {
		x, y := va[id], vb[id]
		if x.open || y.open {
			p.OpenCases++
			if x.modal == y.modal {
				p.Agreement++
			} else {
				p.OpenDiffer = append(p.OpenDiffer, ABCase{CaseID: id, TaskType: x.taskType, AnswerA: x.shown, AnswerB: y.shown})
			}
			toksA, toksB = toksA+x.outToks, toksB+y.outToks
			answersA, answersB = answersA+x.answers, answersB+y.answers
			e2eA, e2eB = append(e2eA, x.e2e...), append(e2eB, y.e2e...)
			continue
		}
		p.Cases++
		ra, rb := x.verdict(), y.verdict()
		if ra {
			p.CorrectA++
		}
		if rb {
			p.CorrectB++
		}
		if ra != rb {
			if ra {
				p.OnlyA++
			} else {
				p.OnlyB++
			}
			p.Disagreements = append(p.Disagreements, ABCase{CaseID: id, TaskType: x.taskType, RightA: ra, RightB: rb, AnswerA: x.shown, AnswerB: y.shown})
		}
	}
	if p.Cases > 0 {
		p.AccuracyA = float64(p.CorrectA) / float64(p.Cases)
		p.AccuracyB = float64(p.CorrectB) / float64(p.Cases)
		p.Difference = p.AccuracyA - p.AccuracyB
	}
	p.PValue = McNemarExact(p.OnlyA, p.OnlyB)
	if p.PValue < ABSignificance {
		p.Better = a
		if p.OnlyB > p.OnlyA {
			p.Better = b
		}
	}
	if p.OpenCases > 0 {
		p.Agreement /= float64(p.OpenCases)
		p.OutputTokensA = float64(toksA) / float64(max(answersA, 1))
		p.OutputTokensB = float64(toksB) / float64(max(answersB, 1))
		p.E2EA, p.E2EB = median(e2eA), median(e2eB)
	}
	return p, true
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ABSentence says in one line what a pair's comparison found.
func (p ABPair) ABSentence() string {
	if p.Cases == 0 {
		return fmt.Sprintf("%s and %s share no scored case.", p.A, p.B)
	}
	diff := fmt.Sprintf("%s %s vs %s %s on %d paired cases (difference %+.1f points, exact McNemar p = %.3g, %d vs %d discordant)",
		p.A, formatShare(p.AccuracyA), p.B, formatShare(p.AccuracyB), p.Cases, 100*p.Difference, p.PValue, p.OnlyA, p.OnlyB)
	if p.Better != "" {
		return diff + ": " + p.Better + " is better."
	}
	return diff + ": no significant difference at p < 0.05."
}

// ABRule says how a pair's figures are counted (summary.md and
// report.html print it under the A/B heading).
const ABRule = "A target's verdict on a case is the majority of its answers to it (right when more than half were right), so these accuracies are over cases, not requests; the answer shown is its most frequent answer that agrees with the verdict. Padded versions of a case count as cases of their own."

// ABRule is the package's ABRule, for report.html's template.
func (*Summary) ABRule() string { return ABRule }

// writeABMarkdown writes the A/B section of summary.md.
func writeABMarkdown(b *strings.Builder, s *Summary) {
	if len(s.AB) == 0 {
		return
	}
	b.WriteString("\n## A/B on the same cases\n\n" + md(ABRule) + "\n")
	for _, p := range s.AB {
		fmt.Fprintf(b, "\n### %s vs %s\n\n%s\n", md(p.A), md(p.B), md(p.ABSentence()))
		if p.OpenCases > 0 {
			fmt.Fprintf(b, "\nOpen-ended cases: %d, answers agree on %s; mean answer %.0f vs %.0f tokens, median e2e %s vs %s.\n",
				p.OpenCases, formatShare(p.Agreement), p.OutputTokensA, p.OutputTokensB, formatSeconds(p.E2EA), formatSeconds(p.E2EB))
		}
		if len(p.Disagreements) == 0 {
			continue
		}
		fmt.Fprintf(b, "\n| case | task type | %s | %s |\n| --- | --- | --- | --- |\n", md(p.A), md(p.B))
		for i, d := range p.Disagreements {
			if i == maxABShown {
				fmt.Fprintf(b, "\n%d more in summary.json.\n", len(p.Disagreements)-maxABShown)
				break
			}
			fmt.Fprintf(b, "| %s | %s | %s %s | %s %s |\n", md(d.CaseID), md(d.TaskType), rightMark(d.RightA), md(d.AnswerA), rightMark(d.RightB), md(d.AnswerB))
		}
	}
}

func rightMark(ok bool) string {
	if ok {
		return "right:"
	}
	return "wrong:"
}
