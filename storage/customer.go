package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// CustomerStore keeps customers in the SQL database.
type CustomerStore struct {
	db *DB
}

var _ resource.CustomerStore = (*CustomerStore)(nil)

// NewCustomerStore returns a CustomerStore on db.
func NewCustomerStore(db *DB) *CustomerStore {
	return &CustomerStore{db: db}
}

const customerColumns = `id, name, created_at, updated_at, event_retention_days`

// CreateCustomer inserts c, storing its times in UTC at microsecond precision
// (and setting c's times to the stored values). EConflict when the id is
// taken.
func (s *CustomerStore) CreateCustomer(ctx context.Context, c *resource.Customer) error {
	created, updated := dbTime(c.CreatedAt), dbTime(c.UpdatedAt)
	if c.EventRetentionDays == 0 {
		c.EventRetentionDays = resource.DefaultEventRetentionDays
	}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO customers (`+customerColumns+`) VALUES (?, ?, ?, ?, ?)`),
		c.ID, c.Name, created, updated, c.EventRetentionDays)
	if isUniqueViolation(err, "id") {
		return resource.Errorf(resource.EConflict, "customer %q already exists", c.ID)
	} else if err != nil {
		return fmt.Errorf("create customer: %w", err)
	}
	c.CreatedAt, c.UpdatedAt = created, updated
	return nil
}

// FindCustomer returns the customer with the given id, or ENotFound.
func (s *CustomerStore) FindCustomer(ctx context.Context, id string) (*resource.Customer, error) {
	return s.findCustomer(ctx, `SELECT `+customerColumns+` FROM customers WHERE id = ?`, id,
		resource.Errorf(resource.ENotFound, "customer %q not found", id))
}

// FindCustomerByName returns the oldest customer with the given name, or
// ENotFound.
func (s *CustomerStore) FindCustomerByName(ctx context.Context, name string) (*resource.Customer, error) {
	return s.findCustomer(ctx, `SELECT `+customerColumns+` FROM customers WHERE name = ? ORDER BY created_at, id LIMIT 1`, name,
		resource.Errorf(resource.ENotFound, "customer named %q not found", name))
}

// findCustomer runs a query for at most one customer with one argument and
// returns notFound when there is none.
func (s *CustomerStore) findCustomer(ctx context.Context, query string, arg any, notFound error) (*resource.Customer, error) {
	var c resource.Customer
	err := s.db.GetContext(ctx, &c, s.db.Rebind(query), arg)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	} else if err != nil {
		return nil, fmt.Errorf("find customer: %w", err)
	}
	c.CreatedAt, c.UpdatedAt = dbTime(c.CreatedAt), dbTime(c.UpdatedAt)
	return &c, nil
}

// SetEventRetention sets the customer's event retention; ENotFound.
func (s *CustomerStore) SetEventRetention(ctx context.Context, id string, days int, now time.Time) (*resource.Customer, error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE customers SET event_retention_days = ?, updated_at = ? WHERE id = ?`),
		days, dbTime(now), id)
	if err != nil {
		return nil, fmt.Errorf("set event retention: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, fmt.Errorf("set event retention: %w", err)
	} else if n == 0 {
		return nil, resource.Errorf(resource.ENotFound, "customer %q not found", id)
	}
	return s.FindCustomer(ctx, id)
}
