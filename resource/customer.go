package resource

import (
	"context"
	"strings"
	"time"
)

// Customer is a tenant: every user, application, device and event belongs to
// exactly one customer, and no principal ever sees another customer's data.
type Customer struct {
	ID        string    `db:"id"`
	Name      string    `db:"name"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

// CustomerStore persists customers.
type CustomerStore interface {
	// CreateCustomer inserts c; c.ID, CreatedAt and UpdatedAt must be set.
	CreateCustomer(ctx context.Context, c *Customer) error
	// FindCustomer returns the customer with the given id, or ENotFound.
	FindCustomer(ctx context.Context, id string) (*Customer, error)
	// FindCustomerByName returns the first customer with the given name, or
	// ENotFound.
	FindCustomerByName(ctx context.Context, name string) (*Customer, error)
}

// CustomerService holds the rules for customers.
type CustomerService struct {
	Store CustomerStore
	Now   func() time.Time
}

// Create makes a new customer. It returns EInvalid for an empty or too long
// name.
func (s *CustomerService) Create(ctx context.Context, name string) (*Customer, error) {
	if err := CheckText("name", name); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, Invalidf("name", "name must not be empty")
	}
	if len(name) > 200 {
		return nil, Invalidf("name", "name must be at most 200 characters")
	}
	now := nowUTC(s.Now)
	c := &Customer{ID: NewID(), Name: name, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.CreateCustomer(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}
