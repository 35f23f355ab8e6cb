package testkit

// NoEnv is an environment in which no variable is set, for the lookup
// function targets take (endpoint.TargetEnv): a test never reads the real
// environment's API keys.
func NoEnv(string) (string, bool) { return "", false }
