package probes

import "strings"

// refusalPhrases are what a model says when it declines to do the task, on
// normalised text (see Normalize: "I can't" becomes "i can t").
var refusalPhrases = []string{
	"i can t help", "i cannot help", "i can not help",
	"i can t assist", "i cannot assist", "i can not assist",
	"i can t comply", "i cannot comply",
	"i can t provide", "i cannot provide",
	"i can t share", "i cannot share",
	"i can t do that", "i cannot do that",
	"i won t", "i will not",
	"i m not able to help", "i am not able to help",
	"i m unable to help", "i am unable to help",
	"i m unable to assist", "i am unable to assist",
	"i m unable to comply", "i am unable to comply",
	"i must decline", "i have to decline", "i decline",
	"i m sorry", "i am sorry", "sorry but i",
	"as an ai",
	"against my guidelines", "not able to fulfill", "can t fulfill", "cannot fulfill",
}

// missPhrases say the model looked and did not find the answer: a miss, not
// a refusal, even when wrapped in an apology ("I'm sorry, but I cannot find
// the number in the text").
var missPhrases = []string{
	"can t find", "cannot find", "can not find", "couldn t find", "could not find",
	"unable to find", "unable to locate", "can t locate", "cannot locate", "could not locate",
	"not find", "no mention", "not mentioned", "isn t mentioned", "is not mentioned",
	"not stated", "not specified", "not provided", "no information",
	"does not contain", "doesn t contain", "not contain", "not in the text",
	"not present", "not appear", "don t know", "do not know", "not sure",
	"no such", "there is no", "there are no", "not given",
}

// IsRefusal reports whether answer declines the task ("I can't help with
// that", "I'm sorry, but I won't"). An answer that says it looked and found
// nothing ("I cannot find that number") is a miss, not a refusal.
func IsRefusal(answer string) bool {
	na := " " + Normalize(answer) + " "
	for _, p := range missPhrases {
		if strings.Contains(na, " "+p+" ") {
			return false
		}
	}
	for _, p := range refusalPhrases {
		if strings.Contains(na, " "+p+" ") {
			return true
		}
	}
	return false
}
