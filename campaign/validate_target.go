package campaign

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/needlestorm/needlestorm/endpoint"
	"github.com/needlestorm/needlestorm/internal/suggest"
	"github.com/needlestorm/needlestorm/sim"
)

func (v *checker) targets() {
	c := v.c
	if len(c.TargetList) == 0 {
		if c.has("targets") {
			v.at("targets", "the list is empty: name at least one target, such as {name: local, kind: sim}")
		} else {
			v.at("targets", "missing: a campaign needs a list of targets, such as\n    targets:\n      - {name: local, kind: sim}")
		}
		return
	}
	seen := map[string]int{}
	currencies := map[string]string{}
	for i := range c.TargetList {
		t := &c.TargetList[i]
		f := fmt.Sprintf("targets[%d]", i)
		v.targetName(f, t, i, seen)
		switch t.Kind {
		case "":
			v.at(f+".kind", "missing: give the target's kind: %s", orList(TargetKinds))
		case KindOpenAI, KindAnthropic:
			v.remoteTarget(f, t)
		case KindSim:
			v.simTarget(f, t)
		default:
			msg := fmt.Sprintf("%q is not a target kind; use %s", t.Kind, orList(TargetKinds))
			if s := suggest.Closest(t.Kind, TargetKinds); s != "" {
				msg = fmt.Sprintf("%q is not a target kind; did you mean %s? (use %s)", t.Kind, s, orList(TargetKinds))
			}
			v.at(f+".kind", "%s", msg)
		}
		v.targetPrices(f, t, currencies)
	}
}

// targetName requires a name, unique among the targets: records and
// reports tell the targets apart by it.
func (v *checker) targetName(f string, t *Target, i int, seen map[string]int) {
	if t.Name == "" {
		v.at(f+".name", "missing: every target needs a name, used in records and reports")
		return
	}
	if j, dup := seen[t.Name]; dup {
		v.at(f+".name", "%q is already the name of targets[%d]: target names must be unique", t.Name, j)
	}
	seen[t.Name] = i
}

// config checks a target's endpoint configuration as NewTarget will take
// it: endpoint's own validation, and no explicit zero that its defaults
// would replace.
func (v *checker) config(f string, cfg endpoint.TargetConfig) {
	v.givenDefaults(f, cfg, cfg.WithDefaults())
	if err := cfg.Validate(); err != nil {
		v.engine(f, err)
	}
}

func (v *checker) remoteTarget(f string, t *Target) {
	if u, err := url.Parse(t.BaseURL); err == nil && u.User != nil {
		v.secret(f+".base_url", "the URL holds a user name or password: put credentials in api_key_env or a ${NAME} header instead")
	}
	for _, k := range []string{"sim_profile", "sim", "time_scale"} {
		if v.c.has(f + "." + k) {
			v.at(f+"."+k, "only for kind sim (this target is %s)", t.Kind)
		}
	}
	v.config(f, t.TargetConfig)
}

func (v *checker) simTarget(f string, t *Target) {
	if t.BaseURL != "" {
		v.at(f+".base_url", "a sim target is started in-process on loopback and needs no base_url; to measure a simulator started with `needlestorm sim`, use kind openai with its URL")
	}
	if t.TimeScale != nil && (!finite(*t.TimeScale) || *t.TimeScale < 0) {
		v.at(f+".time_scale", "%g: the time scale must be 0 or more (1 real time, 0.01 a hundred times faster, 0 never sleeps)", *t.TimeScale)
		return
	}
	cfg, err := t.simConfig()
	var own *Error
	switch {
	case errors.As(err, &own):
		// The error holds its own place (a key or a value).
		own.File = v.c.File
		own.excerpt = excerpt(v.c.src, own.Line, own.Column)
		v.errs = append(v.errs, own)
		return
	case err != nil:
		msg := fmt.Sprintf("%q is not a simulator profile; use %s", t.SimProfile, orList(sim.Profiles()))
		if s := suggest.Closest(t.SimProfile, sim.Profiles()); s != "" {
			msg = fmt.Sprintf("%q is not a simulator profile; did you mean %s? (use %s)", t.SimProfile, s, orList(sim.Profiles()))
		}
		v.at(f+".sim_profile", "%s", msg)
		return
	}
	if err := cfg.Validate(); err != nil {
		field := f + ".sim"
		if !v.c.has(field) {
			field = f + ".sim_profile"
		}
		v.at(field, "the simulator settings are not valid: %v", err)
	}
	// Checked as it will be sent: to the simulator's OpenAI API on
	// loopback, asking for the profile's model unless the file names one.
	sent := t.TargetConfig
	sent.Kind, sent.BaseURL = endpoint.KindOpenAI, "http://"+sim.DefaultAddr+"/v1"
	if sent.Model == "" {
		sent.Model = cfg.Model
	}
	v.config(f, sent)
}

// targetPrices checks the prices and that every priced target uses the
// same currency.
func (v *checker) targetPrices(f string, t *Target, currencies map[string]string) {
	for _, p := range []struct {
		name string
		val  float64
	}{{"input", t.Prices.Input}, {"output", t.Prices.Output}, {"cached", t.Prices.Cached}} {
		if !finite(p.val) || p.val < 0 {
			v.at(f+".prices."+p.name, "%g: a price per million tokens must be 0 or more", p.val)
		}
	}
	if !currencyCode.MatchString(t.Currency) {
		v.at(f+".currency", "%q is not a currency code: write three capital letters such as USD or EUR", t.Currency)
		return
	}
	if !t.Prices.Given() {
		return
	}
	for other, j := range currencies {
		if other != t.Currency {
			v.at(f+".currency", "%s differs from %s of %s: one report sums costs in one currency, so give every priced target the same currency", t.Currency, other, j)
		}
	}
	currencies[t.Currency] = f
}

// secretLike reports whether an error's line may show a secret, so its
// excerpt is left out.
func secretLike(e *Error) bool {
	last := e.Field
	if i := strings.LastIndexAny(last, ".]"); i >= 0 {
		last = last[i+1:]
	}
	return looksLikeSecretField(last) || strings.Contains(e.Field, "headers") || strings.HasSuffix(e.Field, "api_key_env")
}
