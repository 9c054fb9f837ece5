// Package storagetest opens real databases for tests: a temporary SQLite file
// always, and a throw-away PostgreSQL database whenever
// ASSETGATE_TEST_DATABASE_URL is set. In CI (CI=true) a PostgreSQL suite that
// would be skipped fails instead.
package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/assetgate/assetgate/storage"
)

// DatabaseURLEnv and RedisURLEnv name the variables that point tests at a
// PostgreSQL server and a Redis server.
const (
	DatabaseURLEnv = "ASSETGATE_TEST_DATABASE_URL"
	RedisURLEnv    = "ASSETGATE_TEST_REDIS_URL"
)

// RequireEnv returns the value of the environment variable name. When it is
// empty the test is skipped, or fails when CI=true: CI must run every suite.
// For DatabaseURLEnv and RedisURLEnv it logs the real part used
// (LogRealPart).
func RequireEnv(tb testing.TB, name string) string {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is not set: CI must run this suite", name)
		}
		tb.Skipf("%s is not set", name)
	}
	if part := envPart(name); part != "" {
		LogRealPart(tb, part)
	}
	return v
}

// SQLiteURL returns the URL of a new SQLite file in a temporary folder.
func SQLiteURL(tb testing.TB) string {
	tb.Helper()
	LogRealPart(tb, PartSQLite)
	return "sqlite:" + filepath.Join(tb.TempDir(), "test.db")
}

// PostgresURL creates a new, empty PostgreSQL database for the test on the
// server named by ASSETGATE_TEST_DATABASE_URL and returns its URL; the
// database is dropped when the test ends.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := RequireEnv(tb, DatabaseURLEnv)
	admin, err := storage.Open(context.Background(), base)
	if err != nil {
		tb.Fatalf("open %s: %v", DatabaseURLEnv, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "ag_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		admin.Close()
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		_, _ = admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// MustOpenDB opens and migrates a database of the given dialect for the test
// and closes it when the test ends.
func MustOpenDB(tb testing.TB, dialect string) *storage.DB {
	tb.Helper()
	var u string
	if dialect == storage.Postgres {
		u = PostgresURL(tb)
	} else {
		u = SQLiteURL(tb)
	}
	db, err := storage.Open(context.Background(), u)
	if err != nil {
		tb.Fatalf("open %s: %v", dialect, err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		tb.Fatalf("migrate %s: %v", dialect, err)
	}
	return db
}

// Dialects returns the dialects to run a suite on: SQLite always, and
// PostgreSQL (which skips, or fails in CI, when it is not configured).
func Dialects() []string {
	return []string{storage.SQLite, storage.Postgres}
}

// EachDB runs fn as a subtest on a fresh, migrated database of each dialect.
func EachDB(t *testing.T, fn func(t *testing.T, db *storage.DB)) {
	t.Helper()
	for _, d := range Dialects() {
		t.Run(d, func(t *testing.T) {
			fn(t, MustOpenDB(t, d))
		})
	}
}
