package corpus

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"math"
	"strconv"
	"strings"
)

// Matrix is a set of Cases: tasks × lengths × depths × samples, from one
// haystack, encoding and seed. It is written into run manifests.
type Matrix struct {
	Tasks   []string  `json:"tasks"`
	Lengths []int     `json:"lengths"`
	Depths  []float64 `json:"depths"`
	// Samples is the number of Cases per (task, length, depth), each with
	// its own keys, values and haystack start; 0 means 1.
	Samples int `json:"samples"`
	// Haystack is prose (default), noise or dir:PATH.
	Haystack string `json:"haystack"`
	// Encoding is cl100k_base (default) or o200k_base.
	Encoding string `json:"encoding"`
	Seed     int64  `json:"seed"`
	// Canaries adds the head and tail marker facts and asks for them.
	Canaries bool `json:"canaries"`
	// SharedPrefix leaves out the cache-busting preamble (drawn per Case,
	// and again per request by Case.WithNonce).
	SharedPrefix bool `json:"shared_prefix"`
	// ValueKind is number (default), uuid or word; chain always uses
	// five-digit numbers, latent character names and cwe list words.
	ValueKind string `json:"value_kind"`
	// Keys is the number of distractor keys (multikey), values (multivalue),
	// keys (multiquery), hops (chain), distractor characters (latent) or
	// common words (cwe); 0 means the task default.
	Keys int `json:"keys"`
}

// DefaultDepths are the depths used when a matrix names none.
var DefaultDepths = []float64{0, 25, 50, 75, 100}

// normalized fills defaults and checks every field, with errors that say
// what to fix.
func (m Matrix) normalized() (Matrix, error) {
	if len(m.Tasks) == 0 {
		m.Tasks = []string{TaskSingle}
	}
	for _, t := range m.Tasks {
		if err := CheckTask(t); err != nil {
			return m, err
		}
		if _, err := resolveKeys(t, m.Keys); err != nil {
			return m, err
		}
		if _, err := checkValueKind(t, m.ValueKind); err != nil {
			return m, err
		}
	}
	if len(m.Lengths) == 0 {
		return m, fmt.Errorf("no lengths: give at least one, for example 1k,8k,32k")
	}
	for _, n := range m.Lengths {
		if n <= 0 {
			return m, fmt.Errorf("length must be a positive number of tokens, not %d (for example 8k)", n)
		}
		if n > MaxLength {
			return m, fmt.Errorf("length %d is more than the supported maximum of %s tokens", n, FormatLength(MaxLength))
		}
	}
	if len(m.Depths) == 0 {
		m.Depths = DefaultDepths
	}
	for _, d := range m.Depths {
		if math.IsNaN(d) || d < 0 || d > 100 {
			return m, fmt.Errorf("depth must be between 0 and 100 percent, not %v", d)
		}
	}
	if m.Samples < 0 {
		return m, fmt.Errorf("samples must be 1 or more, not %d", m.Samples)
	}
	if m.Samples == 0 {
		m.Samples = 1
	}
	if m.Haystack == "" {
		m.Haystack = DefaultHaystack
	}
	if err := CheckHaystack(m.Haystack); err != nil {
		return m, err
	}
	if m.Encoding == "" {
		m.Encoding = DefaultEncoding
	}
	if _, err := GetTokenizer(m.Encoding); err != nil {
		return m, err
	}
	m.Tasks = dedupe(m.Tasks)
	m.Lengths = dedupe(m.Lengths)
	m.Depths = dedupe(m.Depths)
	return m, nil
}

func dedupe[T comparable](s []T) []T {
	seen := make(map[T]bool, len(s))
	out := make([]T, 0, len(s))
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// Specs returns the matrix's specs in its stable order: task, then length,
// then depth, then sample, each in the order given (repeats dropped).
func (m Matrix) Specs() ([]Spec, error) {
	m, err := m.normalized()
	if err != nil {
		return nil, err
	}
	return m.specs(), nil
}

func (m Matrix) specs() []Spec {
	out := make([]Spec, 0, len(m.Tasks)*len(m.Lengths)*len(m.Depths)*m.Samples)
	for _, t := range m.Tasks {
		for _, n := range m.Lengths {
			for _, d := range m.Depths {
				for s := 0; s < m.Samples; s++ {
					out = append(out, Spec{
						Task: t, Length: n, Depth: d, Sample: s,
						ValueKind: m.ValueKind, Keys: m.Keys,
						Canaries: m.Canaries, SharedPrefix: m.SharedPrefix,
					})
				}
			}
		}
	}
	return out
}

// Builder returns a Builder for the matrix's haystack, encoding and seed.
func (m Matrix) Builder(opts ...BuilderOption) (*Builder, error) {
	m, err := m.normalized()
	if err != nil {
		return nil, err
	}
	return NewBuilder(m.Haystack, m.Encoding, m.Seed, opts...)
}

// Cases expands the matrix into Cases in the order of Specs.
func (m Matrix) Cases(ctx context.Context) ([]Case, error) {
	var out []Case
	for c, err := range m.All(ctx) {
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// All yields the matrix's Cases one at a time in the order of Specs, so a
// caller can stream a large matrix without holding every prompt. After an
// error it yields nothing more. It makes its own Builder; use Builder.All to
// share one (and its tokenized haystack) across matrices.
func (m Matrix) All(ctx context.Context, opts ...BuilderOption) iter.Seq2[Case, error] {
	return func(yield func(Case, error) bool) {
		b, err := m.Builder(opts...)
		if err != nil {
			yield(Case{}, err)
			return
		}
		b.All(ctx, m)(yield)
	}
}

// All yields the Cases of a matrix whose haystack, encoding and seed are the
// builder's (empty fields take the builder's), in the order of Specs.
func (b *Builder) All(ctx context.Context, m Matrix) iter.Seq2[Case, error] {
	return func(yield func(Case, error) bool) {
		if m.Haystack == "" {
			m.Haystack = b.haystack
		}
		if m.Encoding == "" {
			m.Encoding = b.encoding
		}
		m, err := m.normalized()
		if err != nil {
			yield(Case{}, err)
			return
		}
		if m.Haystack != b.haystack || m.Encoding != b.encoding || m.Seed != b.seed {
			yield(Case{}, fmt.Errorf("matrix (haystack %s, encoding %s, seed %d) does not match the builder (haystack %s, encoding %s, seed %d)",
				m.Haystack, m.Encoding, m.Seed, b.haystack, b.encoding, b.seed))
			return
		}
		maxLen, minLen := 0, MaxLength
		for _, n := range m.Lengths {
			maxLen, minLen = max(maxLen, n), min(minLen, n)
		}
		// Fail before yielding anything when the shortest length cannot
		// hold a task.
		if err := b.fit(ctx, m, minLen); err != nil {
			yield(Case{}, err)
			return
		}
		if err := b.Prepare(ctx, maxLen); err != nil {
			yield(Case{}, err)
			return
		}
		for _, s := range m.specs() {
			if err := ctx.Err(); err != nil {
				yield(Case{}, err)
				return
			}
			c, err := b.BuildContext(ctx, s)
			if !yield(c, err) || err != nil {
				return
			}
		}
	}
}

// Fit reports whether length holds every task of m: it builds the first
// case of each task at that length (a short prompt each, nothing sent), and
// returns the first error, which wraps ErrTooShort when the length cannot
// hold a task's fixed text (its system prompt, question, needles and
// markers). m's haystack, encoding and seed must be the builder's (empty
// fields take the builder's); its own lengths do not matter.
func (b *Builder) Fit(ctx context.Context, m Matrix, length int) error {
	m.Haystack, m.Encoding, m.Lengths = cmp.Or(m.Haystack, b.haystack), cmp.Or(m.Encoding, b.encoding), []int{length}
	m, err := m.normalized()
	if err != nil {
		return err
	}
	return b.fit(ctx, m, length)
}

// fit is Fit for a normalized matrix.
func (b *Builder) fit(ctx context.Context, m Matrix, length int) error {
	for _, t := range m.Tasks {
		s := Spec{Task: t, Length: length, Depth: m.Depths[0], ValueKind: m.ValueKind, Keys: m.Keys, Canaries: m.Canaries, SharedPrefix: m.SharedPrefix}
		if _, err := b.BuildContext(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// ParseLengths parses a comma-separated list of token lengths: plain numbers,
// or with the suffix k (1,000) or m (1,000,000), such as "1k,8k,32k,1m" or
// "1.5k". Every length must be a positive whole number of tokens.
func ParseLengths(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			if strings.TrimSpace(s) == "" {
				return nil, fmt.Errorf("no lengths given: write them like 1k,8k,32k")
			}
			return nil, fmt.Errorf("empty entry in lengths %q: write them like 1k,8k,32k", s)
		}
		n, err := parseLength(f)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func parseLength(f string) (int, error) {
	mult := 1.0
	num := f
	switch {
	case strings.HasSuffix(f, "k"), strings.HasSuffix(f, "K"):
		mult, num = 1e3, f[:len(f)-1]
	case strings.HasSuffix(f, "m"), strings.HasSuffix(f, "M"):
		mult, num = 1e6, f[:len(f)-1]
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || strings.ContainsAny(num, "eEpPxX_") {
		return 0, fmt.Errorf("length %q is not a number of tokens: write 256, 8k (8,000) or 1m (1,000,000)", f)
	}
	t := v * mult
	if t <= 0 {
		return 0, fmt.Errorf("length %q must be a positive number of tokens", f)
	}
	if t > MaxLength {
		return 0, fmt.Errorf("length %q is more than the supported maximum of %s tokens", f, FormatLength(MaxLength))
	}
	if t != math.Trunc(t) {
		return 0, fmt.Errorf("length %q is not a whole number of tokens", f)
	}
	return int(t), nil
}

// ParseDepths parses a comma-separated list of depths in percent (0 to 100),
// such as "0,25,50,75,100"; a trailing % is allowed.
func ParseDepths(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			if strings.TrimSpace(s) == "" {
				return nil, fmt.Errorf("no depths given: write them like 0,25,50,75,100")
			}
			return nil, fmt.Errorf("empty entry in depths %q: write them like 0,25,50,75,100", s)
		}
		num := strings.TrimSuffix(f, "%")
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || strings.ContainsAny(num, "xXpP_") || math.IsNaN(v) {
			return nil, fmt.Errorf("depth %q is not a number: write percentages from 0 to 100, like 0,25,50,75,100", f)
		}
		if v < 0 || v > 100 {
			return nil, fmt.Errorf("depth %q is outside 0 to 100 percent", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// FormatLength writes a length the short way: 8000 -> "8k", 1000000 ->
// "1m", 1500 -> "1.5k", 300 -> "300", 1234 -> "1234".
func FormatLength(n int) string {
	switch {
	case n >= 1_000_000 && n%10_000 == 0:
		return strconv.FormatFloat(float64(n)/1e6, 'f', -1, 64) + "m"
	case n >= 1000 && n%100 == 0:
		return strconv.FormatFloat(float64(n)/1e3, 'f', -1, 64) + "k"
	}
	return strconv.Itoa(n)
}
