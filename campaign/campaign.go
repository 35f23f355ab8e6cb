package campaign

import (
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/needlestorm/needlestorm/endpoint"
	"github.com/needlestorm/needlestorm/loadgen"
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
	// Regression is what a run is compared with at its end, and the
	// thresholds of a regression (see Regression).
	Regression Regression `yaml:"regression"`

	// File is the file name given to Parse or Load, used in error messages;
	// BaseDir is its folder, against which a relative dir: haystack is read.
	File    string `yaml:"-"`
	BaseDir string `yaml:"-"`

	// MaxInFlight caps the requests in flight of every target's turn (0:
	// loadgen.DefaultMaxInFlight), and Grace is how long requests in
	// flight may finish after an interruption (nil: loadgen.DefaultGrace).
	// They are no file's fields: Overrides (--max-in-flight, --grace) set
	// them, so that Validate refuses a concurrency stage above the cap.
	MaxInFlight int            `yaml:"-"`
	Grace       *time.Duration `yaml:"-"`

	src  []byte
	tree *ast.File
	// routing is the routing file Routing names, read by Validate.
	routing *route.File
	// flags maps a field (indices written []) to the command-line flag
	// that set it, so that a mistake in it names the flag (see SetFrom).
	flags map[string]string
	// fileTargets are the file's indices of TargetList, once --targets has
	// kept some of them (nil: the file's order).
	fileTargets []int
	// dataset is the dataset Corpus.Dataset names, read by Validate.
	dataset *datasetState
}

// Target is one endpoint to measure: the endpoint's own configuration
// (endpoint.TargetConfig: name, kind, base_url, model, api_key_env, headers,
// extra_body, max_tokens, temperature, timeout, connect_timeout; decoded
// in place, so the file writes them beside the rest), with what only a
// campaign says about a target. Kind may also be sim: the built-in
// simulator, started in-process on loopback and spoken to as openai (its
// model defaults to the profile's).
type Target struct {
	endpoint.TargetConfig `yaml:",inline"`

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

	// Dataset names a file of the user's own cases (JSON Lines, see
	// corpus.DatasetCase; relative to the campaign file's folder), sent
	// after the matrix's cases in every stage. With a dataset, lengths
	// may be left out.
	Dataset string `yaml:"dataset"`
	// PadTo and PadDepths make long-context versions of the dataset's
	// cases (see corpus.Padding): every case also buried in the
	// haystack at each pad_to length (client tokens), at each depth (a
	// fraction, 0 to 1; default 0.5).
	PadTo     []Length  `yaml:"pad_to"`
	PadDepths []float64 `yaml:"pad_depths"`
}

// LoadSpec is how hard to drive each target: explicit stages or a search,
// each the load engine's own type (loadgen.Stage, loadgen.SearchSpec, with
// their JSON names as the file's fields), which owns its defaults, its
// validation and its estimates.
type LoadSpec struct {
	// Warmup is a warm-up stage put first, recorded but left out of
	// statistics; for a search, it runs before every length (as
	// load.search.warmup).
	Warmup Duration            `yaml:"warmup"`
	Stages []loadgen.Stage     `yaml:"stages"`
	Search *loadgen.SearchSpec `yaml:"search"`
}

// Accuracy is the accuracy objective.
type Accuracy struct {
	// Threshold in 0..1 (default 0.85).
	Threshold *float64 `yaml:"threshold"`
	// Relative makes Threshold a fraction of the target's own accuracy at
	// its shortest length.
	Relative bool `yaml:"relative"`
	// Gate false makes the accuracy objective report only: shown, never
	// failing the run (nil: it gates).
	Gate *bool `yaml:"gate"`
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
	KindOpenAI    = endpoint.KindOpenAI
	KindAnthropic = endpoint.KindAnthropic
	KindSim       = "sim"
)

// TargetKinds lists the target kinds.
var TargetKinds = []string{KindOpenAI, KindAnthropic, KindSim}

// Length bases.
const (
	BasisClient = "client"
	BasisServer = "server"
)

// Defaults applied to a campaign (the engine types' own are theirs).
const (
	DefaultCurrency   = "USD"
	DefaultSimProfile = "fast"
	DefaultSeed       = 1
)

// RoutingFile is the routing file the campaign names, as Validate read it;
// nil when it names none.
func (c *Campaign) RoutingFile() *route.File { return c.routing }
