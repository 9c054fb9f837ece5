// Package storage keeps assetgate's data in SQLite or PostgreSQL through sqlx,
// and its tokens in SQL or Redis. It implements the store interfaces of
// package resource; it holds no business rules.
package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/jmoiron/sqlx"
	"go.opentelemetry.io/otel/trace"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// DB is an open database with the dialect its SQL is written for.
type DB struct {
	*sqlx.DB
	Dialect string
	// Now returns the current time; tests may replace it.
	Now func() time.Time
	// Timeout bounds every call of a store (a statement, a transaction);
	// zero means unbounded. See timeout.go.
	Timeout time.Duration
	// Tracer, when set, makes a client span of every statement (see
	// trace.go); nil makes none.
	Tracer trace.Tracer
}

// ParseURL checks a database URL and returns its dialect and the driver data
// source name. Accepted forms: "sqlite:PATH" (or "sqlite://PATH") and
// "postgres://..." / "postgresql://...".
func ParseURL(raw string) (dialect, dsn string, err error) {
	switch {
	case strings.HasPrefix(raw, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//")
		if path == "" {
			return "", "", errors.New("sqlite URL has no file path (want sqlite:PATH)")
		}
		if strings.ContainsAny(path, "?#") {
			return "", "", errors.New("sqlite URL must be a plain file path, without ? or #")
		}
		return SQLite, path, nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		u, err := url.Parse(raw)
		if err != nil {
			return "", "", fmt.Errorf("not a valid URL: %v", errors.Unwrap(err))
		}
		if u.Host == "" {
			return "", "", errors.New("postgres URL has no host")
		}
		return Postgres, raw, nil
	case raw == "":
		return "", "", errors.New("must not be empty")
	default:
		return "", "", errors.New("must start with sqlite: or postgres://")
	}
}

// Open connects to the database named by a URL (see ParseURL). For SQLite it
// creates the file's folder, and turns on WAL, a busy timeout and foreign
// keys on every connection. It does not migrate.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	dialect, dsn, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	var db *sqlx.DB
	switch dialect {
	case SQLite:
		if dir := filepath.Dir(dsn); dir != "." {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("create database folder: %w", err)
			}
		}
		q := url.Values{}
		for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)"} {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate")
		q.Set("_time_format", "sqlite")
		sqldb, err := sql.Open("sqlite", "file:"+dsn+"?"+q.Encode())
		if err != nil {
			return nil, err
		}
		// "sqlite3" tells sqlx to keep ? placeholders.
		db = sqlx.NewDb(sqldb, "sqlite3")
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
	case Postgres:
		sqldb, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, err
		}
		db = sqlx.NewDb(sqldb, "pgx")
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(32)
		db.SetConnMaxIdleTime(5 * time.Minute)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", dialect, err)
	}
	return &DB{DB: db, Dialect: dialect, Now: time.Now, Timeout: DefaultTimeout}, nil
}

// now returns the store's current time in UTC at microsecond precision.
func (db *DB) now() time.Time {
	return db.Now().UTC().Truncate(time.Microsecond)
}
