package campaign

import (
	"github.com/goccy/go-yaml/ast"

	"github.com/needlestorm/needlestorm/reports"
	"github.com/needlestorm/needlestorm/route"
)

// Campaign is what a campaign file asks for. Parse and Load fill it and
// validate it; the converters (Matrix, Targets, Schedule, Search, Objectives,
// Prices) turn it into what the other packages take. Override applies
// command-line flags on top of the file.
type Campaign struct {
	// Name names the campaign in reports and in the default output folder.
	Name        string `yaml:"name"`
	Description string `yaml:"description"`

	// TargetList is the targets section; Targets() converts it.
	TargetList []Target `yaml:"targets"`
	Corpus     Corpus   `yaml:"corpus"`
	Load       LoadSpec `yaml:"load"`
	SLO        SLO      `yaml:"slo"`
	Accuracy   Accuracy `yaml:"accuracy"`
	Budget     Budget   `yaml:"budget"`
	Output     Output   `yaml:"output"`
	// Require states the job the campaign is for, such as
	// "length=32k,rate=4,ttft_p95=2s": the report names the cheapest target
	// whose envelope covers it (reports.ParseRequirement's form).
	Require string `yaml:"require"`
	// Routing names a routing file (route.File; relative to this file's
	// folder): the report answers it from the run's envelope, and the
	// manifest keeps it so that `needlestorm report` can again.
	Routing string `yaml:"routing"`

	// File is the file name given to Parse or Load, used in error messages;
	// BaseDir is its folder, against which a relative dir: haystack is read.
	File    string `yaml:"-"`
	BaseDir string `yaml:"-"`

	src  []byte
	tree *ast.File
	// routing is the routing file Routing names, read by Validate.
	routing *route.File
}

// Target is one endpoint to measure.
type Target struct {
	// Name identifies the target in records and reports; required, unique.
	Name string `yaml:"name"`
	// Kind is openai, anthropic or sim (the built-in simulator, started
	// in-process on loopback and spoken to as openai).
	Kind string `yaml:"kind"`
	// BaseURL is the API root (not for sim).
	BaseURL string `yaml:"base_url"`
	// Model is the model the server serves; required for openai and
	// anthropic, the profile's model for sim.
	Model string `yaml:"model"`
	// APIKeyEnv is the NAME of the environment variable holding the key,
	// never the key itself.
	APIKeyEnv string            `yaml:"api_key_env"`
	Headers   map[string]string `yaml:"headers"`
	ExtraBody map[string]any    `yaml:"extra_body"`
	// MaxTokens caps the answer (0: endpoint.DefaultMaxTokens).
	MaxTokens   int      `yaml:"max_tokens"`
	Temperature float64  `yaml:"temperature"`
	Timeout     Duration `yaml:"timeout"`
	// ConnectTimeout bounds connecting (TCP and TLS).
	ConnectTimeout Duration `yaml:"connect_timeout"`
	// Prices are per million tokens, in Currency.
	Prices reports.Price `yaml:"prices"`
	// Currency of Prices (default USD).
	Currency string `yaml:"currency"`
	// ContextWindow is the window the target is declared to have, in
	// tokens (0: not declared); preflight compares it with the server's.
	ContextWindow int `yaml:"context_window"`

	// SimProfile names the simulator profile (kind sim; default fast).
	SimProfile string `yaml:"sim_profile"`
	// Sim overrides fields of the profile by their JSON names, such as
	// {context_window: 4096, overflow: truncate_left}.
	Sim SimOverrides `yaml:"sim"`
	// TimeScale is the simulator's wall seconds per simulated second
	// (nil: the profile's; 0 never sleeps).
	TimeScale *float64 `yaml:"time_scale"`
}

// Corpus is the matrix of needle prompts.
type Corpus struct {
	// Tasks (default single).
	Tasks []string `yaml:"tasks"`
	// Lengths in client tokens: 1000, "1k", "1.5k", "1m"; required.
	Lengths []Length `yaml:"lengths"`
	// Depths in percent (default 0, 25, 50, 75, 100).
	Depths []float64 `yaml:"depths"`
	// Samples per (task, length, depth) (default 1).
	Samples int `yaml:"samples"`
	// Haystack is prose (default), noise or dir:PATH (a relative PATH is
	// relative to the campaign file's folder).
	Haystack string `yaml:"haystack"`
	// Encoding is cl100k_base (default) or o200k_base.
	Encoding string `yaml:"encoding"`
	// Seed of the cases (default 1).
	Seed *int64 `yaml:"seed"`
	// Repeats is how many times each case is sent in each explicit stage
	// (default 1; see Campaign.Schedule). It cannot apply to an envelope
	// search, nor to a stage with its own request count.
	Repeats      int    `yaml:"repeats"`
	Canaries     bool   `yaml:"canaries"`
	SharedPrefix bool   `yaml:"shared_prefix"`
	ValueKind    string `yaml:"value_kind"`
	Keys         int    `yaml:"keys"`
	// LengthBasis is client (default: lengths count client tokens) or
	// server (haystacks are sized so the server counts the length).
	LengthBasis string `yaml:"length_basis"`
}

// LoadSpec is how hard to drive each target: explicit stages or a search.
type LoadSpec struct {
	// Warmup is a warm-up stage put first, recorded but left out of
	// statistics.
	Warmup Duration `yaml:"warmup"`
	Stages []Stage  `yaml:"stages"`
	Search *Search  `yaml:"search"`
}

// Stage is one step of an explicit schedule, shaped as loadgen.Stage.
type Stage struct {
	// Kind is constant, poisson, ramp, sine or concurrency (default
	// constant, or concurrency when only concurrency is given).
	Kind        string   `yaml:"kind"`
	Rate        float64  `yaml:"rate"`
	ToRate      float64  `yaml:"to_rate"`
	Period      Duration `yaml:"period"`
	Amplitude   float64  `yaml:"amplitude"`
	Concurrency int      `yaml:"concurrency"`
	Duration    Duration `yaml:"duration"`
	Requests    int      `yaml:"requests"`
	Label       string   `yaml:"label"`
}

// Search asks for the envelope search: per length, the highest rate that
// meets every objective.
type Search struct {
	StartRate float64 `yaml:"start_rate"`
	MaxRate   float64 `yaml:"max_rate"`
	// Resolution is the relative precision of the rate found (0.1: 10%).
	Resolution   float64  `yaml:"resolution"`
	StepDuration Duration `yaml:"step_duration"`
	StepRequests int      `yaml:"step_requests"`
	MaxSteps     int      `yaml:"max_steps"`
}

// Accuracy is the accuracy objective.
type Accuracy struct {
	// Threshold in 0..1 (default 0.85).
	Threshold *float64 `yaml:"threshold"`
	// Relative makes Threshold a fraction of the target's own accuracy at
	// its shortest length.
	Relative bool `yaml:"relative"`
}

// Budget bounds what a campaign may spend.
type Budget struct {
	MaxCostUSD  *float64 `yaml:"max_cost_usd"`
	MaxDuration Duration `yaml:"max_duration"`
}

// Output says where results go.
type Output struct {
	// Dir is the run folder (default runs/<name>-<timestamp>); a relative
	// Dir is relative to the working directory, as on the command line.
	Dir string `yaml:"dir"`
}

// Kinds of target a campaign names.
const (
	KindOpenAI    = "openai"
	KindAnthropic = "anthropic"
	KindSim       = "sim"
)

// TargetKinds lists the target kinds.
var TargetKinds = []string{KindOpenAI, KindAnthropic, KindSim}

// Length bases.
const (
	BasisClient = "client"
	BasisServer = "server"
)

// Defaults applied to a campaign.
const (
	DefaultCurrency   = "USD"
	DefaultSimProfile = "fast"
	DefaultSeed       = 1
	DefaultResolution = 0.1
	DefaultStartRate  = 1.0
	// DefaultStepDuration is a search step's length when neither
	// step_duration nor step_requests is given.
	DefaultStepDuration = 20 // seconds
)

// RoutingFile is the routing file the campaign names, as Validate read it;
// nil when it names none.
func (c *Campaign) RoutingFile() *route.File { return c.routing }
