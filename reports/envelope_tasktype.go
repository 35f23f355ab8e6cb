package reports

// EnvelopeTaskType is one target's figures on one task type of the user's
// own dataset, as envelope.json carries them: copied from the summary's
// TaskTypeSummary, never recomputed.
type EnvelopeTaskType struct {
	TaskType string `json:"task_type"`
	// Cases is the number of distinct cases answered; Scored the requests
	// with expected answers the accuracy is over, Open those without.
	Cases  int `json:"cases"`
	Scored int `json:"scored"`
	Open   int `json:"open,omitempty"`
	// Accuracy is over the Scored requests (every stage), with its Wilson
	// 95% interval; meaningless when Scored is 0.
	Accuracy   float64    `json:"accuracy"`
	AccuracyCI [2]float64 `json:"accuracy_ci95"`
	// AccuracyThreshold is the run's absolute threshold the task type was
	// judged by; Passed is Scored > 0 and Accuracy at or above it.
	AccuracyThreshold float64 `json:"accuracy_threshold"`
	Passed            bool    `json:"passed"`
	// MaxRate is the highest stage rate at which the task type held the
	// threshold (and the error rate objective), in stage MaxRateStage; nil
	// when no stage did.
	MaxRate      *float64 `json:"max_rate,omitempty"`
	MaxRateStage string   `json:"max_rate_stage,omitempty"`
	// LightestStage is the stage of the lowest rate the task type was
	// scored at; TTFTP95 and E2EP95 its latencies there (nil when not
	// observed), over LightestRequests requests.
	LightestStage    string   `json:"lightest_stage,omitempty"`
	LightestRequests int      `json:"lightest_requests,omitempty"`
	TTFTP95          *float64 `json:"ttft_p95,omitempty"`
	E2EP95           *float64 `json:"e2e_p95,omitempty"`
	// HoldsTo is the longest pad length that held the threshold when the
	// task type's cases were padded (0 when unpadded or none held).
	HoldsTo int `json:"holds_to,omitempty"`
}

// envelopeTaskTypes are the target's task types, in the summary's order.
func envelopeTaskTypes(s *Summary, target string, threshold float64) []EnvelopeTaskType {
	var out []EnvelopeTaskType
	for i := range s.TaskTypes {
		t := &s.TaskTypes[i]
		if t.Target != target {
			continue
		}
		et := EnvelopeTaskType{
			TaskType: t.TaskType, Cases: t.Cases, Scored: t.Scored, Open: t.Open,
			AccuracyThreshold: threshold, Passed: t.ThresholdPassed,
			MaxRate: t.MaxRate, MaxRateStage: t.MaxRateStage, HoldsTo: t.HoldsTo,
		}
		if t.Scored > 0 {
			et.Accuracy, et.AccuracyCI = t.Accuracy, t.AccuracyCI
		}
		if st := lightestTaskStage(t.Stages); st != nil {
			et.LightestStage, et.LightestRequests = st.StageLabel, st.Requests
			if st.TTFT.N > 0 {
				v := st.TTFT.P95
				et.TTFTP95 = &v
			}
			if st.E2E.N > 0 {
				v := st.E2E.P95
				et.E2EP95 = &v
			}
		}
		out = append(out, et)
	}
	return out
}

// lightestTaskStage is the stage of the lowest rate, the first of equal
// rates; nil when there is none.
func lightestTaskStage(stages []TaskTypeStage) *TaskTypeStage {
	var best *TaskTypeStage
	for i := range stages {
		if best == nil || stages[i].StageRate < best.StageRate {
			best = &stages[i]
		}
	}
	return best
}

// TaskType returns the target's figures on a task type, nil when none of
// its cases were measured.
func (et *EnvelopeTarget) TaskType(name string) *EnvelopeTaskType {
	for i := range et.TaskTypes {
		if et.TaskTypes[i].TaskType == name {
			return &et.TaskTypes[i]
		}
	}
	return nil
}
