package reports

// Options say how to judge a run.
type Options struct {
	// Objectives are the latency, error-rate and accuracy objectives.
	Objectives Objectives
	// Prices, when set, add cost to cells, points and the envelope.
	Prices Prices
	// Tolerance is the truncation tolerance in tokens; 0 means
	// probes.DefaultTolerance of each prompt.
	Tolerance int
	// Requirement, when set, makes the report name the cheapest target
	// whose envelope covers it.
	Requirement *Requirement
	// Sections, when set, adds sections that other packages answer from
	// the run (such as the routing answer) to every output.
	Sections SectionsFunc
}

// Price is what a target charges, per million tokens.
type Price struct {
	Input  float64 `json:"input" yaml:"input"`
	Output float64 `json:"output" yaml:"output"`
	// Cached is the price of cached input tokens; 0 means they are billed
	// at the Input price.
	Cached float64 `json:"cached,omitempty" yaml:"cached"`
}

// Prices are the per-target prices, by target name.
type Prices struct {
	// Currency labels the amounts, such as "USD"; empty means unnamed.
	Currency string           `json:"currency,omitempty" yaml:"currency"`
	Targets  map[string]Price `json:"targets,omitempty" yaml:"targets"`
}

// lookup returns the price of a target, if one was given.
func (p Prices) lookup(target string) (Price, bool) {
	pr, ok := p.Targets[target]
	return pr, ok
}

// cost is what one request cost: input tokens are the server's count when
// it sent one, else the client's; cached tokens are billed at the cached
// price. A failed request for which the server counted nothing and sent
// nothing (a rejection, a 429, a refused connection) cost nothing.
func (pr Price) cost(client, server, cached, output int, failed bool) float64 {
	if failed && server <= 0 && output <= 0 {
		return 0
	}
	in := server
	if in <= 0 {
		in = client
	}
	cachedPrice := pr.Cached
	if cachedPrice == 0 {
		cachedPrice = pr.Input
	}
	cached = min(max(cached, 0), in)
	return (float64(in-cached)*pr.Input + float64(cached)*cachedPrice + float64(output)*pr.Output) / 1e6
}
