package reports

import (
	"bytes"
	"html/template"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/needlestorm/needlestorm/run"
)

// Server-metrics chart kinds, one of each per target with samples.
const (
	ChartServerQueue = "server-queue-depth"
	ChartServerCache = "server-kv-cache"
)

// serverMetricsCharts renders a target's queue depth and cache charts.
func serverMetricsCharts(s *Summary, target string) []Chart {
	scrapes := scrapesOf(s.serverSamples, target)
	queue, qnote := serverSeriesPlot(s, target, scrapes, "requests", []string{run.SeriesRunning, run.SeriesWaiting})
	cache, cnote := serverSeriesPlot(s, target, scrapes, "fraction (0..1)", []string{run.SeriesKVCacheUsage, run.SeriesPrefixCacheHitRate})
	return []Chart{
		chartOf(ChartServerQueue, "Server queue depth over the run (running and waiting requests, as the server reports them)", queue, qnote),
		chartOf(ChartServerCache, "Server KV-cache usage and prefix-cache hit rate over the run", cache, cnote),
	}
}

// serverSeriesPlot draws series against seconds since the target's first
// scrape, with a dashed line where each stage began, labelled with its
// asked rate.
func serverSeriesPlot(s *Summary, target string, scrapes []scrapePoint, yLabel string, series []string) (*plot.Plot, string) {
	if len(scrapes) == 0 {
		return nil, "no scrapes"
	}
	t0 := scrapes[0].at
	p := newPlot("time since the first scrape (s)", yLabel)
	added := 0
	top := 0.0
	for i, name := range series {
		var xys plotter.XYs
		for _, sc := range scrapes {
			if v, ok := sc.values[name]; ok && !sc.failed {
				xys = append(xys, plotter.XY{X: sc.at.Sub(t0).Seconds(), Y: v})
				top = max(top, v)
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			continue
		}
		line.Color = plotutil.Color(i)
		if i > 0 {
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(line)
		p.Legend.Add(name, line)
		added++
	}
	if added == 0 {
		return nil, "the server exposed none of these series"
	}
	top = max(top, 1)
	var marks plotter.XYLabels
	seen := map[int]bool{}
	for _, sc := range scrapes {
		if sc.stage < 0 || seen[sc.stage] {
			continue
		}
		seen[sc.stage] = true
		x := sc.at.Sub(t0).Seconds()
		if l, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0}, {X: x, Y: top}}); err == nil {
			l.Color = color.Gray{Y: 150}
			l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
			p.Add(l)
		}
		label := formatRate(askedRateOf(s, target, sc.stage))
		if label == "-" {
			label = sc.label
		}
		marks.XYs = append(marks.XYs, plotter.XY{X: x, Y: top})
		marks.Labels = append(marks.Labels, label)
	}
	if len(marks.XYs) > 0 {
		if labels, err := plotter.NewLabels(marks); err == nil {
			p.Add(labels)
		}
	}
	p.Y.Min = 0
	p.Y.Max = top * 1.1
	return p, ""
}

// serverMetricsTemplate is the report.html section (html/template escapes
// every name and label).
var serverMetricsTemplate = template.Must(template.New("servermetrics").Parse(`<h2 id="server-metrics">Server metrics</h2>
<p class="note">{{.Note}}</p>
<div class="scroll"><table class="stages">
<tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table></div>
{{range .Targets}}<h3>{{.Name}}</h3>
<p class="note">Series: {{range $i, $m := .Metrics}}{{if $i}}, {{end}}{{$m}}{{end}}. Dashed vertical lines mark where each stage began, labelled with its asked rate.</p>
<div class="charts">
{{range .Charts}}<figure class="chart" data-chart="{{.Kind}}"><figcaption>{{.Title}}</figcaption>{{if .SVG}}{{.SVG}}{{else}}<p class="note">{{.Note}}</p>{{end}}</figure>
{{end}}</div>
{{end}}`))

type serverMetricsView struct {
	Note    string
	Header  []string
	Rows    [][]string
	Targets []struct {
		Name    string
		Metrics []string
		Charts  []Chart
	}
}

// serverMetricsHTML is the server-metrics section of report.html (empty
// for a run without server_metrics.jsonl).
func serverMetricsHTML(s *Summary) template.HTML {
	if len(s.ServerMetrics) == 0 {
		return ""
	}
	v := serverMetricsView{Note: serverMetricsNote, Header: serverMetricsHeader}
	for _, st := range s.ServerMetrics {
		v.Rows = append(v.Rows, serverMetricsRow(st))
	}
	for _, target := range serverMetricsTargets(s.serverSamples) {
		var names []string
		for _, st := range s.ServerMetrics {
			if st.Target == target {
				names = st.Metrics
			}
		}
		v.Targets = append(v.Targets, struct {
			Name    string
			Metrics []string
			Charts  []Chart
		}{target, names, serverMetricsCharts(s, target)})
	}
	var buf bytes.Buffer
	if err := serverMetricsTemplate.Execute(&buf, v); err != nil {
		return template.HTML("<p class=\"note\">The server-metrics section could not be rendered: " + template.HTMLEscapeString(err.Error()) + "</p>")
	}
	return template.HTML(buf.String()) // #nosec: rendered by html/template
}

// serverMetricsFuncs are report.html's template functions for the section.
func serverMetricsFuncs() template.FuncMap {
	return template.FuncMap{"serverMetrics": serverMetricsHTML}
}
