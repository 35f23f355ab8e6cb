package loadgen

// FieldError is a mistake in one field of a Stage or a SearchSpec, named by
// the field's JSON name (such as "rate", or "early_stop.min_completions"),
// so that a caller reading the value from a file or a flag can say where it
// came from. Field is empty for a mistake of the whole stage or spec.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}
