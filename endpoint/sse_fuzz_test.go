package endpoint

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// fzChunkReader hands out its bytes in reads of at most size bytes.
type fzChunkReader struct {
	b    []byte
	size int
}

func (r *fzChunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.size)], r.b)
	r.b = r.b[n:]
	return n, nil
}

type fzEvent struct{ name, data string }

// fzEvents reads every event of r, at most limit of them, and the error
// that ended the stream.
func fzEvents(t *testing.T, r *sseReader, limit int) ([]fzEvent, error) {
	var out []fzEvent
	for range limit {
		ev, err := r.Next()
		if err != nil {
			return out, err
		}
		if len(ev.Data) > sseMaxEvent {
			t.Fatalf("an event of %d bytes, over the %d-byte limit", len(ev.Data), sseMaxEvent)
		}
		out = append(out, fzEvent{string(ev.Name), string(ev.Data)})
	}
	t.Fatalf("more than %d events from the input", limit)
	return nil, nil
}

// FuzzSSEUsageAndErrors feeds the SSE reader streams as the dialects send
// them (usage chunks, llama.cpp's "error:" lines, Anthropic's error
// events, comments, every line ending), read in pieces of any size: the
// reader never panics, always stops, gives the same events and the same
// end whatever the read size, and names an event "error" only when the
// stream did.
func FuzzSSEUsageAndErrors(f *testing.F) {
	for _, s := range []string{
		`data: {"choices":[],"usage":{"prompt_tokens":263,"completion_tokens":5}}` + "\n\ndata: [DONE]\n\n",
		`data: {"choices":[],"usage":{"prompt_tokens":"263","completion_tokens":1e20}}` + "\r\n\r\n",
		`data: {"choices":[],"usage":{"prompt_tokens":-5,"completion_tokens":9.5}}` + "\r\r",
		`error: {"code":500,"message":"Context size has been exceeded.","type":"server_error"}` + "\n\n",
		"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":7}}\n\nevent: message_stop\ndata: {}\n\n",
		": ping\n\n: ping\n\ndata: [DONE]\n\n",
		"data: {\"error\":{\"message\":\"Bearer sk-canary-0123456789abcdef\"}}\n\n",
		"data: a\ndata: b\n\ndata: c",
		"\xef\xbb\xbfevent: error\nerror: {}\n\n",
		"retry: 10\nid: 7\ndata:x\n\n",
		"data: \x00\xff\xfe\n\n",
	} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(6))
	}
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		limit := len(in) + 2
		whole, errW := fzEvents(t, newSSEReader(bytes.NewReader(in)), limit)
		pieces, errP := fzEvents(t, newSSEReader(&fzChunkReader{b: in, size: int(step%64) + 1}), limit)
		if !errors.Is(errW, errP) && !errors.Is(errP, errW) {
			t.Fatalf("the stream's end differs by read size: %v vs %v", errW, errP)
		}
		if len(whole) != len(pieces) {
			t.Fatalf("%d events read whole, %d in pieces of %d", len(whole), len(pieces), step%64+1)
		}
		for i := range whole {
			if whole[i] != pieces[i] {
				t.Fatalf("event %d differs by read size: %q vs %q", i, whole[i], pieces[i])
			}
			if whole[i].name == "error" && !bytes.Contains(in, []byte("error")) {
				t.Fatalf("an error event from a stream that names none: %q", in)
			}
		}
	})
}
