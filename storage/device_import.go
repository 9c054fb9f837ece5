package storage

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/assetgate/assetgate/resource"
)

// importColumns are the columns one imported device writes.
const importColumns = 11

// ImportDevices writes devices (distinct IMEIs) in one transaction, as
// one multi-row INSERT ... ON CONFLICT (customer_id, imei) DO UPDATE: a
// known IMEI keeps its device's id, creation time, fault and last event
// time and takes the rest; the statement returns the id of each IMEI, and
// a device whose id is the one given was created.
func (s *DeviceStore) ImportDevices(ctx context.Context, customerID string, devices []*resource.Device) ([]string, []bool, error) {
	if len(devices) == 0 {
		return []string{}, []bool{}, nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO devices (id, customer_id, group_id, name, imei, mac, latitude, longitude, fault, attributes, created_at, updated_at) VALUES `)
	row := "(?, ?, ?, ?, ?, ?, ?, ?, FALSE, " + s.jsonParam() + ", ?, ?)"
	args := make([]any, 0, len(devices)*importColumns)
	for i, d := range devices {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
		args = append(args, d.ID, customerID, nullString(d.GroupID), d.Name, d.IMEI, d.MAC, d.Latitude, d.Longitude,
			d.Attributes.JSON(), dbTime(d.CreatedAt), dbTime(d.UpdatedAt))
	}
	// A moved device's geofence memberships are decided afresh, without
	// events, at its next location event (as for UpdateDevice).
	b.WriteString(` ON CONFLICT (customer_id, imei) DO UPDATE SET
		geofence_version = CASE WHEN devices.latitude = excluded.latitude AND devices.longitude = excluded.longitude
			THEN devices.geofence_version END,
		group_id = excluded.group_id, name = excluded.name,
		mac = excluded.mac, latitude = excluded.latitude, longitude = excluded.longitude, attributes = excluded.attributes,
		updated_at = excluded.updated_at RETURNING id, imei`)
	var got []struct {
		ID   string `db:"id"`
		IMEI string `db:"imei"`
	}
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		return tx.SelectContext(ctx, &got, s.db.Rebind(b.String()), args...)
	})
	if err != nil {
		if isForeignKeyViolation(err) {
			// A group deleted since the rows were checked.
			return nil, nil, &resource.Error{Code: resource.ENotFound, Field: "group", Message: "device group not found"}
		}
		return nil, nil, fmt.Errorf("import devices: %w", err)
	}
	byIMEI := make(map[string]string, len(got))
	for _, g := range got {
		byIMEI[g.IMEI] = g.ID
	}
	ids, created := make([]string, len(devices)), make([]bool, len(devices))
	for i, d := range devices {
		id, ok := byIMEI[d.IMEI]
		if !ok {
			return nil, nil, fmt.Errorf("import devices: no row returned for an IMEI")
		}
		ids[i], created[i] = id, id == d.ID
	}
	return ids, created, nil
}

// ExistingDevices returns, for each device, the id of the customer's
// device with its IMEI (created false) or its own id (created true).
func (s *DeviceStore) ExistingDevices(ctx context.Context, customerID string, devices []*resource.Device) ([]string, []bool, error) {
	imeis := make([]string, len(devices))
	for i, d := range devices {
		imeis[i] = d.IMEI
	}
	var got []struct {
		ID   string `db:"id"`
		IMEI string `db:"imei"`
	}
	if len(imeis) > 0 {
		q, args, err := sqlx.In(`SELECT id, imei FROM devices WHERE customer_id = ? AND imei IN (?)`, customerID, imeis)
		if err != nil {
			return nil, nil, err
		}
		if err := s.db.SelectContext(ctx, &got, s.db.Rebind(q), args...); err != nil {
			return nil, nil, fmt.Errorf("existing devices: %w", err)
		}
	}
	byIMEI := make(map[string]string, len(got))
	for _, g := range got {
		byIMEI[g.IMEI] = g.ID
	}
	ids, created := make([]string, len(devices)), make([]bool, len(devices))
	for i, d := range devices {
		if id, ok := byIMEI[d.IMEI]; ok {
			ids[i] = id
		} else {
			ids[i], created[i] = d.ID, true
		}
	}
	return ids, created, nil
}
