package storage_test

import (
	"testing"

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
