package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
	"go.opentelemetry.io/otel/trace"
)

// DefaultTimeout is the Timeout of a DB that Open returns.
const DefaultTimeout = 3 * time.Second

// This file bounds every call to the database. A server that stopped
// answering (a stalled PostgreSQL, a SQLite write lock held elsewhere)
// would otherwise hold a request as long as the stall lasts: PostgreSQL's
// statement_timeout is enforced by the server, so it never fires when the
// server is the part that is stuck. The deadline is the client's: each
// method below runs its statement under a context that ends after
// DB.Timeout. pgx watches that context; when it ends, pgx sets a deadline
// on the socket, the read fails and pgx closes the connection, which
// database/sql then discards instead of returning it to the pool (its
// IsValid and ResetSession report the closed connection), so a late
// answer can never be read as the answer of the next statement. SQLite
// (modernc) interrupts the statement and gives up waiting for a lock.
//
// Store code calls these methods, never the ones of the embedded *sqlx.DB
// that they shadow. An error of a call that ran out of time wraps
// context.DeadlineExceeded, which resource.ErrorCode reports as
// resource.EUnavailable.

// timeoutError is the error of a call that did not finish within its
// deadline.
type timeoutError struct {
	err   error
	after time.Duration
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("database did not answer within %s: %v", e.after, e.err)
}

// Unwrap returns the cause and context.DeadlineExceeded, so that
// errors.Is(err, context.DeadlineExceeded) holds.
func (e *timeoutError) Unwrap() []error { return []error{e.err, context.DeadlineExceeded} }

// WithTimeout returns a DB sharing db's connections whose calls are bounded
// by d instead of db.Timeout; zero means unbounded (migrations, which may
// wait for another replica's, and the sweeper's long deletes).
func (db *DB) WithTimeout(d time.Duration) *DB {
	c := *db
	c.Timeout = d
	return &c
}

// callContext returns the context of one call: ctx bounded by the
// database's Timeout.
func (db *DB) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if db.Timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, db.Timeout)
}

// timedOut marks err as a time-out when ctx, the context of the call that
// returned it, ran out of time; err is returned as is otherwise.
//
// A statement on a connection the driver closed under it (PostgreSQL cut
// off) also wraps net.ErrClosed, so that resource.ErrorCode reports it as
// EUnavailable like any lost connection.
func timedOut(ctx context.Context, d time.Duration, err error) error {
	if err != nil && errors.Is(err, pgconn.ErrConnClosed) && !errors.Is(err, net.ErrClosed) {
		err = fmt.Errorf("%w (%w)", err, net.ErrClosed)
	}
	if err == nil || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return err
	}
	var te *timeoutError
	if errors.As(err, &te) {
		return err
	}
	return &timeoutError{err: err, after: d}
}

// bound is how one call is bounded: open gives the call's context, timeout
// is what its error says it waited.
type bound struct {
	open    func(context.Context) (context.Context, context.CancelFunc)
	timeout time.Duration
	// tracer, when set, makes a span of each statement (see trace.go).
	tracer  trace.Tracer
	dialect string
}

// statements is what DB and Tx both run statements on (the embedded sqlx
// types).
type statements interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (b bound) exec(ctx context.Context, on statements, query string, args []any) (sql.Result, error) {
	ctx, span := b.span(ctx, query)
	ctx, cancel := b.open(ctx)
	defer cancel()
	res, err := on.ExecContext(ctx, query, args...)
	err = timedOut(ctx, b.timeout, err)
	endSpan(span, err)
	return res, err
}

func (b bound) get(ctx context.Context, on statements, dest any, query string, args []any) error {
	ctx, span := b.span(ctx, query)
	ctx, cancel := b.open(ctx)
	defer cancel()
	err := timedOut(ctx, b.timeout, on.GetContext(ctx, dest, query, args...))
	endSpan(span, err)
	return err
}

func (b bound) selectAll(ctx context.Context, on statements, dest any, query string, args []any) error {
	ctx, span := b.span(ctx, query)
	ctx, cancel := b.open(ctx)
	defer cancel()
	err := timedOut(ctx, b.timeout, on.SelectContext(ctx, dest, query, args...))
	endSpan(span, err)
	return err
}

func (b bound) queryRow(ctx context.Context, on statements, query string, args []any) *Row {
	ctx, span := b.span(ctx, query)
	ctx, cancel := b.open(ctx)
	return &Row{row: on.QueryRowContext(ctx, query, args...), ctx: ctx, cancel: cancel, timeout: b.timeout, span: span}
}

func (db *DB) bound() bound {
	return bound{open: db.callContext, timeout: db.Timeout, tracer: db.Tracer, dialect: db.Dialect}
}

// ExecContext runs a statement within the database's Timeout.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.bound().exec(ctx, db.DB, query, args)
}

// GetContext reads one row into dest (see sqlx) within the database's
// Timeout.
func (db *DB) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	return db.bound().get(ctx, db.DB, dest, query, args)
}

// SelectContext reads every row into dest (see sqlx) within the database's
// Timeout.
func (db *DB) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	return db.bound().selectAll(ctx, db.DB, dest, query, args)
}

// QueryRowContext runs a query of one row; the row's Scan must be called,
// and the call's Timeout runs until it returns.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *Row {
	return db.bound().queryRow(ctx, db.DB, query, args)
}

// QueryContext runs a query; the rows must be closed, and the call's
// Timeout runs until they are.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*Rows, error) {
	ctx, span := db.bound().span(ctx, query)
	ctx, cancel := db.callContext(ctx)
	rows, err := db.DB.QueryContext(ctx, query, args...)
	if err != nil {
		cancel()
		err = timedOut(ctx, db.Timeout, err)
		endSpan(span, err)
		return nil, err
	}
	return &Rows{Rows: rows, ctx: ctx, cancel: cancel, timeout: db.Timeout, span: span}, nil
}

// PingContext checks that the database answers within its Timeout.
func (db *DB) PingContext(ctx context.Context) error {
	ctx, cancel := db.callContext(ctx)
	defer cancel()
	return timedOut(ctx, db.Timeout, db.DB.PingContext(ctx))
}

// WithTx runs fn in a transaction, committing when it returns nil and rolling
// back otherwise. The whole transaction, commit included, runs within the
// database's Timeout: every statement of tx is bounded by the same deadline.
func (db *DB) WithTx(ctx context.Context, fn func(tx *Tx) error) error {
	ctx, cancel := db.callContext(ctx)
	defer cancel()
	deadline, _ := ctx.Deadline()
	stx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return timedOut(ctx, db.Timeout, err)
	}
	tx := &Tx{Tx: stx, deadline: deadline, timeout: db.Timeout, tracer: db.Tracer, dialect: db.Dialect}
	if err := fn(tx); err != nil {
		_ = stx.Rollback()
		return timedOut(ctx, db.Timeout, err)
	}
	return timedOut(ctx, db.Timeout, stx.Commit())
}

// Tx is a transaction of WithTx whose statements share its deadline.
type Tx struct {
	*sqlx.Tx
	deadline time.Time // zero: none
	timeout  time.Duration
	tracer   trace.Tracer
	dialect  string
}

// callContext returns the context of one statement: ctx bounded by the
// transaction's deadline.
func (tx *Tx) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if tx.deadline.IsZero() {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, tx.deadline)
}

func (tx *Tx) bound() bound {
	return bound{open: tx.callContext, timeout: tx.timeout, tracer: tx.tracer, dialect: tx.dialect}
}

// ExecContext runs a statement of the transaction.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.bound().exec(ctx, tx.Tx, query, args)
}

// GetContext reads one row of the transaction into dest (see sqlx).
func (tx *Tx) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	return tx.bound().get(ctx, tx.Tx, dest, query, args)
}

// SelectContext reads every row of a query of the transaction into dest
// (see sqlx).
func (tx *Tx) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	return tx.bound().selectAll(ctx, tx.Tx, dest, query, args)
}

// QueryRowContext runs a query of one row in the transaction; the row's
// Scan must be called.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *Row {
	return tx.bound().queryRow(ctx, tx.Tx, query, args)
}

// Row is the result of a QueryRowContext: one row to Scan.
type Row struct {
	row     *sql.Row
	ctx     context.Context
	cancel  context.CancelFunc
	timeout time.Duration
	span    trace.Span // nil without tracing
}

// Scan copies the row's columns into dest (sql.ErrNoRows when there is no
// row) and ends the call.
func (r *Row) Scan(dest ...any) error {
	defer r.cancel()
	err := timedOut(r.ctx, r.timeout, r.row.Scan(dest...))
	endSpan(r.span, err)
	return err
}

// Rows is the result of a QueryContext; Close ends the call.
type Rows struct {
	*sql.Rows
	ctx     context.Context
	cancel  context.CancelFunc
	timeout time.Duration
	span    trace.Span // nil without tracing
}

// Err returns the error of the iteration, marked as a time-out when the
// call ran out of time.
func (r *Rows) Err() error { return timedOut(r.ctx, r.timeout, r.Rows.Err()) }

// Close closes the rows and ends the call.
func (r *Rows) Close() error {
	defer r.cancel()
	err := r.Rows.Close()
	endSpan(r.span, r.Rows.Err())
	return err
}
