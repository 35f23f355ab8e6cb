package endpoint

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/internal/jsonstr"
)

// The fast path of the chunk decoders must read what encoding/json reads,
// or give up: these tests run both on valid, mutated and hostile events.

// chunkSeeds are events as servers send them, and oddities.
var chunkSeeds = []string{
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" magic"},"logprobs":null,"finish_reason":null}]}`,
	`{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"a\nb\"c\\d\u00e9\u0041\/"},"finish_reason":null}]}`,
	`{"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}`,
	`{"id":"x","choices":[],"usage":{"prompt_tokens":50,"total_tokens":56,"completion_tokens":6,"prompt_tokens_details":{"cached_tokens":16}}}`,
	`{"choices":[{"index":1,"delta":{"content":"other"}},{"index":0,"delta":{"reasoning_content":"think","content":"x"}}]}`,
	`{"choices":[{"index":0,"delta":{"reasoning":"r"}}]}`,
	`{"choices":[{"index":0,"delta":{"reasoning":"r","reasoning_content":""}}]}`,
	`{"error":{"message":"boom","code":500}}`,
	`{"object":"error","message":"bad","code":400}`,
	`  {"id" : "a" , "choices" : [ { "index" : 0 , "delta" : { "content" : "x" } } ] }  `,
	`{"ID":"a","choices":[]}`,
	`{"Choices":[{"index":0,"delta":{"content":"x"}}]}`,
	`{"choices":[{"index":0,"delta":{"CONTENT":"x"}}]}`,
	`{"choices":[{"index":0,"delta":{"content":"x","content":"y"}}]}`,
	`{"choices":[{"index":0.0,"delta":{"content":"x"}}]}`,
	`{"choices":[{"index":"0","delta":{"content":"x"}}]}`,
	`{"choices":[{"index":-0,"delta":{"content":"x"}}]}`,
	`{"choices":[{"index":1e0,"delta":{"content":"x"}}]}`,
	`{"choices":[null]}`,
	`{"choices":null,"usage":{"completion_tokens":"3"}}`,
	`{"choices":[{"index":0,"delta":{"content":5}}]}`,
	`{"choices":[{"index":0,"delta":{"content":"\ud83d\ude00"}}]}`,
	`{"choices":[{"index":0,"delta":{"content":"\ud83d"}}]}`,
	"{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\xff\xfe\"}}]}",
	"{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\x01\"}}]}",
	`{"choices":[{"index":0,"delta":{"content":"x"}}]}garbage`,
	`{"choices":[{"index":0,"delta":{"content":"x"}}]`,
	`[1,2]`, `null`, `"str"`, `{}`, ``, `{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	`{"a":1.5e+10,"b":-0.1,"c":true,"d":false,"e":null,"f":{"g":[]},"choices":[]}`,
	`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":tru}`, `{"a":"\x"}`, `{"a":"\u12"}`,
	`{"\u0069d":"a","choices":[]}`,
	`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":10,"cache_read_input_tokens":2,"output_tokens":1}}}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}`,
	`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}`,
	`{"type":"message_stop"}`,
	`{"type":"ping"}`,
	`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
	`{"type":"message_start","message":null}`,
	`{"type":"message_start","message":{}}`,
	`{"type":"content_block_delta","delta":null}`,
	`{"Type":"message_stop"}`,
	`{"type":"content_block_delta","delta":{"type":"text_delta","text":"a","text":"b"}}`,
}

// openaiReadsEqual compares two reads, nil and empty alike.
func openaiReadsEqual(a, b openaiRead) bool {
	return bytes.Equal(a.id, b.id) && bytes.Equal(a.content, b.content) && bytes.Equal(a.reasoning, b.reasoning) &&
		bytes.Equal(a.finish, b.finish) && a.choices == b.choices && bytes.Equal(a.usage, b.usage)
}

func anthropicReadsEqual(a, b anthropicRead) bool {
	return bytes.Equal(a.typ, b.typ) && a.message == b.message && bytes.Equal(a.messageID, b.messageID) &&
		bytes.Equal(a.messageUsage, b.messageUsage) && bytes.Equal(a.deltaType, b.deltaType) && bytes.Equal(a.text, b.text) &&
		bytes.Equal(a.thinking, b.thinking) && bytes.Equal(a.stopped, b.stopped) && bytes.Equal(a.usage, b.usage)
}

// checkFastAgrees fails when a fast path read data but encoding/json reads
// it differently or not at all. It returns whether each fast path took it.
func checkFastAgrees(t testing.TB, data []byte) (openaiFast, anthropicFast bool) {
	t.Helper()
	var od openaiDecoder
	var fast openaiRead
	if od.fast(data, &fast) {
		openaiFast = true
		var slow openaiRead
		if err := od.slow(data, &slow); err != nil {
			t.Fatalf("openai: the fast path read %q, encoding/json fails: %v", data, err)
		}
		if !openaiReadsEqual(fast, slow) {
			t.Fatalf("openai: %q\nfast %+v\nslow %+v", data, fast, slow)
		}
	}
	var ad anthropicDecoder
	var af anthropicRead
	if ad.fast(data, &af) {
		anthropicFast = true
		var slow anthropicRead
		if err := anthropicSlow(data, &slow); err != nil {
			t.Fatalf("anthropic: the fast path read %q, encoding/json fails: %v", data, err)
		}
		if !anthropicReadsEqual(af, slow) {
			t.Fatalf("anthropic: %q\nfast %+v\nslow %+v", data, af, slow)
		}
	}
	return openaiFast, anthropicFast
}

// TestChunkFastPathSeeds: the seeds agree, and the plain events of both
// APIs do take the fast path (else it would be no faster).
func TestChunkFastPathSeeds(t *testing.T) {
	for _, s := range chunkSeeds {
		checkFastAgrees(t, []byte(s))
	}
	for _, s := range chunkSeeds[:8] {
		if o, _ := checkFastAgrees(t, []byte(s)); !o {
			t.Errorf("openai: %s went the slow way", s)
		}
	}
	for _, s := range chunkSeeds {
		if !strings.HasPrefix(s, `{"type":"`) || strings.Contains(s, `"type":"error"`) || strings.Contains(s, `"text":"b"`) {
			continue
		}
		if _, a := checkFastAgrees(t, []byte(s)); !a {
			t.Errorf("anthropic: %s went the slow way", s)
		}
	}
	for _, s := range []string{`{"ID":"a","choices":[]}`, `{"choices":[{"index":0.0}]}`, `{"choices":[null]}`, `{"\u0069d":"a"}`, `{"choices":[{"index":0,"delta":{"content":"\ud83d\ude00"}}]}`} {
		if o, _ := checkFastAgrees(t, []byte(s)); o {
			t.Errorf("openai: %s took the fast path; it must go to encoding/json", s)
		}
	}
}

// chunkMutate changes data at random: a byte flipped, dropped, doubled or
// inserted, a piece of JSON syntax or an escape inserted, a key's case
// changed, a member repeated.
func chunkMutate(r *rand.Rand, data []byte) []byte {
	pieces := []string{`"`, `\`, `{`, `}`, `[`, `]`, `,`, `:`, `null`, `0`, `-1`, `1.5`, `1e3`, `true`, `\n`, `\u00e9`, `\ud800`,
		`\"`, "\x00", "\xff", "é", ` `, `"content":"z",`, `"index":1,`, `"id":"q",`, `"usage":{},`, `"type":"ping",`, `"delta":{},`}
	b := append([]byte(nil), data...)
	for range 1 + r.IntN(3) {
		if len(b) == 0 {
			b = append(b, pieces[r.IntN(len(pieces))]...)
			continue
		}
		i := r.IntN(len(b))
		switch r.IntN(6) {
		case 0:
			b[i] ^= byte(1 << r.IntN(8))
		case 1:
			b = append(b[:i], b[i+1:]...)
		case 2:
			b = append(b[:i], append([]byte{b[i]}, b[i:]...)...)
		case 3, 4:
			p := pieces[r.IntN(len(pieces))]
			b = append(b[:i], append([]byte(p), b[i:]...)...)
		case 5:
			if 'a' <= b[i] && b[i] <= 'z' {
				b[i] -= 'a' - 'A'
			}
		}
	}
	return b
}

// TestChunkFastPathAgreesOnMutations runs both paths on many mutations of
// the seeds; some must still take the fast path, so the check has teeth.
func TestChunkFastPathAgreesOnMutations(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	fastO, fastA := 0, 0
	for i := range 60000 {
		data := chunkMutate(r, []byte(chunkSeeds[i%len(chunkSeeds)]))
		o, a := checkFastAgrees(t, data)
		if o {
			fastO++
		}
		if a {
			fastA++
		}
	}
	if fastO < 1000 || fastA < 1000 {
		t.Errorf("only %d (openai) and %d (anthropic) mutations took the fast path", fastO, fastA)
	}
}

// TestChunkFastPathRandomStrings: content strings of every awkward
// character, escaped as encoding/json escapes them or with other escapes,
// decode the same both ways.
func TestChunkFastPathRandomStrings(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	escapes := []string{`\n`, `\t`, `\r`, `\b`, `\f`, `\/`, `\\`, `\"`, `\u0041`, `\u00e9`, `\u2028`, `\uffff`, `\u0000`, `\ud83d\ude00`, `\uD800`}
	for range 20000 {
		var b strings.Builder
		for range r.IntN(12) {
			if r.IntN(3) == 0 {
				b.WriteString(escapes[r.IntN(len(escapes))])
			} else {
				b.Write(jsonstr.AppendContent(nil, bodyText(r)))
			}
		}
		content := b.String()
		checkFastAgrees(t, []byte(fmt.Sprintf(`{"id":"c","choices":[{"index":0,"delta":{"content":"%s"},"finish_reason":null}]}`, content)))
		checkFastAgrees(t, []byte(fmt.Sprintf(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"%s"}}`, content)))
	}
}

// FuzzChunkFastPath: go test -fuzz FuzzChunkFastPath ./endpoint
func FuzzChunkFastPath(f *testing.F) {
	for _, s := range chunkSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastAgrees(t, data)
	})
}

// usageSeeds are usage members as servers send them, and oddities.
var usageSeeds = []string{
	`{"prompt_tokens":50,"total_tokens":56,"completion_tokens":6,"prompt_tokens_details":{"cached_tokens":16}}`,
	`{"prompt_tokens":50,"completion_tokens":6,"prompt_tokens_details":null}`,
	`{"prompt_tokens":0,"completion_tokens":1000000000}`,
	`{"prompt_tokens":1000000001}`, `{"prompt_tokens":-1}`, `{"prompt_tokens":"263"}`, `{"prompt_tokens":9.5}`,
	`{"prompt_tokens":263.0}`, `{"prompt_tokens":2.63e2}`, `{"prompt_tokens":1e20}`, `{"prompt_tokens":00}`,
	`{"Prompt_Tokens":5}`, `{"prompt_tokens":5,"prompt_tokens":6}`, `{"prompt_tokens":null}`, `[]`, `5`, `"x"`,
	`{"input_tokens":10,"cache_read_input_tokens":2,"cache_creation_input_tokens":0,"output_tokens":1}`,
	`{"output_tokens":15}`, `{"input_tokens":true}`, `{"output_tokens":12345678901}`,
	`{"prompt_tokens_details":{"cached_tokens":3,"cached_tokens":4}}`, `{"prompt_tokens_details":{"CACHED_TOKENS":3}}`,
	`{"prompt_tokens_details":[]}`, `{ "prompt_tokens" : 7 , "x" : [1,{"y":null}] }`,
}

// TestUsageFastPathAgrees: the fast usage reader gives decodeUsage's
// counts whenever it reads a usage member, for both APIs, on the seeds and
// their mutations.
func TestUsageFastPathAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	fastO, fastA := 0, 0
	for i := range 40000 {
		raw := []byte(usageSeeds[i%len(usageSeeds)])
		if i >= len(usageSeeds) {
			raw = chunkMutate(r, raw)
		}
		var d openaiDecoder
		if d.fastUsage(raw) {
			fastO++
			var want openaiUsage
			if note := decodeUsage(raw, &want); note != "" {
				t.Fatalf("openai %q: fast path read it, decodeUsage notes %s", raw, note)
			}
			got := d.usage
			if got.PromptTokens != want.PromptTokens || got.CompletionTokens != want.CompletionTokens ||
				(got.PromptTokensDetails == nil) != (want.PromptTokensDetails == nil) ||
				got.PromptTokensDetails != nil && got.PromptTokensDetails.CachedTokens != want.PromptTokensDetails.CachedTokens {
				t.Fatalf("openai %q:\nfast %+v %+v\nslow %+v %+v", raw, got, got.PromptTokensDetails, want, want.PromptTokensDetails)
			}
		}
		var u anthropicUsage
		if fastUsage(raw, []usageField{
			{name: "input_tokens", dst: &u.InputTokens},
			{name: "output_tokens", dst: &u.OutputTokens},
			{name: "cache_read_input_tokens", dst: &u.CacheReadInputTokens},
			{name: "cache_creation_input_tokens", dst: &u.CacheCreationInputTokens},
		}, "", nil, nil) {
			fastA++
			var want anthropicUsage
			if note := decodeUsage(raw, &want); note != "" {
				t.Fatalf("anthropic %q: fast path read it, decodeUsage notes %s", raw, note)
			}
			if u != want {
				t.Fatalf("anthropic %q:\nfast %+v\nslow %+v", raw, u, want)
			}
		}
	}
	if fastO < 1000 || fastA < 1000 {
		t.Errorf("only %d (openai) and %d (anthropic) usage members took the fast path", fastO, fastA)
	}
}

// BenchmarkChunkDecode decodes a content chunk as the simulator sends it:
// on the fast path, as the remembered shape of the chunk before it
// (chunkshape.go), and with encoding/json.
func BenchmarkChunkDecode(b *testing.B) {
	data := []byte(`{"id":"chatcmpl-sim0000000000000001","object":"chat.completion.chunk","created":1764780000,"model":"sim-fast","choices":[{"index":0,"delta":{"content":" word"},"logprobs":null,"finish_reason":null}],"usage":null}`)
	b.Run("fast", func(b *testing.B) {
		var d openaiDecoder
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for range b.N {
			var r openaiRead
			if !d.fast(data, &r) {
				b.Fatal("slow")
			}
		}
	})
	b.Run("shape", func(b *testing.B) {
		var d openaiDecoder
		var r openaiRead
		if !d.fast(data, &r) {
			b.Fatal("slow")
		}
		d.shape.learn(data, &r, &d.cand)
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for range b.N {
			var r openaiRead
			if !d.shape.read(&d.scan, data, &r) {
				b.Fatal("not the shape")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		var d openaiDecoder
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for range b.N {
			var r openaiRead
			if d.slow(data, &r) != nil {
				b.Fatal("error")
			}
		}
	})
}
