package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// DeviceStore keeps devices in the SQL database. Every query names the
// customer, so the indexes that start with customer_id serve it.
type DeviceStore struct {
	db *DB
}

var _ resource.DeviceStore = (*DeviceStore)(nil)

// NewDeviceStore returns a DeviceStore on db.
func NewDeviceStore(db *DB) *DeviceStore {
	return &DeviceStore{db: db}
}

// deviceRow is a devices row; a NULL group is "".
type deviceRow struct {
	ID          string     `db:"id"`
	CustomerID  string     `db:"customer_id"`
	GroupID     string     `db:"group_id"`
	Name        string     `db:"name"`
	IMEI        string     `db:"imei"`
	MAC         string     `db:"mac"`
	Latitude    *float64   `db:"latitude"`
	Longitude   *float64   `db:"longitude"`
	Fault       bool       `db:"fault"`
	LastEventAt *time.Time `db:"last_event_at"`
	CreatedAt   time.Time  `db:"created_at"`
	UpdatedAt   time.Time  `db:"updated_at"`
}

const deviceColumns = `id, customer_id, COALESCE(group_id, '') AS group_id, name, imei, mac,
	latitude, longitude, fault, last_event_at, created_at, updated_at`

// device returns the resource value of r, its times in UTC.
func (r *deviceRow) device() *resource.Device {
	d := &resource.Device{
		ID: r.ID, CustomerID: r.CustomerID, GroupID: r.GroupID, Name: r.Name, IMEI: r.IMEI, MAC: r.MAC,
		Latitude: r.Latitude, Longitude: r.Longitude, Fault: r.Fault,
		CreatedAt: dbTime(r.CreatedAt), UpdatedAt: dbTime(r.UpdatedAt),
	}
	if r.LastEventAt != nil {
		t := dbTime(*r.LastEventAt)
		d.LastEventAt = &t
	}
	return d
}

// deviceSorts maps the sort fields of resource.DeviceQuerySpec to columns.
// Names sort case-insensitively (by lower(name), which an index covers).
var deviceSorts = map[string]sortColumn{
	"name":          {expr: "lower(name)"},
	"imei":          {expr: "imei", unique: true},
	"created_at":    {expr: "created_at"},
	"last_event_at": {expr: "last_event_at", nullable: true},
}

// CreateDevice inserts d, storing its times in UTC at microsecond precision
// (and setting d's times to the stored values). EConflict (Field "imei")
// when the customer has a device with the IMEI; ENotFound (Field "group")
// when the group does not exist.
func (s *DeviceStore) CreateDevice(ctx context.Context, d *resource.Device) error {
	created, updated := dbTime(d.CreatedAt), dbTime(d.UpdatedAt)
	var last any
	if d.LastEventAt != nil {
		last = dbTime(*d.LastEventAt)
	}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO devices
		(id, customer_id, group_id, name, imei, mac, latitude, longitude, fault, last_event_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		d.ID, d.CustomerID, nullString(d.GroupID), d.Name, d.IMEI, d.MAC, d.Latitude, d.Longitude, d.Fault, last, created, updated)
	if err := deviceWriteError(err, d); err != nil {
		return err
	}
	d.CreatedAt, d.UpdatedAt = created, updated
	return nil
}

// deviceWriteError maps the constraint violations of a device write to
// resource errors.
func deviceWriteError(err error, d *resource.Device) error {
	switch {
	case err == nil:
		return nil
	case isUniqueViolation(err, "imei"):
		return &resource.Error{Code: resource.EConflict, Field: "imei", Message: "a device with this IMEI exists already"}
	case isUniqueViolation(err, "id"):
		return resource.Errorf(resource.EConflict, "device %q already exists", d.ID)
	case isForeignKeyViolation(err) && d.GroupID != "":
		return &resource.Error{Code: resource.ENotFound, Field: "group", Message: "device group not found"}
	case isForeignKeyViolation(err):
		return resource.Errorf(resource.ENotFound, "customer %q not found", d.CustomerID)
	}
	return fmt.Errorf("write device: %w", err)
}

// FindDevice returns a device of the customer, or ENotFound.
func (s *DeviceStore) FindDevice(ctx context.Context, customerID, id string) (*resource.Device, error) {
	var r deviceRow
	err := s.db.GetContext(ctx, &r, s.db.Rebind(`SELECT `+deviceColumns+` FROM devices WHERE customer_id = ? AND id = ?`), customerID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, resource.Errorf(resource.ENotFound, "device %q not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find device: %w", err)
	}
	return r.device(), nil
}

// ListDevices returns the page of the customer's devices that q selects and
// how many match in all. A radius filter narrows by a latitude/longitude box
// (the (customer_id, latitude, longitude) index) and then compares the exact
// haversine in SQL, so totals and pages stay exact.
func (s *DeviceStore) ListDevices(ctx context.Context, customerID string, q resource.DeviceQuery) ([]*resource.Device, int, error) {
	if q.Filter.Geogroup != nil {
		return s.listGeogroup(ctx, customerID, q)
	}
	c := deviceConds(customerID, q.Filter)
	order, err := orderBy(q.Sort, deviceSorts)
	if err != nil {
		return nil, 0, err
	}
	rows, total, err := listPage[deviceRow](ctx, s.db, `SELECT `+deviceColumns+` FROM devices`, deviceCount(customerID, q.Filter, c),
		c, order, q.Offset, q.Limit)
	if err != nil {
		return nil, 0, fmt.Errorf("devices: %w", err)
	}
	devices := make([]*resource.Device, len(rows))
	for i := range rows {
		devices[i] = rows[i].device()
	}
	return devices, total, nil
}

// deviceCount returns the count query of a device list: a read of the
// trigger-kept device_counts when the filter is at most a fault filter, a
// COUNT over the matching devices otherwise.
func deviceCount(customerID string, f resource.DeviceFilter, c *conds) *conds {
	rest := f
	rest.Fault = nil
	if rest != (resource.DeviceFilter{}) {
		return countAll("devices", c)
	}
	q := &conds{clauses: []string{`SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM device_counts WHERE customer_id = ?`}, args: []any{customerID}}
	if f.Fault != nil {
		q.clauses[0] += ` AND fault = ?`
		q.args = append(q.args, *f.Fault)
	}
	return q
}

// deviceConds returns the conditions of a device filter (but its
// geogroup filter: see listGeogroup).
func deviceConds(customerID string, f resource.DeviceFilter) *conds {
	c := &conds{}
	c.add("customer_id = ?", customerID)
	if f.DeviceID != "" {
		c.add("id = ?", f.DeviceID)
	}
	if f.GroupID != nil {
		if *f.GroupID == "" {
			c.add("group_id IS NULL")
		} else {
			c.add("group_id = ?", *f.GroupID)
		}
	}
	if f.Search != "" {
		p := likePattern(f.Search)
		c.add(`(lower(name) LIKE ? ESCAPE '\' OR imei LIKE ? ESCAPE '\' OR lower(mac) LIKE ? ESCAPE '\')`, p, p, p)
	}
	if f.IMEI != "" {
		c.add("imei = ?", f.IMEI)
	}
	if f.MAC != "" {
		c.add("mac = ?", f.MAC)
	}
	if f.Fault != nil {
		c.add("fault = ?", *f.Fault)
	}
	if g := f.Near; g != nil {
		geoConds(c, g)
	}
	return c
}

// haversineSQL is the haversine of the central angle between (latitude,
// longitude) and a centre given as (φ0 in radians, cos φ0, λ0 in radians)
// (see resource.HaversineLimit), in functions both databases have (SQLite's math functions are built into modernc.org/sqlite).
const haversineSQL = `(power(sin((radians(latitude) - ?) / 2), 2) + ? * cos(radians(latitude)) * power(sin((radians(longitude) - ?) / 2), 2))`

// geoConds adds the conditions of a radius filter: a bounding box for
// radius_lte, then the exact comparisons.
func geoConds(c *conds, g *resource.GeoFilter) {
	φ0, λ0 := g.Latitude*math.Pi/180, g.Longitude*math.Pi/180
	centre := []any{φ0, math.Cos(φ0), λ0}
	if g.RadiusLTE != nil {
		if box, ok := resource.BoundingBox(g.Latitude, g.Longitude, *g.RadiusLTE); ok {
			c.add("latitude BETWEEN ? AND ?", box.MinLat, box.MaxLat)
			switch len(box.Lon) {
			case 1:
				c.add("longitude BETWEEN ? AND ?", box.Lon[0][0], box.Lon[0][1])
			case 2:
				c.add("(longitude BETWEEN ? AND ? OR longitude BETWEEN ? AND ?)",
					box.Lon[0][0], box.Lon[0][1], box.Lon[1][0], box.Lon[1][1])
			}
		}
		c.add(haversineSQL+" <= ?", append(centre, resource.HaversineLimit(*g.RadiusLTE))...)
	}
	if g.RadiusGTE != nil {
		c.add(haversineSQL+" >= ?", append(centre, resource.HaversineLimit(*g.RadiusGTE))...)
	}
	c.add("latitude IS NOT NULL AND longitude IS NOT NULL")
}

// UpdateDevice writes the group, name, IMEI, MAC, position, fault and
// update time of d; the last event time belongs to event ingestion and is
// left alone. ENotFound; EConflict (Field "imei"); ENotFound (Field
// "group").
func (s *DeviceStore) UpdateDevice(ctx context.Context, d *resource.Device) error {
	updated := dbTime(d.UpdatedAt)
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE devices SET
		group_id = ?, name = ?, imei = ?, mac = ?, latitude = ?, longitude = ?, fault = ?, updated_at = ?
		WHERE customer_id = ? AND id = ?`),
		nullString(d.GroupID), d.Name, d.IMEI, d.MAC, d.Latitude, d.Longitude, d.Fault, updated, d.CustomerID, d.ID)
	if err := deviceWriteError(err, d); err != nil {
		return err
	}
	if err := changedRow(res, resource.Errorf(resource.ENotFound, "device %q not found", d.ID)); err != nil {
		return err
	}
	d.UpdatedAt = updated
	return nil
}

// DeleteDevice removes a device of the customer (and its events);
// ENotFound.
func (s *DeviceStore) DeleteDevice(ctx context.Context, customerID, id string) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM devices WHERE customer_id = ? AND id = ?`), customerID, id)
	if err != nil {
		return fmt.Errorf("delete device: %w", err)
	}
	return changedRow(res, resource.Errorf(resource.ENotFound, "device %q not found", id))
}
