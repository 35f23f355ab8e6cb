package endpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"

	"github.com/needlestorm/needlestorm/corpus"

	"github.com/needlestorm/needlestorm/run"
)

// Token calibration: how many prompt tokens the server counts for a prompt
// of a given length in client tokens.
//
// needlestorm sizes prompts in client tokens (tiktoken cl100k_base or
// o200k_base). The server counts with its own tokenizer and adds the tokens
// of its chat template. Preflight sends one or two short needle prompts and
// fits
//
//	server_tokens ≈ Ratio × client_tokens + Offset
//
// With one point the ratio is taken as 1 and the offset is the difference
// (the template overhead). With two or more, a least-squares line: the ratio
// captures a server tokenizer that splits text more or less finely than the
// client's, the offset the template. Both are approximations:
//   - the template overhead is assumed constant (true of chat templates
//     around one system and one user message);
//   - the ratio is measured on the calibration prompts' own text (the same
//     haystack as the run when the caller says so) and assumed to hold at
//     every length;
//   - a server that leaves cached prompt tokens out of its count (Ollama's
//     prompt_eval_count after a prefix cache hit) makes the count low.
//
// length_basis "server" uses the fit backwards: to have the server see L
// tokens, ask the corpus for ClientLength(L) client tokens.

// Length bases: in whose tokens a campaign's lengths are counted.
const (
	// LengthBasisClient counts lengths in client tokens (the default): the
	// server sees them plus its template and tokenizer differences.
	LengthBasisClient = "client"
	// LengthBasisServer counts lengths in server tokens: prompts are sized
	// through the calibration so that the server counts the requested length.
	LengthBasisServer = "server"
)

// Calibration defaults.
const (
	// preflightCalMaxTokens caps the answers of calibration requests.
	preflightCalMaxTokens = 16
	// preflightCalSeed is the corpus seed of calibration prompts.
	preflightCalSeed = 20240601
	// preflightRatioMin and preflightRatioMax bound a plausible ratio of
	// server to client tokens; outside them the fit is not used.
	preflightRatioMin = 0.5
	preflightRatioMax = 2.0
)

// DefaultCalibrationLengths are the client lengths of the calibration
// prompts: a short one for the template overhead and a longer one for the
// tokenizer ratio. The longer one is shortened to fit a small context window.
var DefaultCalibrationLengths = []int{256, 2048}

// CalibrationPoint is one calibration request.
type CalibrationPoint struct {
	// ClientTokens is the prompt's length in client tokens.
	ClientTokens int `json:"client_tokens"`
	// ServerTokens is the prompt token count the server reported.
	ServerTokens int `json:"server_tokens"`
	// CachedTokens is the part of ServerTokens the server read from its
	// prefix cache, when it says.
	CachedTokens int `json:"cached_tokens,omitempty"`
}

// TokenCalibration relates client and server token counts:
// server ≈ Ratio × client + Offset.
type TokenCalibration struct {
	// Encoding is the client tokenizer the points were counted with.
	Encoding string             `json:"encoding"`
	Points   []CalibrationPoint `json:"points"`
	Ratio    float64            `json:"ratio"`
	Offset   float64            `json:"offset"`
}

// NewTokenCalibration fits a calibration to points: with one point a ratio of
// 1 and the difference as offset, with more a least-squares line. It fails
// when there is no point, a count is not positive, all points have the same
// client length but different server counts, or the ratio is implausible
// (outside 0.5 to 2), which means the server's counts are not comparable.
func NewTokenCalibration(encoding string, points ...CalibrationPoint) (*TokenCalibration, error) {
	if len(points) == 0 {
		return nil, errors.New("no calibration point")
	}
	for _, p := range points {
		if p.ClientTokens <= 0 || p.ServerTokens <= 0 {
			return nil, fmt.Errorf("calibration point with %d client and %d server tokens: both must be positive", p.ClientTokens, p.ServerTokens)
		}
	}
	c := &TokenCalibration{Encoding: encoding, Points: append([]CalibrationPoint(nil), points...), Ratio: 1}
	n := float64(len(points))
	var sx, sy float64
	for _, p := range points {
		sx += float64(p.ClientTokens)
		sy += float64(p.ServerTokens)
	}
	mx, my := sx/n, sy/n
	var sxx, sxy float64
	for _, p := range points {
		dx := float64(p.ClientTokens) - mx
		sxx += dx * dx
		sxy += dx * (float64(p.ServerTokens) - my)
	}
	if sxx > 0 {
		c.Ratio = sxy / sxx
	}
	c.Offset = my - c.Ratio*mx
	c.Ratio = math.Round(c.Ratio*1e6) / 1e6
	c.Offset = math.Round(c.Offset*1e3) / 1e3
	if sxx == 0 {
		for _, p := range points[1:] {
			if p.ServerTokens != points[0].ServerTokens {
				return nil, fmt.Errorf("the server counted the same %d-token prompt as %d and %d tokens: its counts are not stable", p.ClientTokens, points[0].ServerTokens, p.ServerTokens)
			}
		}
	}
	if c.Ratio < preflightRatioMin || c.Ratio > preflightRatioMax {
		return c, fmt.Errorf("the server counts %.3f tokens per client token, outside %.1f to %.1f: its counts are not comparable with the client's (truncation, caching or a different unit)", c.Ratio, preflightRatioMin, preflightRatioMax)
	}
	return c, nil
}

// TemplateOverhead is the server's tokens beyond the client's for a prompt
// of the shortest calibrated length: the chat template's tokens, plus any
// tokenizer difference at that length. With several points it is the fitted
// offset, which separates the template from the tokenizer ratio.
func (c *TokenCalibration) TemplateOverhead() int {
	if c == nil || len(c.Points) == 0 {
		return 0
	}
	if len(c.Points) == 1 {
		return c.Points[0].ServerTokens - c.Points[0].ClientTokens
	}
	return int(math.Round(c.Offset))
}

// ServerTokens predicts the server's count for a prompt of client tokens.
func (c *TokenCalibration) ServerTokens(client int) int {
	if c == nil {
		return client
	}
	return int(math.Ceil(c.Ratio*float64(client) + c.Offset - 1e-9))
}

// ClientLength returns the client length whose prompt the server counts as
// at most server tokens (the largest such, by the fit). It fails when no
// positive client length fits.
func (c *TokenCalibration) ClientLength(server int) (int, error) {
	if c == nil {
		return server, nil
	}
	if !(c.Ratio >= preflightRatioMin && c.Ratio <= preflightRatioMax) {
		return 0, fmt.Errorf("the calibration's ratio %.3f is not usable for server-basis lengths", c.Ratio)
	}
	n := int(math.Floor((float64(server)-c.Offset)/c.Ratio + 1e-9))
	if n < 1 {
		return 0, fmt.Errorf("a length of %d server tokens leaves no room for a prompt after the server's %.0f-token template", server, c.Offset)
	}
	return n, nil
}

// ServerBasisLengths converts lengths counted in server tokens to the client
// lengths to ask the corpus for, in the same order, so that the server counts
// about the requested length (exactly, when its tokenizer is the client's
// and its template overhead constant). A nil calibration returns the lengths
// unchanged. The caller keeps the mapping to report the requested lengths.
func ServerBasisLengths(lengths []int, cal *TokenCalibration) ([]int, error) {
	out := make([]int, len(lengths))
	for i, l := range lengths {
		n, err := cal.ClientLength(l)
		if err != nil {
			return nil, fmt.Errorf("length %d (server basis): %w", l, err)
		}
		out[i] = n
	}
	return out, nil
}

// preflightCalibrate sends one short needle prompt per length through the
// real target and fits the calibration. It returns the points measured, the
// fit (nil when unavailable) and warnings; an error only for a failure that
// means the target cannot be used at all (unreachable, refused credentials,
// unknown model).
func preflightCalibrate(ctx context.Context, cfg TargetConfig, o *preflightOptions, lengths []int) (*TokenCalibration, []string, error) {
	cfg.MaxTokens = preflightCalMaxTokens
	cfg.Temperature = 0
	opts := []TargetOption{TargetEnv(o.lookupEnv), TargetIdleConns(2)}
	if o.rt != nil {
		opts = append(opts, TargetRoundTripper(o.rt))
	}
	t, err := NewTarget(cfg, opts...)
	if err != nil {
		return nil, nil, err
	}
	if c, ok := t.(io.Closer); ok {
		defer c.Close()
	}
	m := corpus.Matrix{
		Tasks: []string{corpus.TaskSingle}, Lengths: lengths, Depths: []float64{50}, Samples: 1,
		Haystack: o.haystack, Encoding: o.encoding, Seed: preflightCalSeed,
	}
	cases, err := m.Cases(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("building the calibration prompts: %w", err)
	}
	var (
		points   []CalibrationPoint
		warnings []string
	)
	for i := range cases {
		c := &cases[i]
		var rec run.Record
		preflightSend(ctx, t, c, &rec, o)
		if rec.ErrorClass != "" {
			if preflightFatalRecord(&rec) {
				return nil, warnings, &PreflightError{Kind: preflightKindOfRecord(&rec), Msg: fmt.Sprintf("the calibration request failed: %s", rec.Error)}
			}
			warnings = append(warnings, fmt.Sprintf("calibration at %d tokens failed (%s): %s", c.PromptTokens, rec.ErrorClass, rec.Error))
			continue
		}
		if rec.PromptTokensServer <= 0 && rec.UsageInvalid != "" {
			warnings = append(warnings, "token calibration is unavailable: the server's usage is not usable ("+oneLine(rec.UsageInvalid, 300)+"), so the chat template overhead is unknown and length_basis \"server\" cannot be used")
			return nil, warnings, nil
		}
		if rec.PromptTokensServer <= 0 {
			warnings = append(warnings, "token calibration is unavailable: the server sent no prompt token count (no usage in its answer), so the chat template overhead is unknown and length_basis \"server\" cannot be used")
			return nil, warnings, nil
		}
		points = append(points, CalibrationPoint{ClientTokens: c.PromptTokens, ServerTokens: rec.PromptTokensServer, CachedTokens: rec.CachedTokens})
	}
	if len(points) == 0 {
		warnings = append(warnings, "token calibration is unavailable: no calibration request succeeded")
		return nil, warnings, nil
	}
	cal, err := NewTokenCalibration(m.Encoding, points...)
	if err != nil {
		warnings = append(warnings, "token calibration is not usable: "+err.Error())
		return nil, warnings, nil
	}
	if cal.Encoding == "" {
		cal.Encoding = corpus.DefaultEncoding
	}
	return cal, warnings, nil
}

// preflightFatalRecord reports a calibration failure that makes the target
// unusable, as opposed to one that only leaves calibration unavailable.
func preflightFatalRecord(rec *run.Record) bool {
	switch {
	case rec.ErrorClass == run.ErrConnection, rec.ErrorClass == run.ErrCanceled:
		return true
	case rec.Status == 401, rec.Status == 403, rec.Status == 404:
		return true
	}
	return false
}

// preflightKindOfRecord is the PreflightError kind of a fatal record.
func preflightKindOfRecord(rec *run.Record) error {
	switch {
	case rec.ErrorClass == run.ErrConnection:
		return ErrUnreachable
	case rec.ErrorClass == run.ErrCanceled:
		return context.Canceled
	case rec.Status == 401, rec.Status == 403:
		return ErrUnauthorized
	default:
		return ErrModelNotListed
	}
}

// preflightSend sends one calibration request, trying it again while the
// server is not ready: a connection failure (the listing already reached
// the server) up to o.retry.Retries times, a 503 for up to
// o.retry.ReadyWait. Calibration requests are not measurements.
func preflightSend(ctx context.Context, t Target, c *corpus.Case, rec *run.Record, o *preflightOptions) {
	start := time.Now()
	for n := 0; ; n++ {
		*rec = run.Record{}
		t.Send(ctx, c, rec)
		var reason string
		switch {
		case ctx.Err() != nil:
			return
		case rec.ErrorClass == run.ErrConnection && n < o.retry.Retries:
			reason = "connection failed"
		case rec.Status == http.StatusServiceUnavailable && time.Since(start) < o.retry.ReadyWait:
			reason = "503, not ready"
		default:
			return
		}
		wait := o.retry.wait(n)
		if o.note != nil {
			o.note("calibration "+reason, fmt.Sprintf("calibration request of %d tokens: %s (%s); tried again after %s", c.PromptTokens, reason, oneLine(rec.Error, 160), wait))
		}
		if !preflightSleep(ctx, wait) {
			return
		}
	}
}
