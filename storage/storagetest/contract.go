package storagetest

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// This file holds the contract suites of the customer and user stores: every
// implementation of resource.CustomerStore and resource.UserStore must pass
// them. Call them from a test of the implementation, on a fresh database.

// testBase is the instant of testTime: fixed for the run, with
// microseconds, four days ago (and every offset the suites use stays in the
// past), so that events at it are within a customer's retention (older
// ones are refused).
var testBase = time.Now().UTC().Add(-96 * time.Hour).Truncate(time.Second).Add(535897 * time.Microsecond)

// testTime returns a time as stores keep it (UTC, microseconds), offset by
// d from a fixed instant, so that tests can order times exactly.
func testTime(d time.Duration) time.Time {
	return testBase.Add(d)
}

// otherZone returns a zone east of UTC that times are written in to check
// that stores return them in UTC.
func otherZone() *time.Location {
	return time.FixedZone("UTC+2", 2*60*60)
}

// MustCreateCustomer creates a customer named "Customer <id>" in s.
func MustCreateCustomer(tb testing.TB, s resource.CustomerStore) *resource.Customer {
	tb.Helper()
	id := resource.NewID()
	now := time.Now().UTC().Truncate(time.Microsecond)
	c := &resource.Customer{ID: id, Name: "Customer " + id, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateCustomer(tb.Context(), c); err != nil {
		tb.Fatalf("create customer: %v", err)
	}
	return c
}

// MustCreateUser creates a user of the given customer in s, with a unique
// e-mail address, a placeholder password hash and no external token.
func MustCreateUser(tb testing.TB, s resource.UserStore, customerID string) *resource.User {
	tb.Helper()
	u := newUser(customerID)
	if err := s.CreateUser(tb.Context(), u); err != nil {
		tb.Fatalf("create user: %v", err)
	}
	return u
}

func newUser(customerID string) *resource.User {
	id := resource.NewID()
	now := time.Now().UTC().Truncate(time.Microsecond)
	return &resource.User{
		ID: id, CustomerID: customerID, Email: "user-" + id + "@example.com",
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$placeholder$" + id,
		CreatedAt:    now, UpdatedAt: now,
	}
}

// requireCode fails the test unless err carries code ("" for no error).
func requireCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := resource.ErrorCode(err); got != code {
		tb.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

// requireEqual fails the test unless got deeply equals want. Times must be
// equal and in UTC: UTC times compare deeply equal only to UTC times.
func requireEqual[T any](tb testing.TB, got, want T) {
	tb.Helper()
	if !reflect.DeepEqual(got, want) {
		tb.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

// TestCustomerStore runs the contract of resource.CustomerStore against s.
func TestCustomerStore(t *testing.T, s resource.CustomerStore) {
	t.Run("Create", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			c := &resource.Customer{ID: resource.NewID(), Name: "Acme", CreatedAt: testTime(0), UpdatedAt: testTime(time.Second)}
			requireCode(t, s.CreateCustomer(t.Context(), c), "")
			got, err := s.FindCustomer(t.Context(), c.ID)
			requireCode(t, err, "")
			requireEqual(t, got, &resource.Customer{ID: c.ID, Name: "Acme", CreatedAt: testTime(0), UpdatedAt: testTime(time.Second),
				EventRetentionDays: resource.DefaultEventRetentionDays})
		})
		t.Run("TimesInUTC", func(t *testing.T) {
			c := &resource.Customer{ID: resource.NewID(), Name: "Zoned", CreatedAt: testTime(0).In(otherZone()), UpdatedAt: testTime(time.Hour).In(otherZone())}
			requireCode(t, s.CreateCustomer(t.Context(), c), "")
			got, err := s.FindCustomer(t.Context(), c.ID)
			requireCode(t, err, "")
			requireEqual(t, got, &resource.Customer{ID: c.ID, Name: "Zoned", CreatedAt: testTime(0), UpdatedAt: testTime(time.Hour),
				EventRetentionDays: resource.DefaultEventRetentionDays})
		})
		t.Run("ErrConflict", func(t *testing.T) {
			c := MustCreateCustomer(t, s)
			dup := *c
			dup.Name = "Someone else"
			requireCode(t, s.CreateCustomer(t.Context(), &dup), resource.EConflict)
			got, err := s.FindCustomer(t.Context(), c.ID)
			requireCode(t, err, "")
			requireEqual(t, got.Name, c.Name)
		})
	})
	t.Run("Find", func(t *testing.T) {
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := s.FindCustomer(t.Context(), resource.NewID())
			requireCode(t, err, resource.ENotFound)
		})
	})
	t.Run("FindByName", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			name := "Twin " + resource.NewID()
			younger := &resource.Customer{ID: resource.NewID(), Name: name, CreatedAt: testTime(time.Hour), UpdatedAt: testTime(time.Hour)}
			older := &resource.Customer{ID: resource.NewID(), Name: name, CreatedAt: testTime(0), UpdatedAt: testTime(0)}
			requireCode(t, s.CreateCustomer(t.Context(), younger), "")
			requireCode(t, s.CreateCustomer(t.Context(), older), "")
			got, err := s.FindCustomerByName(t.Context(), name)
			requireCode(t, err, "")
			requireEqual(t, got, older)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := s.FindCustomerByName(t.Context(), "No such customer "+resource.NewID())
			requireCode(t, err, resource.ENotFound)
		})
	})
	t.Run("SetEventRetention", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			c := MustCreateCustomer(t, s)
			got, err := s.SetEventRetention(t.Context(), c.ID, 7, testTime(time.Hour))
			requireCode(t, err, "")
			want := *c
			want.EventRetentionDays, want.UpdatedAt = 7, testTime(time.Hour)
			requireEqual(t, got, &want)
			found, err := s.FindCustomer(t.Context(), c.ID)
			requireCode(t, err, "")
			requireEqual(t, found, &want)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := s.SetEventRetention(t.Context(), resource.NewID(), 7, testTime(0))
			requireCode(t, err, resource.ENotFound)
		})
	})
}

// TestUserStore runs the contract of resource.UserStore against users;
// customers must share its database.
func TestUserStore(t *testing.T, users resource.UserStore, customers resource.CustomerStore) {
	cust := MustCreateCustomer(t, customers)
	t.Run("Create", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			u := newUser(cust.ID)
			u.Email = "Mixed.Case-" + u.ID + "@Example.COM"
			u.ExternalTokenHash = "ext-" + u.ID
			u.CreatedAt, u.UpdatedAt = testTime(0).In(otherZone()), testTime(time.Minute).In(otherZone())
			requireCode(t, users.CreateUser(t.Context(), u), "")
			want := &resource.User{
				ID: u.ID, CustomerID: cust.ID, Email: "mixed.case-" + u.ID + "@example.com",
				PasswordHash: u.PasswordHash, ExternalTokenHash: "ext-" + u.ID,
				CreatedAt: testTime(0), UpdatedAt: testTime(time.Minute),
			}
			got, err := users.FindUser(t.Context(), u.ID)
			requireCode(t, err, "")
			requireEqual(t, got, want)
		})
		t.Run("ManyWithoutExternalToken", func(t *testing.T) {
			a, b := MustCreateUser(t, users, cust.ID), MustCreateUser(t, users, cust.ID)
			for _, u := range []*resource.User{a, b} {
				got, err := users.FindUser(t.Context(), u.ID)
				requireCode(t, err, "")
				requireEqual(t, got.ExternalTokenHash, "")
			}
		})
		t.Run("ErrConflictEmail", func(t *testing.T) {
			u := MustCreateUser(t, users, cust.ID)
			other := MustCreateCustomer(t, customers)
			dup := newUser(other.ID)
			dup.Email = strings.ToUpper(u.Email)
			err := users.CreateUser(t.Context(), dup)
			requireCode(t, err, resource.EConflict)
			requireEqual(t, resource.ErrorMessage(err), "email already in use")
			_, err = users.FindUser(t.Context(), dup.ID)
			requireCode(t, err, resource.ENotFound)
		})
		t.Run("ErrConflictExternalToken", func(t *testing.T) {
			u := newUser(cust.ID)
			u.ExternalTokenHash = "shared-" + u.ID
			requireCode(t, users.CreateUser(t.Context(), u), "")
			dup := newUser(cust.ID)
			dup.ExternalTokenHash = u.ExternalTokenHash
			requireCode(t, users.CreateUser(t.Context(), dup), resource.EConflict)
		})
		t.Run("ErrConflictID", func(t *testing.T) {
			u := MustCreateUser(t, users, cust.ID)
			dup := newUser(cust.ID)
			dup.ID = u.ID
			requireCode(t, users.CreateUser(t.Context(), dup), resource.EConflict)
		})
		t.Run("ErrNotFoundCustomer", func(t *testing.T) {
			requireCode(t, users.CreateUser(t.Context(), newUser(resource.NewID())), resource.ENotFound)
		})
	})
	t.Run("Find", func(t *testing.T) {
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := users.FindUser(t.Context(), resource.NewID())
			requireCode(t, err, resource.ENotFound)
		})
	})
	t.Run("FindByEmail", func(t *testing.T) {
		u := MustCreateUser(t, users, cust.ID)
		t.Run("OK", func(t *testing.T) {
			got, err := users.FindUserByEmail(t.Context(), u.Email)
			requireCode(t, err, "")
			requireEqual(t, got, u)
		})
		t.Run("UpperCase", func(t *testing.T) {
			got, err := users.FindUserByEmail(t.Context(), strings.ToUpper(u.Email))
			requireCode(t, err, "")
			requireEqual(t, got.ID, u.ID)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := users.FindUserByEmail(t.Context(), "nobody-"+resource.NewID()+"@example.com")
			requireCode(t, err, resource.ENotFound)
		})
	})
	t.Run("ExternalToken", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			u := MustCreateUser(t, users, cust.ID)
			hash := "token-" + u.ID
			requireCode(t, users.SetUserExternalTokenHash(t.Context(), u.ID, hash, testTime(time.Hour).In(otherZone())), "")
			got, err := users.FindUserByExternalTokenHash(t.Context(), hash)
			requireCode(t, err, "")
			want := *u
			want.ExternalTokenHash, want.UpdatedAt = hash, testTime(time.Hour)
			requireEqual(t, got, &want)
		})
		t.Run("Clear", func(t *testing.T) {
			u := MustCreateUser(t, users, cust.ID)
			hash := "token-" + u.ID
			requireCode(t, users.SetUserExternalTokenHash(t.Context(), u.ID, hash, testTime(0)), "")
			requireCode(t, users.SetUserExternalTokenHash(t.Context(), u.ID, "", testTime(time.Second)), "")
			_, err := users.FindUserByExternalTokenHash(t.Context(), hash)
			requireCode(t, err, resource.ENotFound)
			got, err := users.FindUser(t.Context(), u.ID)
			requireCode(t, err, "")
			requireEqual(t, got.ExternalTokenHash, "")
			// Another user without a token does not collide with this one.
			requireCode(t, users.SetUserExternalTokenHash(t.Context(), MustCreateUser(t, users, cust.ID).ID, "", testTime(0)), "")
		})
		t.Run("ErrNotFoundHash", func(t *testing.T) {
			MustCreateUser(t, users, cust.ID) // a user without a token
			for _, hash := range []string{"", "no-such-hash-" + resource.NewID()} {
				_, err := users.FindUserByExternalTokenHash(t.Context(), hash)
				requireCode(t, err, resource.ENotFound)
			}
		})
		t.Run("ErrNotFoundUser", func(t *testing.T) {
			requireCode(t, users.SetUserExternalTokenHash(t.Context(), resource.NewID(), "h-"+resource.NewID(), testTime(0)), resource.ENotFound)
		})
		t.Run("ErrConflict", func(t *testing.T) {
			a, b := MustCreateUser(t, users, cust.ID), MustCreateUser(t, users, cust.ID)
			hash := "token-" + a.ID
			requireCode(t, users.SetUserExternalTokenHash(t.Context(), a.ID, hash, testTime(0)), "")
			requireCode(t, users.SetUserExternalTokenHash(t.Context(), b.ID, hash, testTime(0)), resource.EConflict)
			got, err := users.FindUserByExternalTokenHash(t.Context(), hash)
			requireCode(t, err, "")
			requireEqual(t, got.ID, a.ID)
		})
	})
	t.Run("UpdatePassword", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			u := MustCreateUser(t, users, cust.ID)
			requireCode(t, users.UpdateUserPassword(t.Context(), u.ID, "new-hash", testTime(time.Hour).In(otherZone())), "")
			got, err := users.FindUser(t.Context(), u.ID)
			requireCode(t, err, "")
			want := *u
			want.PasswordHash, want.UpdatedAt = "new-hash", testTime(time.Hour)
			requireEqual(t, got, &want)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			requireCode(t, users.UpdateUserPassword(t.Context(), resource.NewID(), "new-hash", testTime(0)), resource.ENotFound)
		})
	})
}
