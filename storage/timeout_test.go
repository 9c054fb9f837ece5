package storage_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// mustLockSQLite holds the write lock of the SQLite file at rawURL from a
// connection of its own until the test ends.
func mustLockSQLite(tb testing.TB, rawURL string) {
	tb.Helper()
	locker, err := sql.Open("sqlite", "file:"+strings.TrimPrefix(rawURL, "sqlite:"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { locker.Close() })
	conn, err := locker.Conn(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		conn.Close()
	})
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		tb.Fatal(err)
	}
}

// TestTimeout checks that a call waiting for a lock held elsewhere gives up
// after the database's Timeout, not SQLite's ten-second busy timeout, with
// an error that is EUnavailable.
func TestTimeout(t *testing.T) {
	u := storagetest.SQLiteURL(t)
	db, err := storage.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	db.Timeout = 200 * time.Millisecond
	store := storage.NewCustomerStore(db)
	mustLockSQLite(t, u)

	for _, tc := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Exec", func(ctx context.Context) error {
			return store.CreateCustomer(ctx, &resource.Customer{ID: resource.NewID(), Name: "Locked", CreatedAt: time.Now()})
		}},
		{"Tx", func(ctx context.Context) error {
			return db.WithTx(ctx, func(tx *storage.Tx) error {
				_, err := tx.ExecContext(ctx, `DELETE FROM customers WHERE id = 'none'`)
				return err
			})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := tc.call(t.Context())
			took := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) || resource.ErrorCode(err) != resource.EUnavailable {
				t.Fatalf("err %v (code %s), want a time-out", err, resource.ErrorCode(err))
			}
			if took > 2*time.Second {
				t.Fatalf("gave up after %s, want about %s", took, db.Timeout)
			}
		})
	}
	t.Run("Reads", func(t *testing.T) {
		// Reads do not wait for the writer (WAL), and keep working.
		if _, err := store.FindCustomer(t.Context(), resource.NewID()); resource.ErrorCode(err) != resource.ENotFound {
			t.Fatalf("err %v, want ENotFound", err)
		}
	})
}
