package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// ResourceCallStore keeps the audit rows of device resource calls.
type ResourceCallStore struct {
	db *DB
}

var _ resource.ResourceCallStore = (*ResourceCallStore)(nil)

// NewResourceCallStore returns a ResourceCallStore on db.
func NewResourceCallStore(db *DB) *ResourceCallStore { return &ResourceCallStore{db: db} }

type resourceCallRow struct {
	ID         string    `db:"id"`
	CustomerID string    `db:"customer_id"`
	DeviceID   string    `db:"device_id"`
	Resource   string    `db:"resource"`
	Caller     string    `db:"caller"`
	StartedAt  time.Time `db:"started_at"`
	DurationUS int64     `db:"duration_us"`
	Outcome    string    `db:"outcome"`
}

// CreateResourceCall inserts an audit row. ENotFound when its device is
// gone.
func (s *ResourceCallStore) CreateResourceCall(ctx context.Context, c *resource.ResourceCall) error {
	started := dbTime(c.StartedAt)
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO device_resource_calls
		(id, customer_id, device_id, resource, caller, started_at, duration_us, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		c.ID, c.CustomerID, c.DeviceID, c.Resource, c.Caller, started, c.Duration.Microseconds(), c.Outcome)
	switch {
	case isForeignKeyViolation(err):
		return resource.Errorf(resource.ENotFound, "device %q not found", c.DeviceID)
	case err != nil:
		return fmt.Errorf("create resource call: %w", err)
	}
	c.StartedAt = started
	return nil
}

// ListResourceCalls returns the latest calls of a device of the customer,
// newest first, at most limit.
func (s *ResourceCallStore) ListResourceCalls(ctx context.Context, customerID, deviceID string, limit int) ([]*resource.ResourceCall, error) {
	rows := []resourceCallRow{}
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT id, customer_id, device_id, resource, caller, started_at,
		duration_us, outcome FROM device_resource_calls WHERE customer_id = ? AND device_id = ?
		ORDER BY started_at DESC, id DESC LIMIT ?`), customerID, deviceID, limit)
	if err != nil {
		return nil, fmt.Errorf("list resource calls: %w", err)
	}
	out := make([]*resource.ResourceCall, len(rows))
	for i, r := range rows {
		out[i] = &resource.ResourceCall{ID: r.ID, CustomerID: r.CustomerID, DeviceID: r.DeviceID, Resource: r.Resource,
			Caller: r.Caller, StartedAt: dbTime(r.StartedAt), Duration: time.Duration(r.DurationUS) * time.Microsecond,
			Outcome: r.Outcome}
	}
	return out, nil
}
