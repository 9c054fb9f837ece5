package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/assetgate/assetgate/resource"
)

// deviceStatsRow is a row of DeviceStatsMany: a device's state and its
// event counts.
type deviceStatsRow struct {
	DeviceID    string     `db:"id"`
	LastEventAt *time.Time `db:"last_event_at"`
	Latitude    *float64   `db:"latitude"`
	Longitude   *float64   `db:"longitude"`
	Fault       bool       `db:"fault"`
	Total       int        `db:"total"`
	Recent      int        `db:"recent"`
}

// DeviceStatsMany returns the stats of the customer's devices among
// deviceIDs in one query: the device columns that Stats reads, joined to
// the events counted per device (in all, and at or after since).
func (s *EventStore) DeviceStatsMany(ctx context.Context, customerID string, deviceIDs []string, since time.Time) ([]*resource.DeviceStats, error) {
	if len(deviceIDs) == 0 {
		return []*resource.DeviceStats{}, nil
	}
	bound, bargs := s.retained("occurred_at", customerID)
	q, args, err := sqlx.In(`SELECT d.id, d.last_event_at, d.latitude, d.longitude, d.fault,
		COALESCE(c.total, 0) AS total, COALESCE(c.recent, 0) AS recent
		FROM devices d LEFT JOIN (
			SELECT device_id, COUNT(*) AS total, SUM(CASE WHEN occurred_at >= ? THEN 1 ELSE 0 END) AS recent
			FROM events WHERE customer_id = ? AND device_id IN (?) AND `+bound+` GROUP BY device_id
		) c ON c.device_id = d.id
		WHERE d.customer_id = ? AND d.id IN (?)`,
		dbTime(since), customerID, deviceIDs, bargs[0], bargs[1], customerID, deviceIDs)
	if err != nil {
		return nil, err
	}
	rows := []deviceStatsRow{}
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("device stats: %w", err)
	}
	out := make([]*resource.DeviceStats, len(rows))
	for i, r := range rows {
		st := &resource.DeviceStats{DeviceID: r.DeviceID, EventsLast24h: r.Recent, TotalEvents: r.Total,
			Latitude: r.Latitude, Longitude: r.Longitude, Fault: r.Fault}
		if r.LastEventAt != nil {
			t := dbTime(*r.LastEventAt)
			st.LastEventAt = &t
		}
		out[i] = st
	}
	return out, nil
}
