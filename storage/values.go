package storage

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"
)

// dbTime returns t as both databases keep it: in UTC, at microsecond
// precision. Stores pass every time through it on the way in and out, so a
// value read back equals the value written on either database.
func dbTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// nullString maps "" to NULL, for optional unique columns where "" means
// "not set" and must not collide with another row's "".
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// stringList is a []string kept in a JSON array column (TEXT in SQLite,
// JSONB in PostgreSQL). A nil or empty list is written as [] and read back as
// an empty, non-nil slice.
type stringList []string

// Value implements driver.Valuer: the list as a JSON array.
func (l stringList) Value() (driver.Value, error) {
	if len(l) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal([]string(l))
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// Scan implements sql.Scanner for a JSON array read as text or bytes.
func (l *stringList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("scan JSON string list: unexpected %T", src)
	}
	list := []string{}
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("scan JSON string list: %w", err)
	}
	if list == nil { // a JSON null
		list = []string{}
	}
	*l = list
	return nil
}
