package resource

import (
	"time"

	"github.com/google/uuid"
)

// NewID returns a new UUIDv7 string: time-ordered, so primary-key indexes stay
// append-mostly.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// ValidID reports whether s is a UUID in its canonical string form. Services
// use it to answer ENotFound for malformed ids without asking the database.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// nowUTC returns now() (or time.Now when now is nil) in UTC, truncated to
// microseconds, the precision both databases keep.
func nowUTC(now func() time.Time) time.Time {
	if now == nil {
		now = time.Now
	}
	return now().UTC().Truncate(time.Microsecond)
}

// validIDs returns the ids of ids that are well-formed, in order.
func validIDs(ids []string) []string {
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if ValidID(id) {
			valid = append(valid, id)
		}
	}
	return valid
}
