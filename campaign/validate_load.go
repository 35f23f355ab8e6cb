package campaign

import (
	"fmt"

	"github.com/needlestorm/needlestorm/internal/suggest"
	"github.com/needlestorm/needlestorm/loadgen"
)

func (v *checker) load() {
	c := v.c
	l := &c.Load
	switch {
	case len(l.Stages) > 0 && l.Search != nil:
		v.at("load.search", "give load.stages or load.search, not both: stages run a fixed schedule, search looks for the highest rate that holds")
		return
	case len(l.Stages) == 0 && l.Search == nil:
		if c.given("load.stages") {
			v.at("load.stages", "the list is empty: give at least one stage, such as {rate: 2, duration: 30s}")
		} else {
			v.at("load", "missing: give load.stages (such as [{rate: 2, duration: 30s}]) or load.search")
		}
		return
	}
	for i, s := range l.Stages {
		v.stage(fmt.Sprintf("load.stages[%d]", i), s)
	}
	if l.Search != nil {
		v.search(*l.Search)
	}
}

// stage checks one stage as it will run: loadgen's validation of the stage
// with its defaults and the campaign's request count, the cap on requests
// in flight, and repeats.
func (v *checker) stage(f string, s loadgen.Stage) {
	st := s.WithDefaults()
	v.givenDefaults(f, s, st)
	if !contains(loadgen.StageKinds, st.Kind) {
		msg := fmt.Sprintf("%q is not a stage kind; use %s", st.Kind, orList(loadgen.StageKinds))
		if n := suggest.Closest(st.Kind, loadgen.StageKinds); n != "" {
			msg = fmt.Sprintf("%q is not a stage kind; did you mean %s? (use %s)", st.Kind, n, orList(loadgen.StageKinds))
		}
		v.at(f+".kind", "%s", msg)
		return
	}
	// An unbounded stage sends every case repeats times: at least one.
	if err := v.c.stage(s, max(v.c.cases(), 1)).Validate(); err != nil {
		v.engine(f, err)
		return
	}
	if err := st.CheckInFlight(v.c.maxInFlight()); err != nil {
		cap := "the default; --max-in-flight raises it"
		if flag := v.c.flagOf(flagMaxInFlight); flag != "" {
			cap = "--" + flag
		}
		v.at(f+".concurrency", "%d is above the cap on requests in flight, %d (%s): lower the concurrency or raise the cap", st.Concurrency, v.c.maxInFlight(), cap)
		return
	}
	v.stageRepeats(f, st)
}

// maxInFlight is the cap on requests in flight the run will have.
func (c *Campaign) maxInFlight() int {
	if c.MaxInFlight > 0 {
		return c.MaxInFlight
	}
	return loadgen.DefaultMaxInFlight
}

// stageRepeats refuses a stage that cannot send each case corpus.repeats
// times: one with its own request count (repeats set the same count), or
// an open-loop one whose duration ends it before cases × repeats requests.
func (v *checker) stageRepeats(f string, st loadgen.Stage) {
	c := v.c
	if !c.RepeatsGiven() {
		return
	}
	cases := c.cases()
	if cases == 0 {
		return // the corpus is reported on its own
	}
	repeats, want := v.name("corpus.repeats"), cases*c.Repeats()
	if st.Requests > 0 {
		v.at(f+".requests", "%d requests, but %s %d already sets every stage's count to the %d cases × %d = %d: give only one of them",
			st.Requests, repeats, c.Repeats(), cases, c.Repeats(), want)
		return
	}
	if st.Duration > 0 && st.OpenLoop() {
		if sent := st.Estimate(0).Requests; sent < int64(want) {
			v.at(f+".duration", "in %s the stage (%s) sends about %d requests, fewer than the %d cases × %s %d = %d, so not every case would be sent %d times: lengthen it, or drop the duration (the stage then ends after its %d requests)",
				st.Duration.Duration(), st.Name(), sent, cases, repeats, c.Repeats(), want, c.Repeats(), want)
		}
	}
}

// search checks the envelope search as it will run (see Campaign.Search):
// loadgen's validation, with the warm-up and the ttft limit the campaign
// adds, and no explicit zero that its defaults would replace.
func (v *checker) search(s loadgen.SearchSpec) {
	c := v.c
	const f = "load.search"
	if c.RepeatsGiven() {
		v.at("corpus.repeats", "an envelope search sizes its own steps (load.search.step_duration, step_requests), so repeats cannot apply: drop %s, or give explicit load.stages to measure consistency over repeats", v.name("corpus.repeats"))
	}
	if c.given(f+".warmup") && c.given("load.warmup") {
		v.at(f+".warmup", "the warm-up is given twice, here and as load.warmup: give it once")
	}
	v.givenDefaults(f, s, s.WithDefaults())
	if s.StepRequests == 0 && s.StepDuration == 0 && c.given(f+".step_requests") {
		v.at(f+".step_requests", "0 bounds no step, the same as leaving both step_duration and step_requests out, which gives %s steps: leave it out, or give a bound above 0",
			loadgen.DefaultSearchStepDuration)
	}
	if err := c.Search().Validate(); err != nil {
		prefix := f
		if lf, ok := err.(*loadgen.FieldError); ok && lf.Field == "warmup" && !c.given(f+".warmup") {
			prefix, lf.Field = "load", "warmup"
		}
		v.engine(prefix, err)
	}
}
