package reports

import (
	"encoding/json"
	"fmt"
	"io"
)

// WriteJSON encodes the summary as indented JSON (schema
// needlestorm.summary/v1).
func WriteJSON(w io.Writer, s *Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("writing summary: %w", err)
	}
	return nil
}
