package sim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/needlestorm/needlestorm/corpus"
)

func TestPrefixCacheUse(t *testing.T) {
	seq := func(from, to uint64) []uint64 {
		var hs []uint64
		for h := from; h < to; h++ {
			hs = append(hs, h)
		}
		return hs
	}
	tests := []struct {
		name  string
		max   int
		calls [][]uint64
		hits  []int // of each call
		size  int   // blocks cached at the end
	}{
		{"off", 0, [][]uint64{{1, 2}, {1, 2}}, []int{0, 0}, 0},
		{"repeat", 10, [][]uint64{{1, 2, 3}, {1, 2, 3}}, []int{0, 3}, 3},
		{"longest leading run", 10, [][]uint64{{1, 2, 3}, {1, 2, 9, 3}}, []int{0, 2}, 4},
		{"no hit past a miss", 10, [][]uint64{{1, 2, 3}, {9, 2, 3}}, []int{0, 0}, 4},
		{"empty", 10, [][]uint64{nil, {1}}, []int{0, 0}, 1},
		// A prompt longer than the cache keeps its head: the tail is
		// evicted first.
		{"head kept", 4, [][]uint64{seq(0, 10), seq(0, 10)}, []int{0, 4}, 4},
		// The least recently used prompt goes first: {3,4} when {5,6}
		// comes, then {1,2} when {3,4} comes back.
		{"lru", 4, [][]uint64{{1, 2}, {3, 4}, {1, 2}, {5, 6}, {3, 4}, {5, 6}, {1, 2}}, []int{0, 0, 2, 0, 0, 2, 0}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newPrefixCache(tt.max)
			if (c == nil) != (tt.max == 0) {
				t.Fatalf("newPrefixCache(%d) = %v", tt.max, c)
			}
			for i, hs := range tt.calls {
				if got := c.use(hs); got != tt.hits[i] {
					t.Fatalf("call %d (%v): %d hits, want %d", i, hs, got, tt.hits[i])
				}
			}
			if got := c.len(); got != tt.size {
				t.Errorf("%d blocks cached, want %d", got, tt.size)
			}
		})
	}
}

func TestBlockHashes(t *testing.T) {
	ids := func(from, to int) []int {
		var s []int
		for i := from; i < to; i++ {
			s = append(s, i)
		}
		return s
	}
	p := func(segs ...[]int) prompt {
		q := prompt{segs: segs}
		for _, s := range segs {
			q.total += len(s)
		}
		return q
	}
	a := p(ids(0, 16), ids(16, 40))
	b := p(ids(0, 20), ids(20, 40)) // same tokens, another message split
	c := p(ids(0, 16), ids(16, 31), []int{99})
	all := []span{{0, 40}}
	ha, hb, hc := a.blockHashes(all, 40), b.blockHashes(all, 40), c.blockHashes(all, 31)
	if len(ha) != 2 || len(hb) != 2 || len(hc) != 1 {
		t.Fatalf("block counts %d %d %d, want 2 2 1 (full blocks within the limit only)", len(ha), len(hb), len(hc))
	}
	if ha[0] != hb[0] || ha[1] == hb[1] {
		t.Errorf("split at 16 vs 20: first blocks equal=%v (want true), second equal=%v (want false)", ha[0] == hb[0], ha[1] == hb[1])
	}
	if hc[0] != ha[0] {
		t.Error("the same first block hashed differently")
	}
	// The chain: a second block hashes its prefix, not only its tokens.
	d := p(append([]int{7}, ids(1, 40)...))
	if hd := d.blockHashes(all, 40); hd[1] == p(ids(0, 40)).blockHashes(all, 40)[1] {
		t.Error("blocks with the same tokens after different prefixes hash alike")
	}
	// Truncation: hashing starts where the kept part starts.
	left := a.blockHashes([]span{{8, 40}}, 32)
	if want := p(ids(8, 16), ids(16, 40)).blockHashes(all, 32); len(left) != 2 || left[0] != want[0] || left[1] != want[1] {
		t.Errorf("kept span hashes %v, want %v", left, want)
	}
	if got := a.blockHashes(all, 15); got != nil {
		t.Errorf("a limit below one block gave %v", got)
	}
}

func TestPlanCached(t *testing.T) {
	c := testConfig(t, func(c *Config) { c.PrefillTPS = 1000 })
	tests := []struct{ prompt, cached, wantPrefillTokens int }{
		{1000, 0, 1000}, {1000, 400, 600}, {1000, 1000, 0}, {1000, 2000, 0}, {1000, -5, 1000},
	}
	for _, tt := range tests {
		got := c.PlanCached(tt.prompt, tt.cached, 10, Load{}, 0, FaultNone)
		want := c.Plan(tt.wantPrefillTokens, 10, Load{}, 0, FaultNone)
		if got.Prefill != want.Prefill || got.TTFT != want.TTFT {
			t.Errorf("PlanCached(%d, %d): prefill %v, want %v", tt.prompt, tt.cached, got.Prefill, want.Prefill)
		}
	}
}

// cacheReply is what one request's response says about the prefix cache.
type cacheReply struct {
	status       int
	cached       int     // from usage
	promptTokens int     // from usage (Anthropic: input plus cache read)
	header       int     // X-Sim-Cached-Tokens
	kept         int     // X-Sim-Prompt-Tokens-Kept
	prefill      float64 // X-Sim-Prefill, simulated seconds
}

// sendCached sends messages (system first, if any) to the OpenAI or
// Anthropic endpoint, streaming or not, and reads the cache figures.
func sendCached(t *testing.T, ts *httptest.Server, api string, stream bool, msgs []corpus.Message) cacheReply {
	t.Helper()
	var url string
	var body map[string]any
	switch api {
	case "openai":
		url = ts.URL + "/v1/chat/completions"
		body = map[string]any{"model": "m", "messages": msgs, "stream": stream, "temperature": 0}
		if stream {
			body["stream_options"] = map[string]any{"include_usage": true}
		}
	case "anthropic":
		url = ts.URL + "/v1/messages"
		var user []corpus.Message
		for _, m := range msgs {
			if m.Role == "system" {
				body = map[string]any{"system": m.Content}
			} else {
				user = append(user, m)
			}
		}
		if body == nil {
			body = map[string]any{}
		}
		body["model"], body["messages"], body["max_tokens"], body["stream"], body["temperature"] = "m", user, 200, stream, 0
	}
	resp, raw := post(t, ts.Client(), url, body)
	if resp == nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %v %s", api, resp, raw)
	}
	r := cacheReply{status: resp.StatusCode}
	r.header, _ = strconv.Atoi(resp.Header.Get("X-Sim-Cached-Tokens"))
	r.kept, _ = strconv.Atoi(resp.Header.Get("X-Sim-Prompt-Tokens-Kept"))
	r.prefill = headerSeconds(t, resp.Header, "X-Sim-Prefill")
	var usage map[string]any
	switch {
	case !stream:
		var v struct {
			Usage map[string]any `json:"usage"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("%v: %s", err, raw)
		}
		usage = v.Usage
	default:
		sc := bufio.NewScanner(bytes.NewReader(raw))
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok || data == "[DONE]" {
				continue
			}
			var ev struct {
				Usage   map[string]any `json:"usage"`
				Message struct {
					Usage map[string]any `json:"usage"`
				} `json:"message"`
			}
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				t.Fatalf("%v: %s", err, data)
			}
			if api == "openai" && ev.Usage != nil {
				usage = ev.Usage
			}
			if api == "anthropic" && ev.Message.Usage != nil {
				usage = ev.Message.Usage
			}
		}
	}
	if usage == nil {
		t.Fatalf("%s stream=%v: no usage in %s", api, stream, raw)
	}
	num := func(k string) int {
		f, ok := usage[k].(float64)
		if !ok {
			t.Fatalf("usage %v lacks %s", usage, k)
		}
		return int(f)
	}
	if api == "openai" {
		details, _ := usage["prompt_tokens_details"].(map[string]any)
		f, ok := details["cached_tokens"].(float64)
		if !ok {
			t.Fatalf("usage %v lacks prompt_tokens_details.cached_tokens", usage)
		}
		r.cached, r.promptTokens = int(f), num("prompt_tokens")
	} else {
		r.cached, r.promptTokens = num("cache_read_input_tokens"), num("input_tokens")+num("cache_read_input_tokens")
	}
	return r
}

// TestSamePromptTwice: the second of two identical prompts reads all its
// full blocks but the last token's from the cache, reports them in each
// API's usage, and prefills only the rest.
func TestSamePromptTwice(t *testing.T) {
	msgs := []corpus.Message{{Role: "system", Content: "You answer briefly."}, {Role: "user", Content: words(400) + " What is the value?"}}
	for _, api := range []string{"openai", "anthropic"} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", api, stream), func(t *testing.T) {
				cfg := testConfig(t, func(c *Config) { c.PrefixCacheBlocks = 1000; c.PrefillTPS = 1000 })
				_, ts := startTest(t, cfg)
				first := sendCached(t, ts, api, stream, msgs)
				second := sendCached(t, ts, api, stream, msgs)
				if first.cached != 0 || first.header != 0 {
					t.Errorf("first request: %d cached tokens (header %d), want 0", first.cached, first.header)
				}
				want := (second.kept - 1) / PrefixBlockTokens * PrefixBlockTokens
				if second.cached != want || second.header != want || want < 400 {
					t.Errorf("second request: %d cached tokens (header %d), want %d of %d", second.cached, second.header, want, second.kept)
				}
				if first.promptTokens != second.promptTokens || first.promptTokens != first.kept+cfg.TemplateOverhead {
					t.Errorf("prompt tokens %d then %d, want %d both times", first.promptTokens, second.promptTokens, first.kept+cfg.TemplateOverhead)
				}
				for _, r := range []cacheReply{first, second} {
					want := cfg.BaseLatency + float64(r.promptTokens-r.cached)/cfg.PrefillTPS
					if math.Abs(r.prefill-want) > 1e-5 {
						t.Errorf("prefill %.6f s with %d of %d tokens cached, want %.6f", r.prefill, r.cached, r.promptTokens, want)
					}
				}
				if !(second.prefill < first.prefill/4) {
					t.Errorf("prefill %.4f s then %.4f s: the cached repeat should be far shorter", first.prefill, second.prefill)
				}
			})
		}
	}
}

// TestPrefixCacheOff: without a cache nothing is ever cached.
func TestPrefixCacheOff(t *testing.T) {
	_, ts := startTest(t, testConfig(t, func(c *Config) { c.PrefixCacheBlocks = 0 }))
	msgs := []corpus.Message{{Role: "user", Content: words(200)}}
	for i := range 2 {
		if r := sendCached(t, ts, "openai", true, msgs); r.cached != 0 || r.header != 0 {
			t.Fatalf("request %d: %d cached tokens without a cache", i, r.cached)
		}
	}
}

// TestPrefixCacheNeedlestormCases: needlestorm's Cases, re-nonced per
// request as the dispatcher sends them, share only the system prompt's full
// blocks; the same prompt sent twice (a Case without a fresh nonce, or a
// shared-prefix Case) is read from the cache almost whole.
func TestPrefixCacheNeedlestormCases(t *testing.T) {
	cfg := testConfig(t, func(c *Config) { c.PrefixCacheBlocks = 100_000 })
	_, ts := startTest(t, cfg)
	tok, err := corpus.GetTokenizer(cfg.Encoding)
	if err != nil {
		t.Fatal(err)
	}
	sys := tok.Count(corpus.SystemPrompt) / PrefixBlockTokens * PrefixBlockTokens
	if sys >= 64 {
		t.Fatalf("the system prompt fills %d tokens of blocks; this test expects it short", sys)
	}
	m := corpus.Matrix{Tasks: []string{corpus.TaskSingle}, Lengths: []int{1000, 2000}, Depths: []float64{0, 50}, Seed: 4, Canaries: true}
	cs := cases(t, m)
	m.SharedPrefix = true
	shared := cases(t, m)
	nonce := func(c corpus.Case, n uint64) corpus.Case {
		nc, err := c.WithNonce(n)
		if err != nil {
			t.Fatal(err)
		}
		return nc
	}
	type step struct {
		name     string
		c        corpus.Case
		min, max int // cached tokens
	}
	var steps []step
	for n := range uint64(3) {
		for i, c := range cs {
			lo := sys
			if n == 0 && i == 0 {
				lo = 0 // the very first request finds an empty cache
			}
			steps = append(steps, step{fmt.Sprintf("%s nonce %d", c.ID, n), nonce(c, n), lo, sys})
		}
	}
	for _, c := range cs[:1] {
		steps = append(steps,
			step{c.ID + " as built", c, sys, sys},
			step{c.ID + " as built again", c, c.PromptTokens - PrefixBlockTokens, c.PromptTokens})
	}
	for _, c := range shared {
		steps = append(steps,
			step{c.ID + " shared prefix", c, sys, sys},
			step{c.ID + " shared prefix again", c, c.PromptTokens - PrefixBlockTokens, c.PromptTokens})
	}
	for _, s := range steps {
		r := sendCached(t, ts, "openai", false, s.c.Messages)
		if r.cached < s.min || r.cached > s.max {
			t.Errorf("%s: %d cached tokens, want %d to %d", s.name, r.cached, s.min, s.max)
		}
	}
}
