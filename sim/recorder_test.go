package sim

import "net/http"

// recorder is a minimal ResponseWriter with Flush, cheaper than httptest's
// for fuzzing and benchmarks.
type recorder struct {
	h      http.Header
	status int
	n      int
}

func newRecorder() *recorder { return &recorder{h: http.Header{}} }

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	r.n += len(b)
	return len(b), nil
}
func (r *recorder) Flush() {}
