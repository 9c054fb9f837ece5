package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestCachedApplicationStore runs the application contract through the
// cache: a cache must not change what the store answers.
func TestCachedApplicationStore(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		apps := storage.NewCachedApplicationStore(storage.NewApplicationStore(db), time.Minute, nil, "")
		storagetest.TestApplicationStore(t, apps, storage.NewUserStore(db), storage.NewCustomerStore(db))
	})
}

func TestCachedApplicationStoreServesCopies(t *testing.T) {
	db := storagetest.MustOpenDB(t, storage.SQLite)
	apps := storage.NewCachedApplicationStore(storage.NewApplicationStore(db), time.Minute, nil, "")
	a := seedApp(t, db)
	got, _ := apps.FindApplication(t.Context(), a.ID)
	got.Name = "changed by a caller"
	got.GrantTypes[0] = "changed"
	again, err := apps.FindApplication(t.Context(), a.ID)
	if err != nil || again.Name != a.Name || again.GrantTypes[0] != a.GrantTypes[0] {
		t.Fatalf("a caller's change reached the cache: %+v", again)
	}
}

// TestCachedApplicationStoreInvalidation plays two replicas: each has its
// own cache over one PostgreSQL database and one Redis. A secret rotated
// through B stops working on A at once, not after the TTL.
func TestCachedApplicationStoreInvalidation(t *testing.T) {
	rc := storagetest.MustOpenRedis(t)
	db := storagetest.MustOpenDB(t, storage.Postgres)
	prefix := storagetest.MustRedisPrefix(t, rc)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	replicaA := storage.NewCachedApplicationStore(storage.NewApplicationStore(db), time.Hour, rc, prefix)
	replicaB := storage.NewCachedApplicationStore(storage.NewApplicationStore(db), time.Hour, rc, prefix)
	go replicaA.Listen(ctx)
	go replicaB.Listen(ctx)
	time.Sleep(200 * time.Millisecond) // let both subscriptions start

	a := seedApp(t, db)
	if _, err := replicaA.FindApplication(ctx, a.ID); err != nil { // now cached on A for an hour
		t.Fatal(err)
	}
	onB, _ := replicaB.FindApplication(ctx, a.ID)
	onB.SecretHash = resource.HashSecret("new secret")
	if err := replicaB.UpdateApplication(ctx, onB); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		got, err := replicaA.FindApplication(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.SecretHash == onB.SecretHash {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("replica A still serves the old secret 2 s after B rotated it")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := replicaB.DeleteApplication(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(2 * time.Second)
	for {
		_, err := replicaA.FindApplication(ctx, a.ID)
		if resource.ErrorCode(err) == resource.ENotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica A still finds the deleted application: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func seedApp(t *testing.T, db *storage.DB) *resource.Application {
	t.Helper()
	c := storagetest.MustCreateCustomer(t, storage.NewCustomerStore(db))
	u := storagetest.MustCreateUser(t, storage.NewUserStore(db), c.ID)
	return storagetest.MustCreateApplication(t, storage.NewApplicationStore(db), c.ID, u.ID)
}
