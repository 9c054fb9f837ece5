package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/assetgate/assetgate/resource"
)

// ConnectionMirror keeps, in device_connections, each device's latest MQTT
// session (connected or not, since when, on which replica), and in
// mqtt_replicas the lease of each replica with an MQTT listener. A row
// counts as connected only while its replica's lease runs (connectedSQL):
// the filter of device lists and the device attributes apply that one
// rule, so they agree.
type ConnectionMirror struct {
	db *DB
}

var _ resource.ConnectionMirror = (*ConnectionMirror)(nil)

// NewConnectionMirror returns a ConnectionMirror on db.
func NewConnectionMirror(db *DB) *ConnectionMirror { return &ConnectionMirror{db: db} }

// connectedSQL is the condition "the device is connected" over the devices
// table, with two arguments: true, and the time the leases are read at.
const connectedSQL = `EXISTS (SELECT 1 FROM device_connections dc JOIN mqtt_replicas r ON r.id = dc.replica
	WHERE dc.device_id = devices.id AND dc.connected = ? AND r.lease_until > ?)`

// MarkConnected implements resource.ConnectionMirror.
func (m *ConnectionMirror) MarkConnected(ctx context.Context, c *resource.DeviceConnection) error {
	at := dbTime(time.Now())
	if c.ConnectedAt != nil {
		at = dbTime(*c.ConnectedAt)
	}
	_, err := m.db.ExecContext(ctx, m.db.Rebind(`INSERT INTO device_connections
		(device_id, customer_id, connected, connected_at, disconnected_at, replica, session) VALUES (?, ?, ?, ?, NULL, ?, ?)
		ON CONFLICT (device_id) DO UPDATE SET customer_id = excluded.customer_id, connected = excluded.connected,
			connected_at = excluded.connected_at, disconnected_at = NULL, replica = excluded.replica, session = excluded.session`),
		c.DeviceID, c.CustomerID, true, at, c.Replica, c.Session)
	if err != nil && !isForeignKeyViolation(err) { // a device deleted meanwhile has no row
		return fmt.Errorf("mark connected: %w", err)
	}
	return nil
}

// MarkDisconnected implements resource.ConnectionMirror.
func (m *ConnectionMirror) MarkDisconnected(ctx context.Context, c *resource.DeviceConnection) error {
	at := dbTime(time.Now())
	if c.DisconnectedAt != nil {
		at = dbTime(*c.DisconnectedAt)
	}
	_, err := m.db.ExecContext(ctx, m.db.Rebind(`UPDATE device_connections SET connected = ?, disconnected_at = ?
		WHERE device_id = ? AND session = ?`), false, at, c.DeviceID, c.Session)
	if err != nil {
		return fmt.Errorf("mark disconnected: %w", err)
	}
	return nil
}

// RenewLease implements resource.ConnectionMirror. It reports whether the
// replica's lease had run out (or never existed): its rows may have been
// marked disconnected meanwhile, and its live sessions must be marked
// connected again.
func (m *ConnectionMirror) RenewLease(ctx context.Context, replica string, until, now time.Time) (lapsed bool, err error) {
	until, now = dbTime(until), dbTime(now)
	var held time.Time
	err = m.db.GetContext(ctx, &held, m.db.Rebind(`SELECT lease_until FROM mqtt_replicas WHERE id = ?`), replica)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		lapsed = true
	case err != nil:
		return false, fmt.Errorf("renew lease: %w", err)
	default:
		lapsed = !held.After(now)
	}
	if _, err := m.db.ExecContext(ctx, m.db.Rebind(`INSERT INTO mqtt_replicas (id, lease_until) VALUES (?, ?)
		ON CONFLICT (id) DO UPDATE SET lease_until = excluded.lease_until`), replica, until); err != nil {
		return false, fmt.Errorf("renew lease: %w", err)
	}
	// The devices of replicas whose lease ran out: disconnected when it
	// did. Then those leases go.
	if _, err := m.db.ExecContext(ctx, m.db.Rebind(`UPDATE device_connections SET connected = ?,
		disconnected_at = COALESCE((SELECT r.lease_until FROM mqtt_replicas r WHERE r.id = device_connections.replica), ?)
		WHERE connected = ? AND replica NOT IN (SELECT id FROM mqtt_replicas WHERE lease_until > ?)`),
		false, now, true, now); err != nil {
		return false, fmt.Errorf("expire leases: %w", err)
	}
	if _, err := m.db.ExecContext(ctx, m.db.Rebind(`DELETE FROM mqtt_replicas WHERE lease_until <= ?`), now); err != nil {
		return false, fmt.Errorf("expire leases: %w", err)
	}
	return lapsed, nil
}

// ReleaseLease implements resource.ConnectionMirror.
func (m *ConnectionMirror) ReleaseLease(ctx context.Context, replica string, now time.Time) error {
	now = dbTime(now)
	if _, err := m.db.ExecContext(ctx, m.db.Rebind(`UPDATE device_connections SET connected = ?, disconnected_at = ?
		WHERE connected = ? AND replica = ?`), false, now, true, replica); err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	if _, err := m.db.ExecContext(ctx, m.db.Rebind(`DELETE FROM mqtt_replicas WHERE id = ?`), replica); err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	return nil
}

// mirrorRow is a device_connections row with its replica's lease.
type mirrorRow struct {
	DeviceID       string     `db:"device_id"`
	Connected      bool       `db:"connected"`
	ConnectedAt    time.Time  `db:"connected_at"`
	DisconnectedAt *time.Time `db:"disconnected_at"`
	LeaseUntil     *time.Time `db:"lease_until"`
}

// FindMirrored implements resource.ConnectionMirror: one statement for all
// of ids.
func (m *ConnectionMirror) FindMirrored(ctx context.Context, customerID string, ids []string, now time.Time) (map[string]*resource.MirroredConnection, error) {
	out := map[string]*resource.MirroredConnection{}
	if len(ids) == 0 {
		return out, nil
	}
	q, args, err := sqlx.In(`SELECT dc.device_id, dc.connected, dc.connected_at, dc.disconnected_at, r.lease_until
		FROM device_connections dc LEFT JOIN mqtt_replicas r ON r.id = dc.replica
		WHERE dc.customer_id = ? AND dc.device_id IN (?)`, customerID, ids)
	if err != nil {
		return nil, err
	}
	var rows []mirrorRow
	if err := m.db.SelectContext(ctx, &rows, m.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("find connections: %w", err)
	}
	now = dbTime(now)
	for _, r := range rows {
		c := &resource.MirroredConnection{ConnectedAt: dbTime(r.ConnectedAt)}
		if r.DisconnectedAt != nil {
			t := dbTime(*r.DisconnectedAt)
			c.DisconnectedAt = &t
		}
		live := r.LeaseUntil != nil && r.LeaseUntil.After(now)
		switch {
		case r.Connected && live:
			c.Connected, c.DisconnectedAt = true, nil
		case r.Connected && r.LeaseUntil != nil:
			// Its replica stopped renewing: disconnected when the lease
			// ran out (the next renewal of any replica writes so).
			t := dbTime(*r.LeaseUntil)
			c.DisconnectedAt = &t
		}
		out[r.DeviceID] = c
	}
	return out, nil
}
