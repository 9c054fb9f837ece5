package storage

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// PostgreSQL SQLSTATE codes of constraint violations.
const (
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
)

// isUniqueViolation reports whether err is a violation of a UNIQUE or PRIMARY
// KEY constraint that involves column ("id" for the primary key). An empty
// column matches any such violation. SQLite names the columns in its message
// ("UNIQUE constraint failed: users.email"); PostgreSQL names the constraint:
// TABLE_pkey for the primary key, and the migrations name every other unique
// constraint TABLE_COLUMN[_COLUMN...]_key.
func isUniqueViolation(err error, column string) bool {
	if sqliteErr, ok := errors.AsType[*sqlite.Error](err); ok {
		switch sqliteErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return column == "" || slices.Contains(sqliteConstraintColumns(sqliteErr.Error()), column)
		}
		return false
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == pgUniqueViolation {
		name := pgErr.ConstraintName
		switch column {
		case "":
			return true
		case "id":
			return strings.HasSuffix(name, "_pkey")
		default:
			return strings.HasSuffix(name, "_key") && strings.Contains(name, "_"+column+"_")
		}
	}
	return false
}

// sqliteConstraintColumns returns the column names of an SQLite constraint
// error message such as "UNIQUE constraint failed: events.device_id,
// events.idempotency_key (2067)".
func sqliteConstraintColumns(msg string) []string {
	_, list, ok := strings.Cut(msg, "constraint failed: ")
	if !ok {
		return nil
	}
	list, _, _ = strings.Cut(list, " (")
	var cols []string
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if _, col, ok := strings.Cut(item, "."); ok {
			cols = append(cols, col)
		}
	}
	return cols
}

// isForeignKeyViolation reports whether err says that a row refers to a row
// that does not exist (or is still referred to).
func isForeignKeyViolation(err error) bool {
	if sqliteErr, ok := errors.AsType[*sqlite.Error](err); ok {
		return sqliteErr.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code == pgForeignKeyViolation
	}
	return false
}

// changedRow returns notFound when an UPDATE or DELETE matched no row.
func changedRow(res sql.Result, notFound error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("rows affected: %w", err)
	}
	if n == 0 {
		return notFound
	}
	return nil
}
