package storage_test

import (
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"

	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

func TestCustomerStore(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		storagetest.TestCustomerStore(t, storage.NewCustomerStore(db))
	})
}

func TestUserStore(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		storagetest.TestUserStore(t, storage.NewUserStore(db), storage.NewCustomerStore(db))
	})
}

func TestApplicationStore(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		storagetest.TestApplicationStore(t, storage.NewApplicationStore(db), storage.NewUserStore(db), storage.NewCustomerStore(db))
	})
}

// TestOldestUserOfCustomer finds a customer's first user, never another
// customer's, and ENotFound for a customer without users.
func TestOldestUserOfCustomer(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		users, customers := storage.NewUserStore(db), storage.NewCustomerStore(db)
		a, b := storagetest.MustCreateCustomer(t, customers), storagetest.MustCreateCustomer(t, customers)
		first := storagetest.MustCreateUser(t, users, a.ID)
		time.Sleep(2 * time.Millisecond) // created_at is kept to the microsecond
		storagetest.MustCreateUser(t, users, a.ID)
		got, err := users.OldestUserOfCustomer(t.Context(), a.ID)
		if err != nil || got.ID != first.ID || got.CustomerID != a.ID {
			t.Fatalf("OldestUserOfCustomer = %+v, %v; want %s", got, err, first.ID)
		}
		if _, err := users.OldestUserOfCustomer(t.Context(), b.ID); resource.ErrorCode(err) != resource.ENotFound {
			t.Fatalf("a customer without users: %v, want not found", err)
		}
	})
}
