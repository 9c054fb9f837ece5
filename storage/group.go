package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// DeviceGroupStore keeps device groups in the SQL database.
type DeviceGroupStore struct {
	db *DB
}

var _ resource.DeviceGroupStore = (*DeviceGroupStore)(nil)

// NewDeviceGroupStore returns a DeviceGroupStore on db.
func NewDeviceGroupStore(db *DB) *DeviceGroupStore {
	return &DeviceGroupStore{db: db}
}

// groupRow is a device_groups row; a NULL configuration is "".
type groupRow struct {
	ID              string    `db:"id"`
	CustomerID      string    `db:"customer_id"`
	Name            string    `db:"name"`
	ConfigurationID string    `db:"configuration_id"`
	CreatedAt       time.Time `db:"created_at"`
	UpdatedAt       time.Time `db:"updated_at"`
}

const groupColumns = `id, customer_id, name, COALESCE(configuration_id, '') AS configuration_id, created_at, updated_at`

func (r *groupRow) group() *resource.DeviceGroup {
	return &resource.DeviceGroup{
		ID: r.ID, CustomerID: r.CustomerID, Name: r.Name, ConfigurationID: r.ConfigurationID,
		CreatedAt: dbTime(r.CreatedAt), UpdatedAt: dbTime(r.UpdatedAt),
	}
}

func groups(rows []groupRow) []*resource.DeviceGroup {
	out := make([]*resource.DeviceGroup, len(rows))
	for i := range rows {
		out[i] = rows[i].group()
	}
	return out
}

// groupSorts maps the sort fields of resource.DeviceGroupQuerySpec to
// columns.
var groupSorts = map[string]sortColumn{
	"name":       {expr: "lower(name)"},
	"created_at": {expr: "created_at"},
}

// groupWriteError maps the constraint violations of a group write.
func groupWriteError(err error, g *resource.DeviceGroup) error {
	switch {
	case err == nil:
		return nil
	case isUniqueViolation(err, "id"):
		return resource.Errorf(resource.EConflict, "device group %q already exists", g.ID)
	case isForeignKeyViolation(err) && g.ConfigurationID != "":
		return &resource.Error{Code: resource.ENotFound, Field: "configuration", Message: "configuration not found"}
	case isForeignKeyViolation(err):
		return resource.Errorf(resource.ENotFound, "customer %q not found", g.CustomerID)
	}
	return fmt.Errorf("write device group: %w", err)
}

// CreateDeviceGroup inserts g, storing its times in UTC at microsecond
// precision (and setting g's times to the stored values). ENotFound (Field
// "configuration") when its configuration does not exist.
func (s *DeviceGroupStore) CreateDeviceGroup(ctx context.Context, g *resource.DeviceGroup) error {
	created, updated := dbTime(g.CreatedAt), dbTime(g.UpdatedAt)
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO device_groups
		(id, customer_id, name, configuration_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`),
		g.ID, g.CustomerID, g.Name, nullString(g.ConfigurationID), created, updated)
	if err := groupWriteError(err, g); err != nil {
		return err
	}
	g.CreatedAt, g.UpdatedAt = created, updated
	return nil
}

// FindDeviceGroup returns a group of the customer, or ENotFound.
func (s *DeviceGroupStore) FindDeviceGroup(ctx context.Context, customerID, id string) (*resource.DeviceGroup, error) {
	var r groupRow
	err := s.db.GetContext(ctx, &r, s.db.Rebind(`SELECT `+groupColumns+` FROM device_groups WHERE customer_id = ? AND id = ?`), customerID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, resource.Errorf(resource.ENotFound, "device group %q not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find device group: %w", err)
	}
	return r.group(), nil
}

// FindDeviceGroups returns the customer's groups among ids, ordered by id.
func (s *DeviceGroupStore) FindDeviceGroups(ctx context.Context, customerID string, ids []string) ([]*resource.DeviceGroup, error) {
	rows, err := findMany[groupRow](ctx, s.db, `SELECT `+groupColumns+` FROM device_groups`, customerID, ids)
	if err != nil {
		return nil, fmt.Errorf("find device groups: %w", err)
	}
	return groups(rows), nil
}

// ListDeviceGroups returns the page of the customer's groups that q selects
// and how many match in all.
func (s *DeviceGroupStore) ListDeviceGroups(ctx context.Context, customerID string, q resource.DeviceGroupQuery) ([]*resource.DeviceGroup, int, error) {
	c := &conds{}
	c.add("customer_id = ?", customerID)
	if q.Filter.Search != "" {
		c.add(`lower(name) LIKE ? ESCAPE '\'`, likePattern(q.Filter.Search))
	}
	if len(q.Filter.Names) > 0 {
		c.in("name", q.Filter.Names)
	}
	order, err := orderBy(q.Sort, groupSorts)
	if err != nil {
		return nil, 0, err
	}
	rows, total, err := listPage[groupRow](ctx, s.db, `SELECT `+groupColumns+` FROM device_groups`, countAll("device_groups", c),
		c, order, q.Offset, q.Limit)
	if err != nil {
		return nil, 0, fmt.Errorf("device groups: %w", err)
	}
	return groups(rows), total, nil
}

// UpdateDeviceGroup writes the name, configuration and update time of g.
// ENotFound; ENotFound (Field "configuration").
func (s *DeviceGroupStore) UpdateDeviceGroup(ctx context.Context, g *resource.DeviceGroup) error {
	updated := dbTime(g.UpdatedAt)
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE device_groups SET name = ?, configuration_id = ?, updated_at = ?
		WHERE customer_id = ? AND id = ?`), g.Name, nullString(g.ConfigurationID), updated, g.CustomerID, g.ID)
	if err := groupWriteError(err, g); err != nil {
		return err
	}
	if err := changedRow(res, resource.Errorf(resource.ENotFound, "device group %q not found", g.ID)); err != nil {
		return err
	}
	g.UpdatedAt = updated
	return nil
}

// DeleteDeviceGroup removes a group of the customer; its devices are left
// in no group (ON DELETE SET NULL). ENotFound.
func (s *DeviceGroupStore) DeleteDeviceGroup(ctx context.Context, customerID, id string) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM device_groups WHERE customer_id = ? AND id = ?`), customerID, id)
	if err != nil {
		return fmt.Errorf("delete device group: %w", err)
	}
	return changedRow(res, resource.Errorf(resource.ENotFound, "device group %q not found", id))
}
