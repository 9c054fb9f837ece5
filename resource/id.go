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

// IDAt returns the least UUIDv7 string of time t (to the millisecond): every
// id NewID returns at t or later is greater, every id of an earlier
// millisecond is less.
func IDAt(t time.Time) string {
	var u uuid.UUID
	ms := uint64(max(t.UnixMilli(), 0))
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	u[6] = 0x70 // version 7
	u[8] = 0x80 // variant RFC 9562
	return u.String()
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
