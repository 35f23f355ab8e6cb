package probes

import (
	"testing"

	"github.com/needlestorm/needlestorm/corpus"
)

func TestAssess(t *testing.T) {
	known := Calibration{Overhead: 12, OverheadKnown: true}
	base := Observation{
		Expected:         []string{"4815162"},
		CanaryHead:       "alpha-31",
		CanaryTail:       "omega-77",
		NeedleTokenIndex: 100,
		ResponseFacts: ResponseFacts{
			PromptTokensClient: 4096,
			PromptTokensServer: 4096 + 12,
			Calibration:        known,
		},
	}
	with := func(f func(*Observation)) Observation {
		o := base
		f(&o)
		return o
	}
	tests := []struct {
		name       string
		obs        Observation
		want       string
		cut        string
		needleLost bool
	}{
		{"correct", with(func(o *Observation) { o.Answer = "alpha-31, 4,815,162, omega-77" }), AttrCorrect, CutNone, false},
		{"correct although tail cut", with(func(o *Observation) { o.Answer = "alpha-31 4815162"; o.PromptTokensServer = 0 }), AttrCorrect, CutTail, false},
		{"plain miss", with(func(o *Observation) { o.Answer = "alpha-31, 999, omega-77" }), AttrModelMissed, CutNone, false},
		{"miss phrased as cannot find", with(func(o *Observation) { o.Answer = "I cannot find the number." }), AttrModelMissed, CutNone, false},
		{"empty answer is a miss, not truncation", with(func(o *Observation) { o.Answer = "" }), AttrModelMissed, CutNone, false},
		{"refusal", with(func(o *Observation) { o.Answer = "I'm sorry, I can't help with that." }), AttrRefused, CutNone, false},
		{"server counted fewer tokens (head kept by tail-keeping server)", with(func(o *Observation) {
			o.PromptTokensServer = 2048
			o.Answer = "999, omega-77"
		}), AttrServerTruncated, CutHead, true},
		{"server counted fewer tokens, no canaries in answer", with(func(o *Observation) {
			o.PromptTokensServer = 2048
			o.Answer = "I don't know"
		}), AttrServerTruncated, CutUnknown, false},
		{"shortfall within tolerance is not truncation", with(func(o *Observation) {
			o.PromptTokensServer = 4096 + 12 - 100 // tolerance is 5% of 4096 = 205
			o.Answer = "alpha-31, 1, omega-77"
		}), AttrModelMissed, CutNone, false},
		{"head canary lost, no server count", with(func(o *Observation) { o.Answer = "12, omega-77"; o.PromptTokensServer = 0 }), AttrServerTruncated, CutHead, false},
		{"canary missing but the server counted it all: the model's miss", with(func(o *Observation) { o.Answer = "12, omega-77" }), AttrModelMissed, CutNone, false},
		{"tail canary lost, server short within tolerance", with(func(o *Observation) {
			o.Answer = "alpha-31, 12"
			o.PromptTokensServer = 4096 + 12 - 50
		}), AttrServerTruncated, CutTail, false},
		{"cut end unknown from the answer, known for the target", with(func(o *Observation) {
			o.Answer = "I cannot find it"
			o.PromptTokensServer = 2048
			o.Calibration.CutEnd = CutHead
		}), AttrServerTruncated, CutHead, true},
		{"both canaries lost but needle found part", with(func(o *Observation) {
			o.Expected = []string{"4815162", "2342"}
			o.Answer = "4815162"
			o.Calibration = Calibration{}
		}), AttrServerTruncated, CutBoth, false},
		{"no server count, overhead unknown: only canaries judge", with(func(o *Observation) {
			o.PromptTokensServer = 0
			o.Calibration = Calibration{}
			o.Answer = "alpha-31 12 omega-77"
		}), AttrModelMissed, CutNone, false},
		{"context_overflow", with(func(o *Observation) {
			o.ErrorClass = "context_overflow"
			o.Status = 400
		}), AttrRejected, CutNone, false},
		{"413", with(func(o *Observation) { o.ErrorClass = "bad_response"; o.Status = 413 }), AttrRejected, CutNone, false},
		{"400 naming the context", with(func(o *Observation) {
			o.ErrorClass = "bad_response"
			o.Status = 400
			o.Error = "This model's maximum context length is 4096 tokens"
		}), AttrRejected, CutNone, false},
		{"400 for something else", with(func(o *Observation) {
			o.ErrorClass = "bad_response"
			o.Status = 400
			o.Error = "invalid api key format"
		}), AttrError, CutNone, false},
		{"rate limited", with(func(o *Observation) { o.ErrorClass = "rate_limited"; o.Status = 429 }), AttrError, CutNone, false},
		{"cut off", with(func(o *Observation) {
			o.FinishReason = "length"
			o.Answer = "Let me think step by step about alpha"
		}), AttrCutOff, CutNone, false},
		{"anthropic max_tokens", with(func(o *Observation) {
			o.FinishReason = "max_tokens"
			o.Answer = "alpha-31 and then"
		}), AttrCutOff, CutNone, false},
		{"token truncation outranks cut-off", with(func(o *Observation) {
			o.FinishReason = "length"
			o.PromptTokensServer = 1000
			o.Answer = "hm"
		}), AttrServerTruncated, CutUnknown, false},
		{"tail cut takes a late needle", with(func(o *Observation) {
			o.NeedleTokenIndex = 4000
			o.PromptTokensServer = 3000
			o.Answer = "alpha-31, 1"
		}), AttrServerTruncated, CutTail, true},

		// The needle's index counts every message content in order, the
		// system content first. A 50-token system prompt and a needle 60
		// tokens into the user content: index 110. A head cut of 300
		// tokens (server 4096+12-300) takes it; one of 100 does not,
		// though 60 < 100 would have said so had the index counted the
		// user content alone.
		{"head cut past a system prompt takes the needle", with(func(o *Observation) {
			o.NeedleTokenIndex = 50 + 60
			o.PromptTokensServer = 4096 + 12 - 300
			o.Answer = "1, omega-77"
		}), AttrServerTruncated, CutHead, true},
		{"head cut within the system prompt and the needle's lead spares it", with(func(o *Observation) {
			o.NeedleTokenIndex = 50 + 60
			o.PromptTokensServer = 4096 + 12 - 300 + 200
			o.Calibration.Tolerance = 50
			o.Answer = "1, omega-77"
		}), AttrServerTruncated, CutHead, false},

		// The overhead's split around the contents is unknown: a needle
		// within the overhead (12) of the cut's edge is a close call, not
		// claimed as lost.
		{"head cut edge: needle beyond shortfall minus overhead is not claimed", with(func(o *Observation) {
			o.NeedleTokenIndex = 2050 // shortfall 2060, 2060-12 = 2048
			o.PromptTokensServer = 2048
			o.Answer = "1, omega-77"
		}), AttrServerTruncated, CutHead, false},
		{"head cut edge: needle before shortfall minus overhead is lost", with(func(o *Observation) {
			o.NeedleTokenIndex = 2047
			o.PromptTokensServer = 2048
			o.Answer = "1, omega-77"
		}), AttrServerTruncated, CutHead, true},
		{"tail cut edge: needle within the overhead of the edge is not claimed", with(func(o *Observation) {
			o.NeedleTokenIndex = 2990 // shortfall 1108: lost from 4096-1108+12 = 3000
			o.PromptTokensServer = 3000
			o.Answer = "alpha-31, 1"
		}), AttrServerTruncated, CutTail, false},
		{"tail cut edge: needle at client minus shortfall plus overhead is lost", with(func(o *Observation) {
			o.NeedleTokenIndex = 3000
			o.PromptTokensServer = 3000
			o.Answer = "alpha-31, 1"
		}), AttrServerTruncated, CutTail, true},
		{"overhead unknown: the shortfall leaves it out, no margin taken", with(func(o *Observation) {
			o.Calibration = Calibration{}
			o.NeedleTokenIndex = 2047 // shortfall 4096-2048 = 2048
			o.PromptTokensServer = 2048
			o.Answer = "1, omega-77"
		}), AttrServerTruncated, CutHead, true},
		{"canaries alone (no server count) never claim the needle", with(func(o *Observation) {
			o.NeedleTokenIndex = 0
			o.PromptTokensServer = 0
			o.Answer = "1, omega-77"
		}), AttrServerTruncated, CutHead, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Assess(tt.obs)
			if a.Attribution != tt.want || a.Cut != tt.cut || a.NeedleLost != tt.needleLost {
				t.Errorf("Assess = %s cut %q needle lost %v (%s), want %s cut %q needle lost %v",
					a.Attribution, a.Cut, a.NeedleLost, a.Reason, tt.want, tt.cut, tt.needleLost)
			}
			if (a.Attribution == AttrCorrect) != a.Correct {
				t.Errorf("Correct %v disagrees with attribution %s", a.Correct, a.Attribution)
			}
			if a.Attribution != AttrCorrect && a.Reason == "" {
				t.Errorf("no reason given for %s", a.Attribution)
			}
		})
	}
}

func TestJudge(t *testing.T) {
	c := &corpus.Case{
		Expected:         []string{"8191"},
		PromptTokens:     4096,
		NeedleTokenIndex: 0,
		Canaries:         &corpus.Canaries{Head: "h-1", Tail: "t-2"},
	}
	tests := []struct {
		name string
		r    ResponseFacts
		want Verdict
	}{
		{"correct", ResponseFacts{Answer: "h-1 8,191 t-2"}, Verdict{Correct: true, Recall: 1, Any: true, Attribution: AttrCorrect}},
		{"client count taken from the case", ResponseFacts{Answer: "t-2", PromptTokensServer: 2048}, Verdict{Attribution: AttrServerTruncated}},
		{"head canary", ResponseFacts{Answer: "0 t-2", PromptTokensClient: 4096, PromptTokensServer: 4100}, Verdict{Attribution: AttrServerTruncated}},
		{"miss", ResponseFacts{Answer: "h-1 0 t-2"}, Verdict{Attribution: AttrModelMissed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Judge(c, tt.r); got != tt.want {
				t.Errorf("Judge = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMeasureOverhead(t *testing.T) {
	tests := []struct {
		name    string
		samples []OverheadSample
		want    int
		ok      bool
	}{
		{"none", nil, 0, false},
		{"only failures", []OverheadSample{{Length: 1000, Client: 1000, Server: 1010}}, 0, false},
		{"no server counts", []OverheadSample{{Length: 1000, Client: 1000, OK: true}}, 0, false},
		{"median at the shortest length", []OverheadSample{
			{Length: 1000, Client: 1000, Server: 1011, OK: true},
			{Length: 1000, Client: 1000, Server: 1009, OK: true},
			{Length: 1000, Client: 1000, Server: 1500, OK: true}, // odd one
			{Length: 8000, Client: 8000, Server: 2048, OK: true}, // truncated, longer
		}, 11, true},
		{"widens to the next length when short of samples", []OverheadSample{
			{Length: 1000, Client: 1000, Server: 1007, OK: true},
			{Length: 2000, Client: 2000, Server: 2007, OK: true},
			{Length: 2000, Client: 2000, Server: 2009, OK: true},
			{Length: 64000, Client: 64000, Server: 4096, OK: true},
		}, 7, true},
		{"even count takes the lower middle", []OverheadSample{
			{Length: 1000, Client: 1000, Server: 1004, OK: true},
			{Length: 1000, Client: 1000, Server: 1006, OK: true},
			{Length: 1000, Client: 1000, Server: 1008, OK: true},
			{Length: 1000, Client: 1000, Server: 1010, OK: true},
		}, 6, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := MeasureOverhead(tt.samples)
			if ok != tt.ok || got.Overhead != tt.want || got.OverheadKnown != tt.ok {
				t.Errorf("MeasureOverhead = %+v, %v; want overhead %d, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func BenchmarkAssess(b *testing.B) {
	o := Observation{
		Expected: []string{"4815162"}, CanaryHead: "alpha-31", CanaryTail: "omega-77",
		ResponseFacts: ResponseFacts{
			Answer:             "I'm sorry, but I could not find alpha-31 or the number, only omega-77.",
			PromptTokensClient: 32000, PromptTokensServer: 32010, Calibration: Calibration{Overhead: 10, OverheadKnown: true},
		},
	}
	b.ReportAllocs()
	for b.Loop() {
		Assess(o)
	}
}
