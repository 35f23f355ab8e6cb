package live

import (
	"bytes"
	"strings"
)

// Family is one metric family Metrics exposes: its name, Prometheus type,
// help text and, for histograms, the upper bounds of its le buckets in
// seconds (+Inf is added).
type Family struct {
	Name, Type, Help string
	Buckets          []float64
}

// The families' names.
const (
	famSent         = "needlestorm_requests_sent_total"
	famInFlight     = "needlestorm_requests_in_flight"
	famRequests     = "needlestorm_requests_total"
	famErrors       = "needlestorm_errors_total"
	famAnswers      = "needlestorm_answers_total"
	famPromptTokens = "needlestorm_prompt_tokens_total"
	famOutputTokens = "needlestorm_output_tokens_total"
	famTTFT         = "needlestorm_ttft_seconds"
	famE2E          = "needlestorm_e2e_seconds"
	famTPOT         = "needlestorm_tpot_seconds"
	famChunkGap     = "needlestorm_chunk_gap_seconds"
)

// The histograms' buckets, chosen for LLM serving (close to vLLM's own):
//
//   - time to first token runs from tens of milliseconds (a short prompt on a
//     warm server) to minutes (the prefill of a 128k-token prompt under
//     load): 10 ms to 5 min, about three buckets per decade;
//   - end to end adds the decode of the answer: 50 ms to 10 min;
//   - time per output token is milliseconds (1 ms to 1 s: a fast GPU decodes
//     at 5-20 ms, a loaded CPU server at hundreds);
//   - chunk gaps are per-token gaps plus stalls (a preempted or swapped
//     sequence can pause for seconds): 1 ms to 30 s.
var (
	ttftBuckets     = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300}
	e2eBuckets      = []float64{0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600}
	tpotBuckets     = []float64{0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1}
	chunkGapBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
)

// Families lists every metric family Metrics exposes, in the order of the
// README's table. Each series carries the labels run, campaign, target,
// model, stage and length; some add one or two of their own (in the help).
var Families = []Family{
	{famSent, "counter", "Requests handed to the target.", nil},
	{famInFlight, "gauge", "Requests sent and not yet completed.", nil},
	{famRequests, "counter", "Completed requests by HTTP status (status=\"none\" without a response).", nil},
	{famErrors, "counter", "Failed requests by error class (class: rate_limited, server_error, timeout, context_overflow, stream_broken, bad_response, connection, canceled).", nil},
	{famAnswers, "counter", "Completed requests by verdict (correct or wrong) and attribution (correct, model_missed, server_truncated, cut_off, refused, rejected, error; none when not judged).", nil},
	{famPromptTokens, "counter", "Prompt tokens of completed requests: the server's count when it reported one, else the client's.", nil},
	{famOutputTokens, "counter", "Output tokens of completed requests.", nil},
	{famTTFT, "histogram", "Time from sending a request to its first content or reasoning token, in seconds.", ttftBuckets},
	{famE2E, "histogram", "Time from sending a request to the last byte of its response, in seconds.", e2eBuckets},
	{famTPOT, "histogram", "Time per output token after the first, in seconds.", tpotBuckets},
	{famChunkGap, "histogram", "Gaps between consecutive streamed content chunks, in seconds.", chunkGapBuckets},
}

// familyOf indexes Families by name.
var familyOf = func() map[string]Family {
	m := make(map[string]Family, len(Families))
	for _, f := range Families {
		m[f.Name] = f
	}
	return m
}()

// sampleFamily returns the family a sample line of the text format belongs
// to: its metric name, less _bucket, _sum or _count for a histogram's.
func sampleFamily(line []byte) (Family, bool) {
	end := bytes.IndexAny(line, "{ ")
	if end < 0 {
		return Family{}, false
	}
	name := string(line[:end])
	if f, ok := familyOf[name]; ok {
		return f, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if f, ok := familyOf[strings.TrimSuffix(name, suffix)]; ok && f.Type == "histogram" && strings.HasSuffix(name, suffix) {
			return f, true
		}
	}
	return Family{}, false
}

// withMetadata returns text (a Set's output, grouped by family) with each
// family's # HELP and # TYPE lines before its first sample.
//
// The Set could write metadata itself (metrics.ExposeMetadata), but its
// # HELP lines carry no text, which promtool check metrics reports as "no
// help text", and the switch is global to the process.
func withMetadata(text []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(text) + 128*len(Families))
	prev := ""
	for len(text) > 0 {
		line := text
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i+1], text[i+1:]
		} else {
			text = nil
		}
		if f, ok := sampleFamily(line); ok && f.Name != prev {
			out.WriteString("# HELP " + f.Name + " " + f.Help + "\n# TYPE " + f.Name + " " + f.Type + "\n")
			prev = f.Name
		}
		out.Write(line)
	}
	return out.Bytes()
}
