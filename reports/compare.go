package reports

import (
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/needlestorm/needlestorm/corpus"
)

// Comparison chart kinds, one of each in a report of two or more targets.
const (
	ChartCompareAccuracy = "compare-accuracy-vs-length"
	ChartCompareTTFT     = "compare-ttft-vs-rate"
	ChartCompareEnvelope = "compare-max-rate-vs-length"
	ChartCompareCost     = "compare-cost-vs-length"
)

// targetColor is the colour of the i-th target in every comparison chart
// (Okabe and Ito's palette, told apart by most colour-blind readers; the
// glyph shape differs too).
func targetColor(i int) color.Color {
	palette := [...]color.RGBA{
		{R: 0, G: 114, B: 178, A: 255},   // blue
		{R: 213, G: 94, B: 0, A: 255},    // vermillion
		{R: 0, G: 158, B: 115, A: 255},   // bluish green
		{R: 204, G: 121, B: 167, A: 255}, // reddish purple
		{R: 230, G: 159, B: 0, A: 255},   // orange
		{R: 86, G: 180, B: 233, A: 255},  // sky blue
		{R: 0, G: 0, B: 0, A: 255},       // black
	}
	return palette[i%len(palette)]
}

func targetGlyph(i int) draw.GlyphDrawer {
	glyphs := [...]draw.GlyphDrawer{draw.CircleGlyph{}, draw.BoxGlyph{}, draw.TriangleGlyph{}, draw.PyramidGlyph{}, draw.RingGlyph{}, draw.SquareGlyph{}, draw.CrossGlyph{}}
	return glyphs[i%len(glyphs)]
}

// ComparisonLengths are every length tested on any target, ascending.
func (s *Summary) ComparisonLengths() []int {
	var ls []int
	for _, et := range s.Envelope.Targets {
		for _, el := range et.Lengths {
			if !slices.Contains(ls, el.Length) {
				ls = append(ls, el.Length)
			}
		}
	}
	slices.Sort(ls)
	return ls
}

// commonLongest is the longest length every target was tested at, or 0.
func (s *Summary) commonLongest() int {
	best := 0
	for _, l := range s.ComparisonLengths() {
		all := true
		for _, et := range s.Envelope.Targets {
			if lengthOf(et, l) == nil {
				all = false
				break
			}
		}
		if all {
			best = l
		}
	}
	return best
}

func lengthOf(et EnvelopeTarget, l int) *EnvelopeLength {
	for i := range et.Lengths {
		if et.Lengths[i].Length == l {
			return &et.Lengths[i]
		}
	}
	return nil
}

// comparisonCharts renders the overlaid charts of a report with two or
// more targets: one line per target, in the same colour in every chart.
func comparisonCharts(s *Summary) []Chart {
	if len(s.Targets) < 2 {
		return nil
	}
	lengths := s.ComparisonLengths()
	common := s.commonLongest()
	ttftTitle := "Time to first token (p95) against achieved rate"
	if common > 0 {
		ttftTitle += " at " + corpus.FormatLength(common) + ", the longest length every target was tested at"
	}
	accuracy, note := compareByLength(s, lengths, "accuracy", func(el EnvelopeLength) (float64, bool) { return el.Accuracy, true })
	out := []Chart{chartOf(ChartCompareAccuracy, "Accuracy against length (lightest load per length)", accuracy, note)}
	maxRate, note := compareByLength(s, lengths, "max rate (requests/s)", func(el EnvelopeLength) (float64, bool) {
		if el.MaxRate == nil {
			return 0, true
		}
		return *el.MaxRate, true
	})
	out = append(out, chartOf(ChartCompareEnvelope, "Envelope: highest rate that held every objective, by length (0: none held)", maxRate, note))
	p, note := compareTTFT(s, common)
	out = append(out, chartOf(ChartCompareTTFT, ttftTitle, p, note))
	if s.Spend != nil {
		label := "cost per correct answer"
		if s.Currency != "" {
			label += " (" + s.Currency + ")"
		}
		p, note := compareByLength(s, lengths, label, func(el EnvelopeLength) (float64, bool) {
			if len(el.Points) == 0 || el.Points[0].Cost == nil || el.Points[0].Cost.PerCorrect == nil {
				return 0, false
			}
			return *el.Points[0].Cost.PerCorrect, true
		})
		if p != nil {
			p.Y.Min = 0
		}
		out = append(out, chartOf(ChartCompareCost, "Cost per correct answer against length (lightest load per length; a gap where nothing was right)", p, note))
	}
	return out
}

// compareByLength draws y(length) per target over the lengths tested on any
// target, as categories.
func compareByLength(s *Summary, lengths []int, yLabel string, y func(EnvelopeLength) (float64, bool)) (*plot.Plot, string) {
	if len(lengths) == 0 {
		return nil, "no measurements"
	}
	p := newPlot("prompt length (tokens)", yLabel)
	added := 0
	for i, et := range s.Envelope.Targets {
		var xys plotter.XYs
		for _, el := range et.Lengths {
			if v, ok := y(el); ok {
				xys = append(xys, plotter.XY{X: float64(slices.Index(lengths, el.Length)), Y: v})
			}
		}
		if addTargetLine(p, i, et.Target, xys) {
			added++
		}
	}
	if added == 0 {
		return nil, "nothing to draw"
	}
	ls := make([]string, len(lengths))
	for i, l := range lengths {
		ls[i] = corpus.FormatLength(l)
	}
	p.X.Tick.Marker = categoryTicks(ls)
	p.X.Min, p.X.Max = -0.3, float64(len(lengths))-0.7
	if yLabel == "accuracy" {
		p.Y.Min, p.Y.Max = 0, 1.05
		if th, ok := commonThreshold(s.Envelope); ok {
			line, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: th}, {X: p.X.Max, Y: th}})
			if err == nil {
				line.Color = color.Gray{Y: 120}
				line.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
				p.Add(line)
				p.Legend.Add("threshold", line)
			}
		}
	} else {
		p.Y.Min = 0
	}
	return p, ""
}

// commonThreshold is the accuracy threshold when every target has the
// same one (not so with a relative objective).
func commonThreshold(env *Envelope) (float64, bool) {
	if len(env.Targets) == 0 {
		return 0, false
	}
	th := env.Targets[0].AccuracyThreshold
	for _, et := range env.Targets[1:] {
		if et.AccuracyThreshold != th {
			return 0, false
		}
	}
	return th, true
}

// compareTTFT draws ttft p95 against achieved rate per target at one
// length.
func compareTTFT(s *Summary, length int) (*plot.Plot, string) {
	if length == 0 {
		return nil, "no length was tested on every target, so there is no like-for-like latency to compare"
	}
	p := newPlot(achievedAxis, "ttft p95 (s)")
	added := 0
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, et := range s.Envelope.Targets {
		el := lengthOf(et, length)
		var xys plotter.XYs
		for _, pt := range el.Points {
			lo, hi = min(lo, pt.CompletedRate), max(hi, pt.CompletedRate)
			if pt.TTFT.N > 0 {
				xys = append(xys, plotter.XY{X: pt.CompletedRate, Y: pt.TTFT.P95})
			}
		}
		if addTargetLine(p, i, et.Target, xys) {
			added++
		}
	}
	if added == 0 {
		return nil, "no time to first token was observed at this length"
	}
	p.Y.Min = 0
	for _, l := range s.Objectives.Latency {
		if l.Metric == MetricTTFT && l.Percentile == 95 && lo <= hi {
			if line, err := plotter.NewLine(plotter.XYs{{X: lo, Y: l.Max}, {X: hi, Y: l.Max}}); err == nil {
				line.Color = color.Gray{Y: 120}
				line.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
				p.Add(line)
				p.Legend.Add(l.Name(), line)
			}
			break
		}
	}
	return p, ""
}

// addTargetLine adds one target's line and points in its colour and glyph.
func addTargetLine(p *plot.Plot, i int, name string, xys plotter.XYs) bool {
	if len(xys) == 0 {
		return false
	}
	line, pts, err := plotter.NewLinePoints(xys)
	if err != nil {
		return false
	}
	line.Color, line.Width = targetColor(i), vg.Points(1.5)
	pts.Color, pts.Shape, pts.Radius = targetColor(i), targetGlyph(i), vg.Points(3.5)
	p.Add(line, pts)
	p.Legend.Add(name, line, pts)
	return true
}

// comparisonRow is one target's row of the envelope comparison table.
type comparisonRow struct {
	E     EnvelopeTarget
	T     TargetSummary
	Color string
	Cells []comparisonCell
}

// comparisonCell is one target at one length of the comparison table.
type comparisonCell struct {
	Tested bool
	L      EnvelopeLength
}

// comparisonRows builds the envelope comparison table: a row per target, a
// group of columns per length tested on any target.
func comparisonRows(s *Summary) []comparisonRow {
	lengths := s.ComparisonLengths()
	var rows []comparisonRow
	for i, et := range s.Envelope.Targets {
		r := comparisonRow{E: et, T: s.Targets[i], Color: cssColor(targetColor(i))}
		for _, l := range lengths {
			if el := lengthOf(et, l); el != nil {
				r.Cells = append(r.Cells, comparisonCell{Tested: true, L: *el})
			} else {
				r.Cells = append(r.Cells, comparisonCell{})
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// cssColor writes a colour as #rrggbb.
func cssColor(c color.Color) string {
	r, g, b, _ := c.RGBA()
	const hex = "0123456789abcdef"
	out := []byte{'#', 0, 0, 0, 0, 0, 0}
	for i, v := range []uint32{r >> 8, g >> 8, b >> 8} {
		out[1+2*i], out[2+2*i] = hex[v>>4], hex[v&0xf]
	}
	return string(out)
}

// per1k is a cost per correct answer times 1000, or nil.
func per1k(c *Cost) *float64 {
	if c == nil || c.PerCorrect == nil {
		return nil
	}
	v := *c.PerCorrect * 1000
	return &v
}
