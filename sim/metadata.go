package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// serveMetadata answers the metadata routes of the llamacpp and ollama
// flavours (GET /props; POST /api/show, GET /api/ps), in the shapes those
// servers use, so that preflight finds the window where it would find a real
// server's. It reports whether path was one of them for this flavour.
func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request, path string) bool {
	var body any
	switch {
	case s.cfg.Metadata == MetadataLlamaCpp && path == "/props" && r.Method == http.MethodGet:
		body = map[string]any{
			"default_generation_settings": map[string]any{"n_ctx": s.cfg.ContextWindow, "model": s.cfg.Model},
			"total_slots":                 s.cfg.MaxSeqs,
			"model_path":                  s.cfg.Model + ".gguf",
		}
	case s.cfg.Metadata == MetadataOllama && path == "/api/show" && r.Method == http.MethodPost:
		trained := s.cfg.TrainedContext
		if trained == 0 {
			trained = s.cfg.ContextWindow
		}
		body = map[string]any{
			"parameters": fmt.Sprintf("num_ctx                        %d\nstop                           \"<|eot_id|>\"", s.cfg.ContextWindow),
			"template":   "{{ .Prompt }}",
			"details":    map[string]any{"format": "gguf", "family": "llama", "parameter_size": "8.0B", "quantization_level": "Q4_K_M"},
			"model_info": map[string]any{"general.architecture": "llama", "llama.context_length": trained},
		}
	case s.cfg.Metadata == MetadataOllama && path == "/api/ps" && r.Method == http.MethodGet:
		body = map[string]any{"models": []map[string]any{{
			"name": s.cfg.Model, "model": s.cfg.Model, "context_length": s.cfg.ContextWindow,
		}}}
	default:
		return false
	}
	out, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
	return true
}
