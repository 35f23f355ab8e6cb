package reports

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"slices"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/needlestorm/needlestorm/corpus"
	"github.com/needlestorm/needlestorm/probes"
)

// Chart is one rendered chart: inline SVG markup, or a note saying why
// there is none.
type Chart struct {
	Kind  string
	Title string
	// SVG is gonum/plot's SVG output with its XML prolog removed. gonum
	// escapes every text it draws, so it is safe to embed.
	SVG  template.HTML
	Note string
}

// Chart kinds, one of each per target.
const (
	ChartHeatmap     = "accuracy-heatmap"
	ChartTTFT        = "ttft-vs-rate"
	ChartAccuracy    = "accuracy-vs-rate"
	ChartEnvelope    = "envelope-map"
	ChartOverTime    = "latency-over-time"
	ChartAttribution = "attribution"
)

const (
	chartW = 15 * vg.Centimeter
	chartH = 9 * vg.Centimeter
)

// targetCharts renders every chart of one target.
func targetCharts(s *Summary, target string) []Chart {
	builders := []struct {
		kind, title string
		build       func(*Summary, string) (*plot.Plot, string)
	}{
		{ChartHeatmap, "Accuracy by length and depth (lightest load per length)", heatmapPlot},
		{ChartTTFT, "Time to first token against achieved rate", ttftPlot},
		{ChartAccuracy, "Accuracy against achieved rate", accuracyPlot},
		{ChartEnvelope, "Envelope: which (length, rate) held every objective", envelopePlot},
		{ChartOverTime, "Latency over the run", overTimePlot},
		{ChartAttribution, "Why answers were wrong, by length", attributionPlot},
	}
	var out []Chart
	for _, b := range builders {
		p, note := b.build(s, target)
		out = append(out, chartOf(b.kind, b.title, p, note))
	}
	return out
}

// chartOf renders p, or keeps note when there is no plot.
func chartOf(kind, title string, p *plot.Plot, note string) Chart {
	c := Chart{Kind: kind, Title: title}
	if p == nil {
		c.Note = note
	} else if svg, err := renderSVG(p); err != nil {
		c.Note = "could not draw this chart: " + err.Error()
	} else {
		c.SVG = svg
	}
	return c
}

// renderSVG renders p as SVG and strips the XML prolog and comment so the
// markup can sit inline in HTML. The legend is drawn outside the data
// area, never over it: to the right of the plot when it is narrow, else
// below it (the chart then grows taller).
func renderSVG(p *plot.Plot) (template.HTML, error) {
	leg := p.Legend
	p.Legend = plot.NewLegend()
	size := leg.Rectangle(draw.Canvas{}).Size()
	w, h := chartW, chartH
	legendBelow := size.X > chartW*3/10
	if legendBelow {
		h += size.Y + 2*legendGap
	}
	cw, err := draw.NewFormattedCanvas(w, h, "svg")
	if err != nil {
		return "", fmt.Errorf("rendering chart: %w", err)
	}
	dc := draw.New(cw)
	if size.X > 0 {
		leg.Top, leg.Left, leg.XOffs, leg.YOffs = true, true, 0, 0
		var area vg.Rectangle
		if legendBelow {
			area = vg.Rectangle{Min: vg.Point{X: legendGap, Y: legendGap}, Max: vg.Point{X: w - legendGap, Y: legendGap + size.Y}}
			p.Draw(draw.Crop(dc, 0, 0, size.Y+2*legendGap, 0))
		} else {
			top := h - legendGap
			if p.Title.Text != "" {
				top -= p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y + p.Title.Padding
			}
			area = vg.Rectangle{Min: vg.Point{X: w - size.X - legendGap, Y: legendGap}, Max: vg.Point{X: w - legendGap, Y: top}}
			p.Draw(draw.Crop(dc, 0, -(size.X + 2*legendGap), 0, 0))
		}
		leg.Draw(draw.Canvas{Canvas: dc.Canvas, Rectangle: area})
	} else {
		p.Draw(dc)
	}
	var buf bytes.Buffer
	if _, err := cw.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("rendering chart: %w", err)
	}
	b := buf.Bytes()
	i := bytes.Index(b, []byte("<svg"))
	if i < 0 {
		return "", fmt.Errorf("rendering chart: no <svg> element in the output")
	}
	return template.HTML(b[i:]), nil // #nosec: gonum escapes all text it draws
}

// legendGap is the space around a legend drawn beside or below a plot.
const legendGap = 4 * vg.Millimeter

// newPlot returns a plot in a sans-serif face (its legend is drawn outside
// the data area by renderSVG).
func newPlot(xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	sans := font.Font{Typeface: "Liberation", Variant: "Sans"}
	p.Title.TextStyle.Font = font.From(sans, 12)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, 10)
		a.Tick.Label.Font = font.From(sans, 9)
	}
	p.Legend.TextStyle.Font = font.From(sans, 9)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Add(plotter.NewGrid())
	return p
}

// targetPoints returns the target's points, sorted by length then rate.
func targetPoints(s *Summary, target string) []Point {
	var out []Point
	for _, p := range s.Points {
		if p.Target == target {
			out = append(out, p)
		}
	}
	return out
}

func lengthsOf(points []Point) []int {
	var ls []int
	for _, p := range points {
		if len(ls) == 0 || ls[len(ls)-1] != p.Length {
			ls = append(ls, p.Length)
		}
	}
	return ls
}

func categoryTicks(labels []string) plot.ConstantTicks {
	ticks := make([]plot.Tick, len(labels))
	for i, l := range labels {
		ticks[i] = plot.Tick{Value: float64(i), Label: l}
	}
	return ticks
}

// accuracyPalette runs from red (0) through amber to green (1).
type accuracyPalette struct{}

func (accuracyPalette) Colors() []color.Color {
	const n = 21
	out := make([]color.Color, n)
	for i := range n {
		f := float64(i) / (n - 1)
		var r, g float64
		if f < 0.5 {
			r, g = 1, f*2
		} else {
			r, g = (1-f)*2, 1
		}
		out[i] = color.RGBA{R: uint8(40 + 190*r), G: uint8(40 + 150*g), B: 60, A: 255}
	}
	return out
}

// heatGrid is an accuracy grid: columns are lengths, rows are depths.
type heatGrid struct {
	cols, rows int
	z          [][]float64
}

func (g heatGrid) Dims() (int, int)   { return g.cols, g.rows }
func (g heatGrid) Z(c, r int) float64 { return g.z[c][r] }
func (g heatGrid) X(c int) float64    { return float64(c) }
func (g heatGrid) Y(r int) float64    { return float64(r) }
func (g heatGrid) labelled() plotter.XYLabels {
	var l plotter.XYLabels
	for c := range g.cols {
		for r := range g.rows {
			if v := g.z[c][r]; !math.IsNaN(v) {
				l.XYs = append(l.XYs, plotter.XY{X: float64(c), Y: float64(r)})
				l.Labels = append(l.Labels, strconv.FormatFloat(v, 'f', 2, 64))
			}
		}
	}
	return l
}

// heatmapPlot is a target's accuracy by length and depth, one cell each,
// labelled with its value; a note instead when nothing was measured.
func heatmapPlot(s *Summary, target string) (*plot.Plot, string) {
	g, lengths, depths := accuracyGrid(s, target)
	if len(lengths) == 0 {
		return nil, "no measurements"
	}
	p := newPlot("prompt length (tokens)", "needle depth (%)")
	hm := plotter.NewHeatMap(g, accuracyPalette{})
	hm.Min, hm.Max = 0, 1
	hm.NaN = color.RGBA{R: 220, G: 220, B: 220, A: 255}
	p.Add(hm)
	if labels, err := plotter.NewLabels(g.labelled()); err == nil {
		for i := range labels.TextStyle {
			labels.TextStyle[i].XAlign = draw.XCenter
			labels.TextStyle[i].YAlign = draw.YCenter
			labels.TextStyle[i].Font = font.From(font.Font{Typeface: "Liberation", Variant: "Sans"}, 8)
		}
		p.Add(labels)
	}
	ls := make([]string, len(lengths))
	for i, l := range lengths {
		ls[i] = corpus.FormatLength(l)
	}
	ds := make([]string, len(depths))
	for i, d := range depths {
		ds[i] = strconv.FormatFloat(d, 'g', -1, 64)
	}
	p.X.Tick.Marker = categoryTicks(ls)
	p.Y.Tick.Marker = categoryTicks(ds)
	p.X.Min, p.X.Max = -0.5, float64(len(lengths))-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(len(depths))-0.5
	return p, ""
}

// accuracyGrid is a target's accuracy by length (columns) and depth (rows),
// each length read at its lightest point's stage, NaN where a length was
// not tested at a depth; with the lengths and depths in increasing order.
func accuracyGrid(s *Summary, target string) (heatGrid, []int, []float64) {
	stageOf := map[int]int{}
	for _, p := range targetPoints(s, target) {
		if _, ok := stageOf[p.Length]; !ok {
			stageOf[p.Length] = p.Stage
		}
	}
	var lengths []int
	var depths []float64
	acc := map[[2]float64]float64{}
	for _, c := range s.Cells {
		if c.Target != target || stageOf[c.Length] != c.Stage {
			continue
		}
		if !slices.Contains(lengths, c.Length) {
			lengths = append(lengths, c.Length)
		}
		if !slices.Contains(depths, c.Depth) {
			depths = append(depths, c.Depth)
		}
		acc[[2]float64{float64(c.Length), c.Depth}] = c.Accuracy
	}
	slices.Sort(lengths)
	slices.Sort(depths)
	g := heatGrid{cols: len(lengths), rows: len(depths), z: make([][]float64, len(lengths))}
	for i, l := range lengths {
		g.z[i] = make([]float64, len(depths))
		for j, d := range depths {
			v, ok := acc[[2]float64{float64(l), d}]
			if !ok {
				v = math.NaN()
			}
			g.z[i][j] = v
		}
	}
	return g, lengths, depths
}

// perLengthLines adds one line per length of y(point) against the stage
// rate, with a legend entry suffix and dashes.
func perLengthLines(p *plot.Plot, points []Point, suffix string, dashes []vg.Length, y func(Point) (float64, bool)) int {
	added := 0
	for i, l := range lengthsOf(points) {
		var xys plotter.XYs
		for _, pt := range points {
			if pt.Length != l {
				continue
			}
			if v, ok := y(pt); ok {
				xys = append(xys, plotter.XY{X: pt.CompletedRate, Y: v})
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			continue
		}
		line.Color = plotutil.Color(i)
		line.Dashes = dashes
		pts.Color = plotutil.Color(i)
		pts.Shape = draw.CircleGlyph{}
		p.Add(line, pts)
		p.Legend.Add(corpus.FormatLength(l)+suffix, line)
		added++
	}
	return added
}

func ttftPlot(s *Summary, target string) (*plot.Plot, string) {
	points := targetPoints(s, target)
	p := newPlot(achievedAxis, "ttft (s)")
	n := perLengthLines(p, points, " p50", nil, func(pt Point) (float64, bool) { return pt.TTFT.P50, pt.TTFT.N > 0 })
	n += perLengthLines(p, points, " p95", []vg.Length{vg.Points(4), vg.Points(3)}, func(pt Point) (float64, bool) { return pt.TTFT.P95, pt.TTFT.N > 0 })
	if n == 0 {
		return nil, "no time to first token was observed"
	}
	addAskedLabels(p, points, func(pt Point) (float64, bool) { return pt.TTFT.P50, pt.TTFT.N > 0 })
	p.Y.Min = 0
	addObjectiveLine(p, s.Objectives, MetricTTFT, points)
	return p, ""
}

// addObjectiveLine draws the first latency objective on metric as a grey
// horizontal line.
func addObjectiveLine(p *plot.Plot, obj Objectives, metric string, points []Point) {
	for _, l := range obj.Latency {
		if l.Metric != metric || len(points) == 0 {
			continue
		}
		hline(p, l.Max, l.Name(), points)
		return
	}
}

func hline(p *plot.Plot, y float64, name string, points []Point) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, pt := range points {
		lo, hi = min(lo, pt.CompletedRate), max(hi, pt.CompletedRate)
	}
	line, err := plotter.NewLine(plotter.XYs{{X: lo, Y: y}, {X: hi, Y: y}})
	if err != nil {
		return
	}
	line.Color = color.Gray{Y: 120}
	line.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
	p.Add(line)
	p.Legend.Add(name, line)
}

func accuracyPlot(s *Summary, target string) (*plot.Plot, string) {
	points := targetPoints(s, target)
	if len(points) == 0 {
		return nil, "no measurements"
	}
	p := newPlot(achievedAxis, "accuracy")
	perLengthLines(p, points, "", nil, func(pt Point) (float64, bool) { return pt.Accuracy, true })
	addAskedLabels(p, points, func(pt Point) (float64, bool) { return pt.Accuracy, true })
	for _, et := range s.Envelope.Targets {
		if et.Target == target {
			hline(p, et.AccuracyThreshold, "threshold", points)
		}
	}
	p.Y.Min, p.Y.Max = 0, 1.05
	return p, ""
}

func envelopePlot(s *Summary, target string) (*plot.Plot, string) {
	points := targetPoints(s, target)
	lengths := lengthsOf(points)
	if len(lengths) == 0 {
		return nil, "no measurements"
	}
	var pass, fail plotter.XYs
	for _, pt := range points {
		xy := plotter.XY{X: pt.StageRate, Y: float64(slices.Index(lengths, pt.Length))}
		if pt.Pass {
			pass = append(pass, xy)
		} else {
			fail = append(fail, xy)
		}
	}
	p := newPlot("scheduled rate (requests/s)", "prompt length (tokens)")
	for _, g := range []struct {
		name  string
		xys   plotter.XYs
		color color.Color
		shape draw.GlyphDrawer
	}{
		{"pass", pass, color.RGBA{R: 40, G: 150, B: 60, A: 255}, draw.BoxGlyph{}},
		{"fail", fail, color.RGBA{R: 200, G: 40, B: 40, A: 255}, draw.CrossGlyph{}},
	} {
		if len(g.xys) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(g.xys)
		if err != nil {
			continue
		}
		sc.Color, sc.Shape, sc.Radius = g.color, g.shape, vg.Points(5)
		p.Add(sc)
		p.Legend.Add(g.name, sc)
	}
	ls := make([]string, len(lengths))
	for i, l := range lengths {
		ls[i] = corpus.FormatLength(l)
	}
	p.Y.Tick.Marker = categoryTicks(ls)
	p.Y.Min, p.Y.Max = -0.5, float64(len(lengths))-0.5
	p.X.Padding = vg.Points(10)
	return p, ""
}

// overTimeBins is the most time bins the latency-over-time chart draws.
const overTimeBins = 60

// overTimePlot is a target's ttft and e2e, p50 and p95, over the run's
// time; a note instead when nothing was measured or timed.
func overTimePlot(s *Summary, target string) (*plot.Plot, string) {
	bins, ok := latencyBinsOf(s, target)
	if !ok {
		return nil, "no measurements"
	}
	series := []struct {
		name string
		bins [][]time.Duration
		p    int
	}{{"ttft p50", bins.ttft, 50}, {"ttft p95", bins.ttft, 95}, {"e2e p50", bins.e2e, 50}, {"e2e p95", bins.e2e, 95}}
	p := newPlot("time since the first request (s)", "latency (s)")
	added := 0
	for i, se := range series {
		line := bins.line(se.bins, se.p)
		if line == nil {
			continue
		}
		line.Color = plotutil.Color(i / 2)
		if se.p == 95 {
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(line)
		p.Legend.Add(se.name, line)
		added++
	}
	if added == 0 {
		return nil, "no successful request to time"
	}
	p.Y.Min = 0
	return p, ""
}

// latencyBins are a target's successful latencies in equal bins of
// scheduled time since its first measured request.
type latencyBins struct {
	width     time.Duration
	ttft, e2e [][]time.Duration
}

// latencyBinsOf bins a target's non-warm-up records into at most
// overTimeBins bins of their scheduled time; false when it has none with a
// scheduled time.
func latencyBinsOf(s *Summary, target string) (latencyBins, bool) {
	var start, end time.Time
	for _, sc := range s.records {
		r := sc.rec
		if r.Target != target || r.Warmup || r.ScheduledAt.IsZero() {
			continue
		}
		if start.IsZero() || r.ScheduledAt.Before(start) {
			start = r.ScheduledAt
		}
		if r.ScheduledAt.After(end) {
			end = r.ScheduledAt
		}
	}
	if start.IsZero() {
		return latencyBins{}, false
	}
	span := end.Sub(start)
	lb := latencyBins{width: max(span/overTimeBins, time.Millisecond)}
	nbins := int(span/lb.width) + 1
	lb.ttft, lb.e2e = make([][]time.Duration, nbins), make([][]time.Duration, nbins)
	for _, sc := range s.records {
		r := sc.rec
		if r.Target != target || r.Warmup || r.ScheduledAt.IsZero() || r.ErrorClass != "" {
			continue
		}
		b := min(int(r.ScheduledAt.Sub(start)/lb.width), nbins-1)
		if r.TTFT > 0 {
			lb.ttft[b] = append(lb.ttft[b], r.TTFT.Duration())
		}
		if r.E2E > 0 {
			lb.e2e[b] = append(lb.e2e[b], r.E2E.Duration())
		}
	}
	return lb, true
}

// line is the p-th percentile of each non-empty bin against the bin's
// start; nil when every bin is empty.
func (lb latencyBins) line(bins [][]time.Duration, p int) *plotter.Line {
	var xys plotter.XYs
	for b, ds := range bins {
		if len(ds) == 0 {
			continue
		}
		q := quantilesOf(ds)
		xys = append(xys, plotter.XY{X: (time.Duration(b) * lb.width).Seconds(), Y: q.Get(p)})
	}
	if len(xys) == 0 {
		return nil
	}
	line, err := plotter.NewLine(xys)
	if err != nil {
		return nil
	}
	return line
}

// attributionColors gives each attribution label a fixed colour.
func attributionColor(label string) color.Color {
	switch label {
	case probes.AttrCorrect:
		return color.RGBA{R: 60, G: 160, B: 80, A: 255}
	case probes.AttrServerTruncated:
		return color.RGBA{R: 230, G: 150, B: 30, A: 255}
	case probes.AttrRejected:
		return color.RGBA{R: 150, G: 90, B: 190, A: 255}
	case probes.AttrCutOff:
		return color.RGBA{R: 90, G: 160, B: 210, A: 255}
	case probes.AttrRefused:
		return color.RGBA{R: 120, G: 120, B: 120, A: 255}
	case probes.AttrError:
		return color.RGBA{R: 40, G: 40, B: 40, A: 255}
	case probes.AttrModelMissed:
		return color.RGBA{R: 210, G: 60, B: 60, A: 255}
	}
	return color.RGBA{R: 180, G: 180, B: 180, A: 255}
}

func attributionPlot(s *Summary, target string) (*plot.Plot, string) {
	byLength := map[int]map[string]int{}
	for _, pt := range targetPoints(s, target) {
		m := byLength[pt.Length]
		if m == nil {
			m = map[string]int{}
			byLength[pt.Length] = m
		}
		for k, v := range pt.Attribution {
			m[k] += v
		}
	}
	if len(byLength) == 0 {
		return nil, "no measurements"
	}
	lengths := make([]int, 0, len(byLength))
	for l := range byLength {
		lengths = append(lengths, l)
	}
	slices.Sort(lengths)
	p := newPlot("prompt length (tokens)", "requests")
	var below *plotter.BarChart
	for _, label := range attributionOrder() {
		vals := make(plotter.Values, len(lengths))
		total := 0
		for i, l := range lengths {
			vals[i] = float64(byLength[l][label])
			total += byLength[l][label]
		}
		if total == 0 {
			continue
		}
		bar, err := plotter.NewBarChart(vals, vg.Points(min(40, 300/float64(len(lengths)))))
		if err != nil {
			continue
		}
		bar.Color = attributionColor(label)
		bar.LineStyle.Width = 0
		if below != nil {
			bar.StackOn(below)
		}
		p.Add(bar)
		p.Legend.Add(label, bar)
		below = bar
	}
	ls := make([]string, len(lengths))
	for i, l := range lengths {
		ls[i] = corpus.FormatLength(l)
	}
	p.NominalX(ls...)
	p.Y.Min = 0
	return p, ""
}
