package scrape

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// point is one kept value of one scrape.
type point struct {
	metric, series string
	labels         map[string]string
	value          float64
}

// key identifies a point's series: its metric and labels.
func (p point) key() string {
	var b strings.Builder
	b.WriteString(p.metric)
	for _, k := range slices.Sorted(maps.Keys(p.labels)) {
		b.WriteString("\x00" + k + "=" + p.labels[k])
	}
	return b.String()
}

// filter keeps the lines of a text exposition that belong to a known
// metric: its samples and its # HELP and # TYPE lines. A server exposes
// hundreds of series (histogram buckets above all); only the few known
// ones are parsed.
func filter(body []byte) []byte {
	var out bytes.Buffer
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		if _, ok := known[string(lineMetric(line))]; ok {
			out.Write(line)
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}

// lineMetric is the metric a line of the text format is about: the name
// of a sample, or of a # HELP or # TYPE line (nil for anything else).
func lineMetric(line []byte) []byte {
	line = bytes.TrimLeft(line, " \t")
	if len(line) > 0 && line[0] == '#' {
		f := bytes.Fields(line[1:])
		if len(f) >= 2 && (string(f[0]) == "HELP" || string(f[0]) == "TYPE") {
			return f[1]
		}
		return nil
	}
	if i := bytes.IndexAny(line, "{ \t"); i >= 0 {
		return line[:i]
	}
	return nil
}

// parse reads the filtered exposition into points, sorted by metric and
// labels.
func parse(filtered []byte) ([]point, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(filtered))
	if err != nil {
		return nil, fmt.Errorf("the response is not in the Prometheus text format: %w", err)
	}
	var out []point
	for name, fam := range fams {
		series, ok := known[name]
		if !ok {
			continue
		}
		for _, m := range fam.GetMetric() {
			v, ok := value(fam.GetType(), m)
			if !ok {
				continue
			}
			pt := point{metric: name, series: series, value: v}
			for _, l := range m.GetLabel() {
				if pt.labels == nil {
					pt.labels = map[string]string{}
				}
				pt.labels[l.GetName()] = l.GetValue()
			}
			out = append(out, pt)
		}
	}
	slices.SortFunc(out, func(a, b point) int { return cmp.Compare(a.key(), b.key()) })
	return out, nil
}

// value is a gauge's, counter's or untyped metric's value.
func value(t dto.MetricType, m *dto.Metric) (float64, bool) {
	switch t {
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue(), m.Gauge != nil
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue(), m.Counter != nil
	case dto.MetricType_UNTYPED:
		return m.GetUntyped().GetValue(), m.Untyped != nil
	}
	return 0, false
}
