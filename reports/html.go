package reports

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
)

//go:embed report.html.tmpl
var reportTemplateText string

// datasetTemplateText renders the task types and A/B sections.
//
//go:embed dataset.html.tmpl
var datasetTemplateText string

// maxWrongShown is how many wrong answers per target report.html quotes.
const maxWrongShown = 25

// maxAnswerShown is how many bytes of an answer report.html quotes.
const maxAnswerShown = 400

type htmlTarget struct {
	T          TargetSummary
	E          EnvelopeTarget
	Charts     []Chart
	Points     []Point
	Wrong      []wrongAnswer
	WrongTotal int
	Truncation string
}

type wrongAnswer struct {
	CaseID      string
	StageLabel  string
	Length      int
	Depth       float64
	Expected    string
	Answer      string
	Attribution string
	Cut         string
	Reason      string
}

type htmlView struct {
	S       *Summary
	Targets []htmlTarget
	Order   []string
	// Multi is set for two or more targets: the report then compares them.
	Multi          bool
	Compare        []comparisonRow
	CompareLengths []int
	CompareCharts  []Chart
}

func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"f2":      func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) },
		"f3":      func(f float64) string { return strconv.FormatFloat(f, 'g', 3, 64) },
		"num":     func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) },
		"rate":    formatRate,
		"maxrate": formatMaxRate,
		"q":       formatQuantile,
		"cost":    formatCost,
		"length":  formatLength,
		"counts":  func(m map[string]int) string { return formatCounts(m, attributionOrder()) },
		"join":    strings.Join,
		"count":   func(m map[string]int, k string) int { return m[k] },
		"flen":    formatLengthShort,
		"share":   formatShare,
		"cached":  formatCachedShare,
		// the task types' padded lengths (tasktype_pad.go)
		"hasPads":  hasPads,
		"padlen":   padLengthText,
		"paddepth": padDepthText,
		"money": func(v *float64, currency string) string {
			if v == nil {
				return "-"
			}
			return formatMoney(*v, currency)
		},
		"per1k":  per1k,
		"misses": missHTML,
		"tasks":  tasksHTML,
		"percorrect": func(c *Cost) *float64 {
			if c == nil {
				return nil
			}
			return c.PerCorrect
		},
		"total": func(c *Cost) *float64 {
			if c == nil {
				return nil
			}
			return &c.Total
		},
		"perrequest": func(c *Cost) *float64 {
			if c == nil {
				return nil
			}
			return &c.PerRequest
		},
		"currency": func(c *Cost) string {
			if c == nil {
				return ""
			}
			return c.Currency
		},
	}
}

// WriteHTML writes report.html: one self-contained page (inline CSS, a small
// inline script, charts as inline SVG) that makes no network request. Every
// string that came from a response, a model, a target or a file is escaped
// by html/template.
func WriteHTML(w io.Writer, s *Summary) error {
	tmpl, err := template.New("report").Funcs(templateFuncs()).Funcs(stageFuncs()).Funcs(serverMetricsFuncs()).Parse(reportTemplateText)
	if err == nil {
		_, err = tmpl.New("datasets").Parse(datasetTemplateText)
	}
	if err != nil {
		return fmt.Errorf("report template: %w", err)
	}
	v := htmlView{S: s, Order: attributionOrder(), Multi: len(s.Targets) > 1}
	if v.Multi {
		v.Compare, v.CompareLengths, v.CompareCharts = comparisonRows(s), s.ComparisonLengths(), comparisonCharts(s)
		if len(s.Points) == 0 && len(s.TaskTypes) > 0 {
			datasetOnlyNotes(v.CompareCharts)
		}
	}
	for i, ts := range s.Targets {
		ht := htmlTarget{T: ts, E: s.Envelope.Targets[i], Charts: targetCharts(s, ts.Target), Points: targetPoints(s, ts.Target), Truncation: joinSentences(canceledSentence(ts), truncationSentence(ts))}
		if len(ht.Points) == 0 && len(s.TaskTypes) > 0 {
			datasetOnlyNotes(ht.Charts)
		}
		for _, sc := range s.records {
			r := sc.rec
			if r.Target != ts.Target || r.Warmup || sc.a.Correct || r.Open() {
				continue
			}
			ht.WrongTotal++
			if len(ht.Wrong) >= maxWrongShown {
				continue
			}
			ht.Wrong = append(ht.Wrong, wrongAnswer{
				CaseID: r.CaseID, StageLabel: r.StageLabel, Length: r.Length, Depth: r.Depth,
				Expected: strings.Join(r.Expected, ", "), Answer: clip(r.Answer, maxAnswerShown),
				Attribution: sc.a.Attribution, Cut: sc.a.Cut, Reason: sc.a.Reason,
			})
		}
		v.Targets = append(v.Targets, ht)
	}
	if err := tmpl.Execute(w, v); err != nil {
		return fmt.Errorf("writing report.html: %w", err)
	}
	return nil
}

// clip shortens s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + " [...]"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// joinSentences joins the non-empty sentences with ". ".
func joinSentences(ss ...string) string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, ". ")
}

// datasetOnlyNoChart is the note of a needle chart left empty because
// every request measured was a case of the user's dataset.
const datasetOnlyNoChart = "no needle requests to draw: every case measured was from your dataset (see Task types)"

// datasetOnlyNotes gives the needle charts without a plot the dataset
// note, in place of one (such as "no time to first token was observed")
// that a dataset-only run would make wrong.
func datasetOnlyNotes(cs []Chart) {
	for i := range cs {
		if cs[i].SVG == "" {
			cs[i].Note = datasetOnlyNoChart
		}
	}
}
