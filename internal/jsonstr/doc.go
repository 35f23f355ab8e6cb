// Package jsonstr writes Go strings as JSON strings without encoding/json:
// the same bytes json.Marshal gives (HTML characters, U+2028 and U+2029 as
// \u escapes, invalid UTF-8 as U+FFFD), appended to a buffer. The client's
// request bodies (endpoint) and the simulator's stream chunks (sim) are
// written with it once per request or per token, where encoding/json's
// reflection and allocation showed in the profiles.
//
// It imports only the standard library.
package jsonstr
