package storage_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// mustOpenEmptyDB opens a database of the dialect without migrating it.
func mustOpenEmptyDB(tb testing.TB, dialect string) *storage.DB {
	tb.Helper()
	u := storagetest.SQLiteURL(tb)
	if dialect == storage.Postgres {
		u = storagetest.PostgresURL(tb)
	}
	db, err := storage.Open(tb.Context(), u)
	if err != nil {
		tb.Fatalf("open %s: %v", dialect, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// migrationFiles lists the migration files of a dialect, in name order.
func migrationFiles(tb testing.TB, dialect string) []string {
	tb.Helper()
	entries, err := os.ReadDir("migrations/" + dialect)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		tb.Fatalf("no migrations for %s", dialect)
	}
	return names // os.ReadDir sorts by name
}

// appliedMigrations returns the names recorded in schema_migrations.
func appliedMigrations(tb testing.TB, db *storage.DB) []string {
	tb.Helper()
	var names []string
	if err := db.SelectContext(tb.Context(), &names, `SELECT name FROM schema_migrations ORDER BY name`); err != nil {
		tb.Fatalf("read schema_migrations: %v", err)
	}
	return names
}

func TestMigrate(t *testing.T) {
	for _, dialect := range storagetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Run("OK", func(t *testing.T) {
				db := mustOpenEmptyDB(t, dialect)
				want := migrationFiles(t, dialect)
				applied, err := db.Migrate(t.Context())
				if err != nil {
					t.Fatalf("first migrate: %v", err)
				}
				if !slices.Equal(applied, want) {
					t.Fatalf("first migrate applied %v, want %v", applied, want)
				}
				applied, err = db.Migrate(t.Context())
				if err != nil {
					t.Fatalf("second migrate: %v", err)
				}
				if len(applied) != 0 {
					t.Fatalf("second migrate applied %v, want nothing", applied)
				}
				if got := appliedMigrations(t, db); !slices.Equal(got, want) {
					t.Fatalf("schema_migrations holds %v, want %v", got, want)
				}
			})
			t.Run("ErrRollsBack", func(t *testing.T) {
				db := mustOpenEmptyDB(t, dialect)
				// The last table 0001 creates already exists, so 0001 fails
				// after creating every other table.
				if _, err := db.ExecContext(t.Context(), `CREATE TABLE events (id TEXT)`); err != nil {
					t.Fatal(err)
				}
				applied, err := db.Migrate(t.Context())
				if err == nil || !strings.Contains(err.Error(), "0001_init.sql") {
					t.Fatalf("migrate: error %v, want one naming 0001_init.sql", err)
				}
				if len(applied) != 0 {
					t.Fatalf("failed migrate applied %v", applied)
				}
				if got := appliedMigrations(t, db); len(got) != 0 {
					t.Fatalf("schema_migrations holds %v after a failed migration", got)
				}
				for _, table := range []string{"customers", "users", "applications", "devices"} {
					if _, err := db.ExecContext(t.Context(), `SELECT COUNT(*) FROM `+table); err == nil {
						t.Errorf("table %s exists after a failed migration", table)
					}
				}

				if _, err := db.ExecContext(t.Context(), `DROP TABLE events`); err != nil {
					t.Fatal(err)
				}
				want := migrationFiles(t, dialect)
				if applied, err := db.Migrate(t.Context()); err != nil || !slices.Equal(applied, want) {
					t.Fatalf("migrate after the fix: applied %v, %v; want %v", applied, err, want)
				}
			})
		})
	}
}

// TestMigrateConcurrently plays several replicas starting at once on one
// empty PostgreSQL database: every Migrate succeeds and each migration is
// applied exactly once.
func TestMigrateConcurrently(t *testing.T) {
	u := storagetest.PostgresURL(t)
	const replicas = 4
	applied := make(chan int, replicas)
	errs := make(chan error, replicas)
	for range replicas {
		go func() {
			db, err := storage.Open(context.Background(), u)
			if err != nil {
				errs <- err
				applied <- 0
				return
			}
			defer db.Close()
			names, err := db.Migrate(context.Background())
			errs <- err
			applied <- len(names)
		}()
	}
	total := 0
	for range replicas {
		if err := <-errs; err != nil {
			t.Fatalf("a replica's Migrate failed: %v", err)
		}
	}
	for range replicas {
		total += <-applied
	}
	entries, _ := os.ReadDir("migrations/postgres")
	if total != len(entries) {
		t.Fatalf("%d migrations applied across replicas, want each of %d once", total, len(entries))
	}
}
