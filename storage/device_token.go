package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// DeviceTokenStore keeps the catalogue of device tokens in the SQL
// database; the tokens themselves are in the token store.
type DeviceTokenStore struct {
	db *DB
}

var _ resource.DeviceTokenStore = (*DeviceTokenStore)(nil)

// NewDeviceTokenStore returns a DeviceTokenStore on db.
func NewDeviceTokenStore(db *DB) *DeviceTokenStore {
	return &DeviceTokenStore{db: db}
}

// deviceTokenRow is a device_tokens row.
type deviceTokenRow struct {
	ID          string     `db:"id"`
	CustomerID  string     `db:"customer_id"`
	DeviceID    string     `db:"device_id"`
	FamilyID    string     `db:"family_id"`
	Name        string     `db:"name"`
	Permissions stringList `db:"permissions"`
	CreatedAt   time.Time  `db:"created_at"`
	ExpiresAt   *time.Time `db:"expires_at"`
}

const deviceTokenColumns = `id, customer_id, device_id, family_id, name, CAST(permissions AS TEXT) AS permissions, created_at, expires_at`

func (r *deviceTokenRow) deviceToken() *resource.DeviceToken {
	t := &resource.DeviceToken{ID: r.ID, CustomerID: r.CustomerID, DeviceID: r.DeviceID, FamilyID: r.FamilyID,
		Name: r.Name, Permissions: []string(r.Permissions), CreatedAt: dbTime(r.CreatedAt)}
	if r.ExpiresAt != nil {
		e := dbTime(*r.ExpiresAt)
		t.ExpiresAt = &e
	}
	return t
}

// CreateDeviceToken inserts t (setting its times to the stored values).
// ENotFound when its device (or customer) does not exist; EConflict for an
// id or family in use. That the device is the customer's is the caller's
// check.
func (s *DeviceTokenStore) CreateDeviceToken(ctx context.Context, t *resource.DeviceToken) error {
	created := dbTime(t.CreatedAt)
	var expires *time.Time
	if t.ExpiresAt != nil {
		e := dbTime(*t.ExpiresAt)
		expires = &e
	}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO device_tokens
		(id, customer_id, device_id, family_id, name, permissions, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		t.ID, t.CustomerID, t.DeviceID, t.FamilyID, t.Name, stringList(t.Permissions), created, expires)
	switch {
	case isUniqueViolation(err, ""):
		return resource.Errorf(resource.EConflict, "device token %q already exists", t.ID)
	case isForeignKeyViolation(err):
		return resource.Errorf(resource.ENotFound, "device %q not found", t.DeviceID)
	case err != nil:
		return fmt.Errorf("create device token: %w", err)
	}
	t.CreatedAt, t.ExpiresAt = created, expires
	return nil
}

// ListDeviceTokens returns the tokens of a device of the customer that
// have not expired at now, oldest first.
func (s *DeviceTokenStore) ListDeviceTokens(ctx context.Context, customerID, deviceID string, now time.Time) ([]*resource.DeviceToken, error) {
	rows := []deviceTokenRow{}
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT `+deviceTokenColumns+` FROM device_tokens
		WHERE device_id = ? AND customer_id = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at, id`),
		deviceID, customerID, dbTime(now))
	if err != nil {
		return nil, fmt.Errorf("list device tokens: %w", err)
	}
	out := make([]*resource.DeviceToken, len(rows))
	for i := range rows {
		out[i] = rows[i].deviceToken()
	}
	return out, nil
}

// FindDeviceToken returns a token of a device of the customer, or
// ENotFound.
func (s *DeviceTokenStore) FindDeviceToken(ctx context.Context, customerID, deviceID, id string) (*resource.DeviceToken, error) {
	var r deviceTokenRow
	err := s.db.GetContext(ctx, &r, s.db.Rebind(`SELECT `+deviceTokenColumns+` FROM device_tokens
		WHERE id = ? AND device_id = ? AND customer_id = ?`), id, deviceID, customerID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, resource.Errorf(resource.ENotFound, "device token %q not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find device token: %w", err)
	}
	return r.deviceToken(), nil
}

// DeleteDeviceToken removes a token of a device of the customer;
// ENotFound.
func (s *DeviceTokenStore) DeleteDeviceToken(ctx context.Context, customerID, deviceID, id string) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM device_tokens WHERE id = ? AND device_id = ? AND customer_id = ?`),
		id, deviceID, customerID)
	if err != nil {
		return fmt.Errorf("delete device token: %w", err)
	}
	return changedRow(res, resource.Errorf(resource.ENotFound, "device token %q not found", id))
}
