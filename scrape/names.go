package scrape

import "github.com/needlestorm/needlestorm/run"

// known maps each server metric the scraper keeps to its neutral series.
// vLLM's KV-cache usage is a fraction 0..1 under both names
// (gpu_cache_usage_perc before v0.7, kv_cache_usage_perc since), and so
// is llama.cpp's ratio; the prefix-cache counters count tokens.
var known = map[string]string{
	// vLLM
	"vllm:num_requests_running":       run.SeriesRunning,
	"vllm:num_requests_waiting":       run.SeriesWaiting,
	"vllm:kv_cache_usage_perc":        run.SeriesKVCacheUsage,
	"vllm:gpu_cache_usage_perc":       run.SeriesKVCacheUsage,
	"vllm:prefix_cache_hits_total":    run.SeriesPrefixCacheHits,
	"vllm:prefix_cache_queries_total": run.SeriesPrefixCacheQueries,
	// llama.cpp (llama-server --metrics)
	"llamacpp:requests_processing":  run.SeriesRunning,
	"llamacpp:requests_deferred":    run.SeriesWaiting,
	"llamacpp:kv_cache_usage_ratio": run.SeriesKVCacheUsage,
	// Hugging Face TGI
	"tgi_batch_current_size": run.SeriesRunning,
	"tgi_queue_size":         run.SeriesWaiting,
}

// Known returns the server metric names the scraper keeps, and the neutral
// series each one becomes.
func Known() map[string]string {
	out := make(map[string]string, len(known))
	for k, v := range known {
		out[k] = v
	}
	return out
}
