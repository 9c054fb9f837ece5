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
	// EventRetentionDays is how long the customer's events are kept (by
	// occurred_at): older ones are never returned and are swept.
	EventRetentionDays int `db:"event_retention_days"`
}

// DefaultEventRetentionDays is the event retention of a new customer.
const DefaultEventRetentionDays = 90

// MaxEventRetentionDays bounds the event retention (about 100 years).
const MaxEventRetentionDays = 36500

// CustomerStore persists customers.
type CustomerStore interface {
	// CreateCustomer inserts c; c.ID, CreatedAt and UpdatedAt must be set.
	CreateCustomer(ctx context.Context, c *Customer) error
	// FindCustomer returns the customer with the given id, or ENotFound.
	FindCustomer(ctx context.Context, id string) (*Customer, error)
	// FindCustomerByName returns the first customer with the given name, or
	// ENotFound.
	FindCustomerByName(ctx context.Context, name string) (*Customer, error)
	// SetEventRetention sets the customer's event retention and updated_at,
	// and returns the customer; ENotFound.
	SetEventRetention(ctx context.Context, id string, days int, now time.Time) (*Customer, error)
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
	c := &Customer{ID: NewID(), Name: name, CreatedAt: now, UpdatedAt: now, EventRetentionDays: DefaultEventRetentionDays}
	if err := s.Store.CreateCustomer(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// SetEventRetention sets how many days the customer's events are kept (an
// operator's command). Shortening it hides the older events at once; the
// background sweep deletes them. EInvalid pointing at
// "event_retention_days" outside 1..MaxEventRetentionDays; ENotFound.
func (s *CustomerService) SetEventRetention(ctx context.Context, id string, days int) (*Customer, error) {
	if days < 1 || days > MaxEventRetentionDays {
		return nil, Invalidf("event_retention_days", "event_retention_days must be 1 to %d", MaxEventRetentionDays)
	}
	if !ValidID(id) {
		return nil, Errorf(ENotFound, "customer %q not found", id)
	}
	return s.Store.SetEventRetention(ctx, id, days, nowUTC(s.Now))
}
