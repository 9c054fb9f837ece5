package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
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
	Attributes  string     `db:"attributes"`
	LastEventAt *time.Time `db:"last_event_at"`
	CreatedAt   time.Time  `db:"created_at"`
	UpdatedAt   time.Time  `db:"updated_at"`
}

const deviceColumns = `id, customer_id, COALESCE(group_id, '') AS group_id, name, imei, mac,
	latitude, longitude, fault, attributes, last_event_at, created_at, updated_at`

// device returns the resource value of r, its times in UTC.
func (r *deviceRow) device() *resource.Device {
	d := &resource.Device{
		ID: r.ID, CustomerID: r.CustomerID, GroupID: r.GroupID, Name: r.Name, IMEI: r.IMEI, MAC: r.MAC,
		Latitude: r.Latitude, Longitude: r.Longitude, Fault: r.Fault,
		Attributes: decodeAttributes(r.Attributes), CreatedAt: dbTime(r.CreatedAt), UpdatedAt: dbTime(r.UpdatedAt),
	}
	if r.LastEventAt != nil {
		t := dbTime(*r.LastEventAt)
		d.LastEventAt = &t
	}
	return d
}

// decodeAttributes reads the attributes column: nil for the empty object
// (the store wrote it from checked attributes, so text it cannot read is
// the empty object too).
func decodeAttributes(text string) resource.Attributes {
	var a resource.Attributes
	if err := json.Unmarshal([]byte(text), (*map[string]any)(&a)); err != nil || len(a) == 0 {
		return nil
	}
	return a
}

// jsonParam is the placeholder of a JSON text argument: a jsonb on
// PostgreSQL, text on SQLite.
func (s *DeviceStore) jsonParam() string {
	if s.db.Dialect == Postgres {
		return "CAST(? AS JSONB)"
	}
	return "?"
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
		(id, customer_id, group_id, name, imei, mac, latitude, longitude, fault, attributes, last_event_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, `+s.jsonParam()+`, ?, ?, ?)`),
		d.ID, d.CustomerID, nullString(d.GroupID), d.Name, d.IMEI, d.MAC, d.Latitude, d.Longitude, d.Fault, d.Attributes.JSON(), last, created, updated)
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
	devices, _, total, err := s.list(ctx, customerID, q, false)
	return devices, total, err
}

// ListDevicesWithGroups is ListDevices that also returns the groups of the
// page's devices, each once, ordered by id: the page's statement joins
// them.
func (s *DeviceStore) ListDevicesWithGroups(ctx context.Context, customerID string, q resource.DeviceQuery) ([]*resource.Device, []*resource.DeviceGroup, int, error) {
	return s.list(ctx, customerID, q, true)
}

func (s *DeviceStore) list(ctx context.Context, customerID string, q resource.DeviceQuery, withGroups bool) ([]*resource.Device, []*resource.DeviceGroup, int, error) {
	var c, count *conds
	if q.Filter.Geogroup != nil {
		var empty bool
		var err error
		if c, count, empty, err = s.geogroupConds(ctx, customerID, q.Filter); err != nil {
			return nil, nil, 0, err
		} else if empty {
			return []*resource.Device{}, nil, 0, nil
		}
	} else {
		c = deviceConds(s.db.Dialect, customerID, q.Filter)
		count = deviceCount(customerID, q.Filter, c)
	}
	order, err := orderBy(q.Sort, deviceSorts)
	if err != nil {
		return nil, nil, 0, err
	}
	devices, groups, total, err := s.listDevices(ctx, count, c, order, max(q.Offset, 0), max(q.Limit, 0), withGroups)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("devices: %w", err)
	}
	return devices, groups, total, nil
}

// listDevices reads a page of devices and the count in one statement: the
// count query is an uncorrelated scalar subquery of the page query, which
// both databases evaluate once. When the page has no rows (empty list, or
// past the end) the count is read on its own. withGroups joins each
// device's group to its row.
func (s *DeviceStore) listDevices(ctx context.Context, count, c *conds, order string, offset, limit int, withGroups bool) ([]*resource.Device, []*resource.DeviceGroup, int, error) {
	devices := []*resource.Device{}
	var groups []*resource.DeviceGroup
	if limit > 0 {
		query, args := deviceListSQL(count, c, order, offset, limit, withGroups)
		rows, err := s.db.QueryContext(ctx, s.db.Rebind(query), args...)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("list: %w", err)
		}
		defer rows.Close()
		total := 0
		var seen map[string]bool
		for rows.Next() {
			var r deviceRow
			dest := []any{&total, &r.ID, &r.CustomerID, &r.GroupID, &r.Name, &r.IMEI, &r.MAC,
				&r.Latitude, &r.Longitude, &r.Fault, &r.Attributes, &r.LastEventAt, &r.CreatedAt, &r.UpdatedAt}
			var gID, gCustomer, gName, gConf sql.NullString
			var gCreated, gUpdated sql.NullTime
			if withGroups {
				dest = append(dest, &gID, &gCustomer, &gName, &gConf, &gCreated, &gUpdated)
			}
			if err := rows.Scan(dest...); err != nil {
				return nil, nil, 0, fmt.Errorf("list: %w", err)
			}
			devices = append(devices, r.device())
			if gID.Valid && !seen[gID.String] {
				if seen == nil {
					seen = map[string]bool{}
				}
				seen[gID.String] = true
				g := groupRow{ID: gID.String, CustomerID: gCustomer.String, Name: gName.String, ConfigurationID: gConf.String,
					CreatedAt: gCreated.Time, UpdatedAt: gUpdated.Time}
				groups = append(groups, g.group())
			}
		}
		if err := rows.Err(); err != nil {
			return nil, nil, 0, fmt.Errorf("list: %w", err)
		}
		if len(devices) > 0 {
			slices.SortFunc(groups, func(x, y *resource.DeviceGroup) int { return strings.Compare(x.ID, y.ID) })
			return devices, groups, total, nil
		}
	}
	var total int
	if err := s.db.GetContext(ctx, &total, s.db.Rebind(count.clauses[0]), count.args...); err != nil {
		return nil, nil, 0, fmt.Errorf("count: %w", err)
	}
	return devices, nil, total, nil
}

// deviceListSQL returns the statement of a device page with its count
// (and, withGroups, its devices' groups), with ? placeholders, and its
// arguments. The groups are joined as a derived table with renamed
// columns, so that the unqualified columns of the conditions and of the
// order still name the devices' own.
func deviceListSQL(count, c *conds, order string, offset, limit int, withGroups bool) (string, []any) {
	query := `SELECT (` + count.clauses[0] + `) AS total, ` + deviceColumns
	from := ` FROM devices`
	if withGroups {
		query += `, g.g_id, g.g_customer_id, g.g_name, g.g_configuration_id, g.g_created_at, g.g_updated_at`
		from += ` LEFT JOIN (SELECT id AS g_id, customer_id AS g_customer_id, name AS g_name,
			COALESCE(configuration_id, '') AS g_configuration_id, created_at AS g_created_at, updated_at AS g_updated_at
			FROM device_groups) g ON g.g_id = devices.group_id AND g.g_customer_id = devices.customer_id`
	}
	query += from + c.where() + order + ` LIMIT ? OFFSET ?`
	args := make([]any, 0, len(count.args)+len(c.args)+2)
	return query, append(append(append(args, count.args...), c.args...), limit, offset)
}

// deviceCount returns the count query of a device list: a read of the
// trigger-kept device_counts when the filter is at most a fault filter, a
// COUNT over the matching devices otherwise.
func deviceCount(customerID string, f resource.DeviceFilter, c *conds) *conds {
	rest := f
	rest.Fault = nil
	if !rest.IsZero() {
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
func deviceConds(dialect, customerID string, f resource.DeviceFilter) *conds {
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
	if f.Connected != nil {
		if *f.Connected {
			c.add(connectedSQL, true, dbTime(f.Now))
		} else {
			c.add("NOT "+connectedSQL, true, dbTime(f.Now))
		}
	}
	if g := f.Near; g != nil {
		geoConds(c, g)
	}
	for _, a := range f.Attributes {
		attributeCond(c, dialect, a)
	}
	return c
}

// attributeCond adds the condition of one attribute filter: the
// attribute is the string, or the number, or the boolean the filter's
// text reads as. PostgreSQL tests containment (attributes @> '{"k": v}'),
// which the GIN index (jsonb_path_ops) serves, numbers compared as
// numerics (12 matches 12.0); SQLite tests json_type and json_extract.
func attributeCond(c *conds, dialect string, a resource.AttributeCond) {
	var ors []string
	var args []any
	if dialect == Postgres {
		for _, v := range a.Values() {
			b, _ := json.Marshal(map[string]any{a.Key: v}) // strings, finite numbers and booleans always marshal
			ors = append(ors, "attributes @> CAST(? AS JSONB)")
			args = append(args, string(b))
		}
	} else {
		path := `$."` + a.Key + `"` // keys are [A-Za-z0-9_.-]: nothing to quote
		ors = append(ors, "(json_type(attributes, ?) = 'text' AND json_extract(attributes, ?) = ?)")
		args = append(args, path, path, a.Text)
		if a.Number != nil {
			ors = append(ors, "(json_type(attributes, ?) IN ('integer', 'real') AND json_extract(attributes, ?) = ?)")
			args = append(args, path, path, *a.Number)
		}
		if a.Bool != nil {
			ors = append(ors, "json_type(attributes, ?) = ?")
			args = append(args, path, strconv.FormatBool(*a.Bool))
		}
	}
	c.add("("+strings.Join(ors, " OR ")+")", args...)
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
// left alone. A position set by hand makes the device's geofence
// memberships be decided afresh, without events, at its next location
// event (geofence.go). ENotFound; EConflict (Field "imei"); ENotFound
// (Field "group").
func (s *DeviceStore) UpdateDevice(ctx context.Context, d *resource.Device) error {
	updated := dbTime(d.UpdatedAt)
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE devices SET
		geofence_version = CASE WHEN latitude = ? AND longitude = ? THEN geofence_version END,
		group_id = ?, name = ?, imei = ?, mac = ?, latitude = ?, longitude = ?, fault = ?, attributes = `+s.jsonParam()+`, updated_at = ?
		WHERE customer_id = ? AND id = ?`),
		d.Latitude, d.Longitude,
		nullString(d.GroupID), d.Name, d.IMEI, d.MAC, d.Latitude, d.Longitude, d.Fault, d.Attributes.JSON(), updated, d.CustomerID, d.ID)
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
