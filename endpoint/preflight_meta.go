package endpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Parsers of the metadata servers publish about their models. Each takes the
// raw body of a 2xx response, never panics, and tolerates fields of an
// unexpected type (such a field reads as absent). The shapes, checked against
// the servers' own documentation and code:
//
//   - OpenAI-compatible GET /v1/models: {"object":"list","data":[{"id":...,
//     "owned_by":...}]}. vLLM adds "max_model_len" to each entry (ModelCard in
//     vllm/entrypoints/openai/protocol.py); llama.cpp's server adds "meta"
//     with "n_ctx_train" (the trained context, tools/server/README.md) and
//     owns its one model as "llamacpp"; Ollama lists "name:tag" ids owned by
//     the namespace ("library"), and "data" is null when it has no model.
//   - Anthropic GET /v1/models: {"data":[{"id","type":"model",
//     "display_name","created_at"}],"has_more","first_id","last_id"}, paged
//     with ?limit= (1 to 1000, default 20).
//   - llama.cpp GET /props: {"default_generation_settings":{"n_ctx":N,...},
//     "total_slots":S,"model_path":...} where n_ctx is the context of one
//     slot, the most one request can use (tools/server/README.md).
//   - Ollama POST /api/show {"model":NAME}: {"parameters":"num_ctx  4096\n...",
//     "model_info":{"general.architecture":"llama","llama.context_length":
//     8192,...},"details":{...}} (docs/api.md); "parameters" is the
//     Modelfile's PARAMETER lines as text, "<arch>.context_length" the trained
//     context.
//   - Ollama GET /api/ps: {"models":[{"name","model",...,"context_length":N}]}
//     where newer versions report the context a loaded model runs with.

// preflightBodyLimit bounds a metadata response body.
const preflightBodyLimit = 8 << 20

// preflightInt is a JSON integer read leniently: a number with an integral
// value in range, or a string holding one; anything else reads as 0.
type preflightInt int

// UnmarshalJSON never fails: a value of another type reads as 0.
func (n *preflightInt) UnmarshalJSON(b []byte) error {
	*n = 0
	b = bytes.TrimSpace(b)
	if len(b) > 1 && b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) != nil {
			return nil
		}
		b = []byte(strings.TrimSpace(s))
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || f != math.Trunc(f) || f < 0 || f > 1<<40 {
		return nil
	}
	*n = preflightInt(f)
	return nil
}

// preflightModelEntry is one model of a /models listing.
type preflightModelEntry struct {
	ID      string
	OwnedBy string
	// MaxModelLen is vLLM's max_model_len; 0 when absent.
	MaxModelLen int
	// ContextLength is a context_length or context_window member some
	// gateways (OpenRouter and others) publish; 0 when absent.
	ContextLength int
	// TrainCtx is llama.cpp's meta.n_ctx_train; 0 when absent.
	TrainCtx int
	// MaxInputTokens is a max_input_tokens member, when present.
	MaxInputTokens int
}

// preflightModelList is a parsed /models listing.
type preflightModelList struct {
	Entries []preflightModelEntry
	// HasMore is Anthropic's paging flag: more models than this page.
	HasMore bool
}

// errPreflightNotList means a 2xx body is not a model listing.
var errPreflightNotList = errors.New(`not a model list: expected a JSON object with a "data" array`)

// preflightParseModels reads a /models listing (OpenAI-compatible or
// Anthropic). A "data" member that is null is an empty list (Ollama with no
// model); a body without "data" is not a listing.
func preflightParseModels(body []byte) (*preflightModelList, error) {
	var top struct {
		Data    json.RawMessage `json:"data"`
		HasMore json.RawMessage `json:"has_more"`
	}
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, errPreflightNotList
	}
	if top.Data == nil {
		return nil, errPreflightNotList
	}
	out := &preflightModelList{}
	_ = json.Unmarshal(top.HasMore, &out.HasMore)
	if string(bytes.TrimSpace(top.Data)) == "null" {
		return out, nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(top.Data, &raw); err != nil {
		return nil, errPreflightNotList
	}
	for _, r := range raw {
		var e struct {
			ID             json.RawMessage `json:"id"`
			OwnedBy        json.RawMessage `json:"owned_by"`
			MaxModelLen    preflightInt    `json:"max_model_len"`
			ContextLength  preflightInt    `json:"context_length"`
			ContextWindow  preflightInt    `json:"context_window"`
			MaxInputTokens preflightInt    `json:"max_input_tokens"`
			Meta           json.RawMessage `json:"meta"`
		}
		if json.Unmarshal(r, &e) != nil {
			continue // not an object
		}
		var id, owner string
		if json.Unmarshal(e.ID, &id) != nil || strings.TrimSpace(id) == "" {
			continue
		}
		_ = json.Unmarshal(e.OwnedBy, &owner)
		entry := preflightModelEntry{
			ID: id, OwnedBy: owner,
			MaxModelLen:    int(e.MaxModelLen),
			ContextLength:  int(max(e.ContextLength, e.ContextWindow)),
			MaxInputTokens: int(e.MaxInputTokens),
		}
		var meta struct {
			NCtxTrain preflightInt `json:"n_ctx_train"`
		}
		if json.Unmarshal(e.Meta, &meta) == nil {
			entry.TrainCtx = int(meta.NCtxTrain)
		}
		out.Entries = append(out.Entries, entry)
	}
	return out, nil
}

// preflightProps is what llama.cpp's GET /props says about the context.
type preflightProps struct {
	// NCtx is the context one request can use (one slot's); 0 when absent.
	NCtx int
	// Slots is total_slots, the requests served at once.
	Slots int
}

// preflightParseProps reads llama.cpp's /props. It reports ok only when the
// body names a positive context size, so an unrelated JSON answer at /props
// does not count.
func preflightParseProps(body []byte) (preflightProps, bool) {
	var p struct {
		Default struct {
			NCtx preflightInt `json:"n_ctx"`
		} `json:"default_generation_settings"`
		NCtx       preflightInt `json:"n_ctx"`
		TotalSlots preflightInt `json:"total_slots"`
	}
	if json.Unmarshal(body, &p) != nil {
		return preflightProps{}, false
	}
	out := preflightProps{NCtx: int(p.Default.NCtx), Slots: int(p.TotalSlots)}
	if out.NCtx == 0 {
		out.NCtx = int(p.NCtx)
	}
	return out, out.NCtx > 0
}

// preflightShow is what Ollama's POST /api/show says about the context.
type preflightShow struct {
	// NumCtx is the num_ctx of the model's Modelfile parameters; 0 when the
	// model sets none (the server's default applies).
	NumCtx int
	// Trained is model_info's "<arch>.context_length"; 0 when absent.
	Trained int
	// Arch is model_info's general.architecture.
	Arch string
}

// preflightParseShow reads Ollama's /api/show. It reports ok only when the
// body has Ollama's shape (model_info, parameters, template or details).
func preflightParseShow(body []byte) (preflightShow, bool) {
	var s struct {
		Parameters json.RawMessage            `json:"parameters"`
		ModelInfo  map[string]json.RawMessage `json:"model_info"`
		Template   json.RawMessage            `json:"template"`
		Details    json.RawMessage            `json:"details"`
	}
	if json.Unmarshal(body, &s) != nil {
		return preflightShow{}, false
	}
	if s.Parameters == nil && s.ModelInfo == nil && s.Template == nil && s.Details == nil {
		return preflightShow{}, false
	}
	var out preflightShow
	var params string
	if json.Unmarshal(s.Parameters, &params) == nil {
		out.NumCtx = preflightParseNumCtx(params)
	}
	_ = json.Unmarshal(s.ModelInfo["general.architecture"], &out.Arch)
	if out.Arch != "" {
		var n preflightInt
		_ = n.UnmarshalJSON(s.ModelInfo[out.Arch+".context_length"])
		out.Trained = int(n)
	}
	if out.Trained == 0 {
		// No architecture named: take the largest "*.context_length".
		for k, v := range s.ModelInfo {
			if strings.HasSuffix(k, ".context_length") || k == "context_length" {
				var n preflightInt
				_ = n.UnmarshalJSON(v)
				out.Trained = max(out.Trained, int(n))
			}
		}
	}
	return out, true
}

// preflightNumCtxLine matches a "num_ctx N" line of Ollama's parameters text
// (or a Modelfile's "PARAMETER num_ctx N").
var preflightNumCtxLine = regexp.MustCompile(`(?im)^\s*(?:PARAMETER\s+)?num_ctx\s+"?(\d{1,10})"?\s*$`)

// preflightParseNumCtx returns the num_ctx set in Ollama's parameters text,
// the last one when several are (Ollama keeps the last), or 0.
func preflightParseNumCtx(params string) int {
	all := preflightNumCtxLine.FindAllStringSubmatch(params, -1)
	if len(all) == 0 {
		return 0
	}
	n, err := strconv.Atoi(all[len(all)-1][1])
	if err != nil || n <= 0 || n > 1<<40 {
		return 0
	}
	return n
}

// preflightParsePS returns the context_length Ollama's /api/ps reports for a
// loaded model, or 0 when the model is not loaded or the field is absent.
func preflightParsePS(body []byte, model string) int {
	var ps struct {
		Models []struct {
			Name          string       `json:"name"`
			Model         string       `json:"model"`
			ContextLength preflightInt `json:"context_length"`
		} `json:"models"`
	}
	if json.Unmarshal(body, &ps) != nil {
		return 0
	}
	for _, m := range ps.Models {
		if preflightSameOllamaName(m.Name, model) || preflightSameOllamaName(m.Model, model) {
			return int(m.ContextLength)
		}
	}
	return 0
}

// preflightSameOllamaName reports whether two Ollama model names are the same
// model: "llama3.2" is "llama3.2:latest".
func preflightSameOllamaName(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	norm := func(s string) string {
		if i := strings.LastIndexByte(s, ':'); i < 0 || strings.Contains(s[i:], "/") {
			return s + ":latest"
		}
		return s
	}
	return norm(a) == norm(b)
}

// preflightAnthropicDated matches the date suffix of Anthropic's model ids
// ("claude-sonnet-4-5-20250929"), which aliases leave out.
var preflightAnthropicDated = regexp.MustCompile(`^-\d{8}$`)

// preflightMatchModel finds model among the listed ids: exactly, as Ollama's
// implicit ":latest" tag, or as an Anthropic alias (the id without its date,
// or with "-latest" for it). It returns the listed id.
func preflightMatchModel(model string, ids []string, kind string) (string, bool) {
	for _, id := range ids {
		if id == model {
			return id, true
		}
	}
	if kind == KindAnthropic {
		base := strings.TrimSuffix(model, "-latest")
		for _, id := range ids {
			if rest, ok := strings.CutPrefix(id, base); ok && preflightAnthropicDated.MatchString(rest) {
				return id, true
			}
		}
		return "", false
	}
	for _, id := range ids {
		if preflightSameOllamaName(id, model) {
			return id, true
		}
	}
	return "", false
}

// preflightExtraInt reads an integer from nested extra body fields, such as
// ("options", "num_ctx"). It returns 0 when absent or not a positive whole
// number.
func preflightExtraInt(extra map[string]any, path ...string) int {
	var cur any = extra
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return 0
		}
		cur = m[k]
	}
	var f float64
	switch v := cur.(type) {
	case int:
		f = float64(v)
	case int64:
		f = float64(v)
	case uint64:
		f = float64(v)
	case float64:
		f = v
	case json.Number:
		g, err := v.Float64()
		if err != nil {
			return 0
		}
		f = g
	case string:
		g, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0
		}
		f = g
	default:
		return 0
	}
	if !(f > 0) || f != math.Trunc(f) || f > 1<<40 {
		return 0
	}
	return int(f)
}
