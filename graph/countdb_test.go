package graph_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// This file opens a real database through a driver wrapper that counts
// the SQL statements sent to it, so that tests can check how many queries
// a GraphQL operation costs (and that a refused one costs none).

// counter counts statements.
type counter struct{ n atomic.Int64 }

// Load returns how many statements ran so far.
func (c *counter) Load() int64 { return c.n.Load() }

// mustOpenCountingDB opens and migrates a fresh database of the dialect
// whose statements are counted by the returned counter.
func mustOpenCountingDB(tb testing.TB, dialect string) (*storage.DB, *counter) {
	tb.Helper()
	var driverName, dsn, sqlxName string
	switch dialect {
	case storage.Postgres:
		driverName, dsn, sqlxName = "pgx", storagetest.PostgresURL(tb), "pgx"
	default:
		// The data source of storage.Open for SQLite.
		q := url.Values{}
		for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)"} {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate")
		q.Set("_time_format", "sqlite")
		driverName, dsn, sqlxName = "sqlite", "file:"+filepath.Join(tb.TempDir(), "count.db")+"?"+q.Encode(), "sqlite3"
		storagetest.LogRealPart(tb, storagetest.PartSQLite)
	}
	probe, err := sql.Open(driverName, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	c := &counter{}
	sqldb := sql.OpenDB(countingConnector{dsn: dsn, drv: probe.Driver(), c: c})
	probe.Close()
	db := &storage.DB{DB: sqlx.NewDb(sqldb, sqlxName), Dialect: dialect, Now: time.Now}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return db, c
}

type countingConnector struct {
	dsn string
	drv driver.Driver
	c   *counter
}

func (k countingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := k.drv.Open(k.dsn)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, c: k.c}, nil
}

func (k countingConnector) Driver() driver.Driver { return k.drv }

// countingConn counts the queries and commands of a connection, direct or
// through prepared statements.
type countingConn struct {
	driver.Conn
	c *counter
}

func (cc *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var st driver.Stmt
	var err error
	if p, ok := cc.Conn.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, query)
	} else {
		st, err = cc.Conn.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &countingStmt{Stmt: st, c: cc.c}, nil
}

func (cc *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := cc.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return cc.Conn.Begin() //nolint:staticcheck // fallback of database/sql itself
}

func (cc *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := cc.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	rows, err := q.QueryContext(ctx, query, args)
	if err != driver.ErrSkip {
		cc.c.n.Add(1)
	}
	return rows, err
}

func (cc *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := cc.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	res, err := e.ExecContext(ctx, query, args)
	if err != driver.ErrSkip {
		cc.c.n.Add(1)
	}
	return res, err
}

func (cc *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := cc.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (cc *countingConn) Ping(ctx context.Context) error {
	if p, ok := cc.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (cc *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := cc.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (cc *countingConn) IsValid() bool {
	if v, ok := cc.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// countingStmt counts the executions of a prepared statement.
type countingStmt struct {
	driver.Stmt
	c *counter
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.c.n.Add(1)
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	return s.Stmt.Exec(values(args)) //nolint:staticcheck // fallback of database/sql itself
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.c.n.Add(1)
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	return s.Stmt.Query(values(args)) //nolint:staticcheck // fallback of database/sql itself
}

func values(args []driver.NamedValue) []driver.Value {
	out := make([]driver.Value, len(args))
	for i, a := range args {
		out[i] = a.Value
	}
	return out
}
