package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// ConfigurationStore keeps configurations in the SQL database; settings are
// a JSON object (TEXT in SQLite, JSONB in PostgreSQL).
type ConfigurationStore struct {
	db *DB
}

var _ resource.ConfigurationStore = (*ConfigurationStore)(nil)

// NewConfigurationStore returns a ConfigurationStore on db.
func NewConfigurationStore(db *DB) *ConfigurationStore {
	return &ConfigurationStore{db: db}
}

// settingsColumn is resource.Settings kept as a JSON object. Keys the
// current code does not know are ignored on read.
type settingsColumn resource.Settings

// Scan implements sql.Scanner for a JSON object read as text or bytes.
func (s *settingsColumn) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("scan settings: unexpected %T", src)
	}
	var out resource.Settings
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("scan settings: %w", err)
	}
	*s = settingsColumn(out)
	return nil
}

// settingsJSON returns settings as the text of a JSON object.
func settingsJSON(s resource.Settings) (string, error) {
	b, err := json.Marshal(s)
	return string(b), err
}

// configurationRow is a configurations row.
type configurationRow struct {
	ID          string         `db:"id"`
	CustomerID  string         `db:"customer_id"`
	Name        string         `db:"name"`
	State       string         `db:"state"`
	Settings    settingsColumn `db:"settings"`
	PublishedAt *time.Time     `db:"published_at"`
	CreatedAt   time.Time      `db:"created_at"`
	UpdatedAt   time.Time      `db:"updated_at"`
}

const configurationColumns = `id, customer_id, name, state, settings, published_at, created_at, updated_at`

func (r *configurationRow) configuration() *resource.Configuration {
	c := &resource.Configuration{
		ID: r.ID, CustomerID: r.CustomerID, Name: r.Name, State: resource.ConfigurationState(r.State), Settings: resource.Settings(r.Settings),
		CreatedAt: dbTime(r.CreatedAt), UpdatedAt: dbTime(r.UpdatedAt),
	}
	if r.PublishedAt != nil {
		t := dbTime(*r.PublishedAt)
		c.PublishedAt = &t
	}
	return c
}

func configurations(rows []configurationRow) []*resource.Configuration {
	out := make([]*resource.Configuration, len(rows))
	for i := range rows {
		out[i] = rows[i].configuration()
	}
	return out
}

// configurationSorts maps the sort fields of
// resource.ConfigurationQuerySpec to columns.
var configurationSorts = map[string]sortColumn{
	"name":         {expr: "lower(name)"},
	"created_at":   {expr: "created_at"},
	"published_at": {expr: "published_at", nullable: true},
}

// optTime returns *t as the database keeps it, or nil.
func optTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return dbTime(*t)
}

// CreateConfiguration inserts c, storing its times in UTC at microsecond
// precision (and setting c's times to the stored values).
func (s *ConfigurationStore) CreateConfiguration(ctx context.Context, c *resource.Configuration) error {
	settings, err := settingsJSON(c.Settings)
	if err != nil {
		return err
	}
	created, updated := dbTime(c.CreatedAt), dbTime(c.UpdatedAt)
	_, err = s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO configurations
		(id, customer_id, name, state, settings, published_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		c.ID, c.CustomerID, c.Name, string(c.State), settings, optTime(c.PublishedAt), created, updated)
	switch {
	case err == nil:
		c.CreatedAt, c.UpdatedAt = created, updated
		if c.PublishedAt != nil {
			t := dbTime(*c.PublishedAt)
			c.PublishedAt = &t
		}
		return nil
	case isUniqueViolation(err, "id"):
		return resource.Errorf(resource.EConflict, "configuration %q already exists", c.ID)
	case isForeignKeyViolation(err):
		return resource.Errorf(resource.ENotFound, "customer %q not found", c.CustomerID)
	}
	return fmt.Errorf("create configuration: %w", err)
}

// FindConfiguration returns a configuration of the customer, or ENotFound.
func (s *ConfigurationStore) FindConfiguration(ctx context.Context, customerID, id string) (*resource.Configuration, error) {
	var r configurationRow
	err := s.db.GetContext(ctx, &r, s.db.Rebind(`SELECT `+configurationColumns+` FROM configurations WHERE customer_id = ? AND id = ?`), customerID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, resource.Errorf(resource.ENotFound, "configuration %q not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find configuration: %w", err)
	}
	return r.configuration(), nil
}

// FindConfigurations returns the customer's configurations among ids,
// ordered by id.
func (s *ConfigurationStore) FindConfigurations(ctx context.Context, customerID string, ids []string) ([]*resource.Configuration, error) {
	rows, err := findMany[configurationRow](ctx, s.db, `SELECT `+configurationColumns+` FROM configurations`, customerID, ids)
	if err != nil {
		return nil, fmt.Errorf("find configurations: %w", err)
	}
	return configurations(rows), nil
}

// ListConfigurations returns the page of the customer's configurations that
// q selects and how many match in all.
func (s *ConfigurationStore) ListConfigurations(ctx context.Context, customerID string, q resource.ConfigurationQuery) ([]*resource.Configuration, int, error) {
	c := &conds{}
	c.add("customer_id = ?", customerID)
	if q.Filter.Search != "" {
		c.add(`lower(name) LIKE ? ESCAPE '\'`, likePattern(q.Filter.Search))
	}
	if len(q.Filter.Names) > 0 {
		c.in("name", q.Filter.Names)
	}
	if q.Filter.State != "" {
		c.add("state = ?", string(q.Filter.State))
	}
	order, err := orderBy(q.Sort, configurationSorts)
	if err != nil {
		return nil, 0, err
	}
	rows, total, err := listPage[configurationRow](ctx, s.db, `SELECT `+configurationColumns+` FROM configurations`,
		countAll("configurations", c), c, order, q.Offset, q.Limit)
	if err != nil {
		return nil, 0, fmt.Errorf("configurations: %w", err)
	}
	return configurations(rows), total, nil
}

// UpdateConfiguration writes the name, state, settings, publication and
// update times of c if the stored row is still in state ifState. ENotFound;
// EConflict when it is in another state.
func (s *ConfigurationStore) UpdateConfiguration(ctx context.Context, c *resource.Configuration, ifState resource.ConfigurationState) error {
	settings, err := settingsJSON(c.Settings)
	if err != nil {
		return err
	}
	updated := dbTime(c.UpdatedAt)
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE configurations SET
		name = ?, state = ?, settings = ?, published_at = ?, updated_at = ?
		WHERE customer_id = ? AND id = ? AND state = ?`),
		c.Name, string(c.State), settings, optTime(c.PublishedAt), updated, c.CustomerID, c.ID, string(ifState))
	if err != nil {
		return fmt.Errorf("update configuration: %w", err)
	}
	if err := s.changedInState(ctx, res, c.CustomerID, c.ID, ifState); err != nil {
		return err
	}
	c.UpdatedAt = updated
	if c.PublishedAt != nil {
		t := dbTime(*c.PublishedAt)
		c.PublishedAt = &t
	}
	return nil
}

// DeleteConfiguration removes a configuration of the customer if it is in
// state ifState. ENotFound; EConflict when it is in another state or a
// device group uses it.
func (s *ConfigurationStore) DeleteConfiguration(ctx context.Context, customerID, id string, ifState resource.ConfigurationState) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM configurations WHERE customer_id = ? AND id = ? AND state = ?`),
		customerID, id, string(ifState))
	if isForeignKeyViolation(err) {
		return resource.Errorf(resource.EConflict, "configuration %q is assigned to a device group", id)
	} else if err != nil {
		return fmt.Errorf("delete configuration: %w", err)
	}
	return s.changedInState(ctx, res, customerID, id, ifState)
}

// changedInState explains a conditional write that matched no row:
// ENotFound when the configuration does not exist, EConflict when it is in
// another state than ifState.
func (s *ConfigurationStore) changedInState(ctx context.Context, res sql.Result, customerID, id string, ifState resource.ConfigurationState) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("rows affected: %w", err)
	}
	if n > 0 {
		return nil
	}
	var state string
	err = s.db.GetContext(ctx, &state, s.db.Rebind(`SELECT state FROM configurations WHERE customer_id = ? AND id = ?`), customerID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return resource.Errorf(resource.ENotFound, "configuration %q not found", id)
	} else if err != nil {
		return fmt.Errorf("configuration state: %w", err)
	}
	return resource.Errorf(resource.EConflict, "configuration %q is %s, not %s", id, state, ifState)
}
