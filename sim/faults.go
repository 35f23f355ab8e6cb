package sim

// Fault is an injected failure of one request.
type Fault int

// The faults, at most one per request.
const (
	FaultNone Fault = iota
	// Fault429 answers 429 Too Many Requests with Retry-After.
	Fault429
	// Fault500 answers 500 Internal Server Error.
	Fault500
	// Fault503 answers 503 Service Unavailable.
	Fault503
	// FaultBroken closes the connection midway through the answer.
	FaultBroken
	// FaultSlow sends every chunk SlowGap apart.
	FaultSlow
	// FaultStall pauses StallSeconds before the first token.
	FaultStall
)

var faultNames = [...]string{"none", "429", "500", "503", "broken", "slow", "stall"}

// String is the fault's name as the X-Sim-Fault header shows it.
func (f Fault) String() string {
	if f < 0 || int(f) >= len(faultNames) {
		return "unknown"
	}
	return faultNames[f]
}

// pickFault draws the fault of one request: the fault probabilities are
// disjoint slices of [0, 1); a 5xx is a 500 or a 503 with equal chance.
func (c Config) pickFault(r *rng) Fault {
	u := r.float64()
	half := r.float64() < 0.5
	for _, f := range []struct {
		p     float64
		fault Fault
	}{
		{c.Fault429, Fault429}, {c.Fault5xx, Fault500}, {c.FaultBroken, FaultBroken},
		{c.FaultSlow, FaultSlow}, {c.FaultStall, FaultStall},
	} {
		if u < f.p {
			if f.fault == Fault500 && half {
				return Fault503
			}
			return f.fault
		}
		u -= f.p
	}
	return FaultNone
}
