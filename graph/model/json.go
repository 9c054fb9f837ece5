package model

import (
	"encoding/json"
	"fmt"
	"io"
)

// JSON is the JSON scalar: any JSON value, held as its text.
type JSON json.RawMessage

// MarshalGQL writes the value as itself.
func (j JSON) MarshalGQL(w io.Writer) {
	if len(j) == 0 {
		_, _ = io.WriteString(w, "null")
		return
	}
	_, _ = w.Write(j)
}

// UnmarshalGQL reads a value from a literal or a variable.
func (j *JSON) UnmarshalGQL(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("not a JSON value: %w", err)
	}
	*j = b
	return nil
}
