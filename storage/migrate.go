package storage

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed migrations
var migrationFS embed.FS

// Migrate applies, in name order, every embedded migration of the database's
// dialect that has not been applied yet. Each runs in its own transaction
// together with its row in schema_migrations, so a failed migration leaves
// nothing behind, and running Migrate again is a no-op. It returns the names
// it applied. Migrations are not bounded by db.Timeout.
func (db *DB) Migrate(ctx context.Context) ([]string, error) {
	// A migration may take long, and may wait for another replica's.
	db = db.WithTimeout(0)
	err := db.WithTx(ctx, func(tx *Tx) error {
		if err := db.lockMigrations(ctx, tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			name TEXT PRIMARY KEY,
			applied_at TIMESTAMP NOT NULL
		)`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	dir := "migrations/" + db.Dialect
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var applied []string
	for _, name := range names {
		body, err := migrationFS.ReadFile(dir + "/" + name)
		if err != nil {
			return applied, err
		}
		did := false
		err = db.WithTx(ctx, func(tx *Tx) error {
			if err := db.lockMigrations(ctx, tx); err != nil {
				return err
			}
			var n int
			if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM schema_migrations WHERE name = ?`), name); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			did = true
			_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`), name, db.now())
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("migration %s: %w", name, err)
		}
		if did {
			applied = append(applied, name)
		}
	}
	return applied, nil
}

// lockMigrations serialises the migrations of replicas that start together:
// on PostgreSQL it takes a transaction-scoped advisory lock (SQLite's
// immediate transactions already serialise writers).
func (db *DB) lockMigrations(ctx context.Context, tx *Tx) error {
	if db.Dialect != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7417)`)
	return err
}
