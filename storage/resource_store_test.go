package storage_test

import (
	"testing"

	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

func TestDeviceStore(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		storagetest.TestDeviceStore(t, storage.NewDeviceStore(db), storage.NewDeviceGroupStore(db), storage.NewCustomerStore(db))
	})
}

func TestDeviceGroupStore(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		storagetest.TestDeviceGroupStore(t, storage.NewDeviceGroupStore(db), storage.NewConfigurationStore(db),
			storage.NewDeviceStore(db), storage.NewCustomerStore(db))
	})
}

func TestConfigurationStore(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		storagetest.TestConfigurationStore(t, storage.NewConfigurationStore(db), storage.NewDeviceGroupStore(db), storage.NewCustomerStore(db))
	})
}

func TestGeogroupStore(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		storagetest.TestGeogroupStore(t, storage.NewGeogroupStore(db), storage.NewCustomerStore(db))
	})
}

func TestDeviceGeogroupFilters(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		storagetest.TestDeviceGeogroupFilters(t, storage.NewDeviceStore(db), storage.NewCustomerStore(db))
	})
}
