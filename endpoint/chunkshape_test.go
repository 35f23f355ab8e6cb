package endpoint

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// shapeLayouts are content chunks as servers lay them out; %s is the text.
var shapeLayouts = []string{
	// vLLM, the simulator
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"%s"},"logprobs":null,"finish_reason":null}],"usage":null}`,
	// llama.cpp's server: the id after the choices
	`{"choices":[{"finish_reason":null,"index":0,"delta":{"content":"%s"}}],"created":1,"id":"chatcmpl-x","model":"llama","system_fingerprint":"b1","object":"chat.completion.chunk"}`,
	// no id, no usage
	`{"choices":[{"index":0,"delta":{"content":"%s"}}]}`,
	// whitespace everywhere
	` { "id" : "x" , "choices" : [ { "delta" : { "content" : "%s" } , "index" : 0 } ] } `,
}

// shapeNotLearned are content chunks that must not be remembered: an
// escaped id, a finish reason, reasoning, usage, two choices, a choice of
// another index (its text is not the answer's).
var shapeNotLearned = []string{
	`{"id":"y","choices":[{"index":1,"delta":{"content":"%s"}}]}`,
	`{"id":"a\u0041b","choices":[{"index":0,"delta":{"content":"%s"}}]}`,
	`{"id":"z","choices":[{"index":0,"delta":{"content":"%s"},"finish_reason":"stop"}]}`,
	`{"id":"z","choices":[{"index":0,"delta":{"content":"%s","reasoning_content":"r"}}]}`,
	`{"id":"z","choices":[{"index":0,"delta":{"content":"%s"}}],"usage":{"prompt_tokens":1,"completion_tokens":2}}`,
	`{"id":"z","choices":[{"index":0,"delta":{"content":"%s"}},{"index":1,"delta":{"content":"q"}}]}`,
	`{"id":"z","choices":[{"index":0,"delta":{"content":null,"reasoning":"%s"}}]}`,
}

// shapeText is a random text token's inside: words, escapes, and what
// must end or break a string (a bare quote, a trailing backslash, control
// characters, invalid UTF-8, lone surrogates).
func shapeText(r *rand.Rand) string {
	pieces := []string{"word", " ", "é", "日本", `\n`, `\"`, `\\`, `\/`, `\u00e9`, `\u0041`, `\ud83d\ude00`, `\ud800`,
		`"`, `\`, "\x01", "\xff", `"},"x":{"content":"`, `"}}],"usage":null}`, `\u12`, `\x`}
	var b strings.Builder
	for range r.IntN(6) {
		p := pieces[r.IntN(len(pieces))]
		if r.IntN(3) > 0 {
			p = pieces[r.IntN(10)] // mostly valid
		}
		b.WriteString(p)
	}
	return b.String()
}

// checkShapeAgrees fails when the shape read data differently from the
// full fast path or from encoding/json; it returns whether it read it.
func checkShapeAgrees(t *testing.T, sh *chunkShape, data []byte) bool {
	t.Helper()
	var d openaiDecoder
	var got openaiRead
	if !sh.read(&d.scan, data, &got) {
		return false
	}
	var fast, slow openaiRead
	if !d.fast(data, &fast) {
		t.Fatalf("the shape read %q, the full fast path does not", data)
	}
	if err := d.slow(data, &slow); err != nil {
		t.Fatalf("the shape read %q, encoding/json fails: %v", data, err)
	}
	if !openaiReadsEqual(got, fast) || !openaiReadsEqual(got, slow) {
		t.Fatalf("%q\nshape %+v\nfast  %+v\nslow  %+v", data, got, fast, slow)
	}
	return true
}

// learnShape reads data in full and remembers its shape, as decode does.
func learnShape(t *testing.T, d *openaiDecoder, data string) {
	t.Helper()
	var r openaiRead
	if !d.fast([]byte(data), &r) {
		t.Fatalf("the fast path does not read %s", data)
	}
	d.shape.learn([]byte(data), &r, &d.cand)
}

// TestChunkShapeAgrees: a remembered shape reads random texts, and random
// mutations of whole chunks, exactly as the full fast path and
// encoding/json do, or leaves them to them.
func TestChunkShapeAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, layout := range shapeLayouts {
		var d openaiDecoder
		learnShape(t, &d, fmt.Sprintf(layout, "seed"))
		if len(d.shape.prefix) == 0 {
			t.Fatalf("no shape learned from %s", layout)
		}
		hits := 0
		for i := range 20000 {
			data := []byte(fmt.Sprintf(layout, shapeText(r)))
			if i%4 == 3 {
				data = chunkMutate(r, data)
			}
			if checkShapeAgrees(t, &d.shape, data) {
				hits++
			}
		}
		if hits < 5000 {
			t.Errorf("%s: only %d of 20000 chunks read by the shape", layout, hits)
		}
	}
}

// TestChunkShapeNotLearned: chunks whose reading depends on more than the
// text are not remembered, and a chunk that is not remembered makes the
// decoder forget the last shape.
func TestChunkShapeNotLearned(t *testing.T) {
	for _, layout := range shapeNotLearned {
		var d openaiDecoder
		learnShape(t, &d, fmt.Sprintf(shapeLayouts[0], "seed"))
		learnShape(t, &d, fmt.Sprintf(layout, "seed"))
		if len(d.shape.prefix) != 0 {
			t.Errorf("a shape was learned from %s", layout)
		}
		var got openaiRead
		if d.shape.read(&d.scan, []byte(fmt.Sprintf(layout, "other")), &got) {
			t.Errorf("%s: read by a shape", layout)
		}
	}
}

// TestChunkShapeDecode: through decode, a stream of a server's chunks
// reads as encoding/json reads it, the shape taking all but the first
// content chunk of each answer, and a new answer's id (another prefix) is
// read in full.
func TestChunkShapeDecode(t *testing.T) {
	var d openaiDecoder
	for answer := range 3 {
		id := fmt.Sprintf("chatcmpl-%d", answer)
		chunks := []string{fmt.Sprintf(`{"id":"%s","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`, id)}
		for i := range 8 {
			chunks = append(chunks, fmt.Sprintf(`{"id":"%s","choices":[{"index":0,"delta":{"content":" w%d\"q\u00e9"},"finish_reason":null}]}`, id, i))
		}
		chunks = append(chunks, fmt.Sprintf(`{"id":"%s","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`, id))
		for i, c := range chunks {
			shaped := false
			if len(d.shape.prefix) > 0 {
				var r openaiRead
				shaped = d.shape.read(&d.scan, []byte(c), &r)
			}
			if want := i >= 2 && i < len(chunks)-1; shaped != want {
				t.Errorf("answer %d chunk %d: read by the shape %v, want %v", answer, i, shaped, want)
			}
			var ev streamEvent
			if err := d.decode(nil, []byte(c), &ev); err != nil {
				t.Fatal(err)
			}
			var slow openaiRead
			if err := d.slow([]byte(c), &slow); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ev.ID, slow.id) || !bytes.Equal(ev.Content, slow.content) || ev.Finish != string(slow.finish) {
				t.Errorf("answer %d chunk %d: decode id %q content %q finish %q, encoding/json %q %q %q",
					answer, i, ev.ID, ev.Content, ev.Finish, slow.id, slow.content, slow.finish)
			}
		}
	}
}
