package loadgen_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
)

// BenchmarkClientCPU is BenchmarkVsVegeta against a server that costs
// almost nothing: it reads the request and replays a canned stream of the
// simulator's shape (a role chunk, 16 one-token content chunks, the finish
// chunk, the usage chunk, [DONE]; written in two writes, as the simulator
// writes at time scale 0). Nearly all the CPU is then the clients' own, so
// the CPU ratio (vegeta's per request / needlestorm's) compares the two
// clients' per-request work directly:
//
//	go test ./loadgen -run '^$' -bench 'ClientCPU' -benchtime 1x
func BenchmarkClientCPU(b *testing.B) {
	const (
		inFlight = 32
		span     = 3 * time.Second
		rounds   = 6
		output   = 16
	)
	srv := httptest.NewServer(cannedStream(output))
	defer srv.Close()
	cases, err := corpus.Matrix{Lengths: []int{256}, Depths: []float64{0, 50, 100}, Samples: 4, Seed: 1}.Cases(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	for i := range cases {
		cases[i].Expected = []string{cannedAnswerWord} // every answer is right, as the simulator's are
	}
	compareClients(b, clientComparison{base: srv.URL, model: "m", cases: cases, inFlight: inFlight, span: span, rounds: rounds, output: output})
}

// cannedAnswerWord is a word of every canned answer.
const cannedAnswerWord = "w7"

// cannedStream answers every chat request with the same stream of output
// one-token chunks, in the simulator's shape.
func cannedStream(output int) http.Handler {
	const head = `data: {"id":"chatcmpl-canned","object":"chat.completion.chunk","created":1796348273,"model":"m","choices":[`
	var first, rest strings.Builder
	first.WriteString(head + `{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n")
	for i := range output {
		fmt.Fprintf(&rest, head+`{"index":0,"delta":{"content":" w%d"},"logprobs":null,"finish_reason":null}],"usage":null}`+"\n\n", i)
	}
	rest.WriteString(head + `{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}` + "\n\n")
	fmt.Fprintf(&rest, head+`],"usage":{"prompt_tokens":270,"completion_tokens":%d,"total_tokens":%d}}`+"\n\n", output, 270+output)
	rest.WriteString("data: [DONE]\n\n")
	a, z := first.String(), rest.String()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-Request-Id", "req-canned")
		_, _ = io.WriteString(w, a)
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, z)
	})
}
