package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// SQLEphemeralStore is the resource.EphemeralStore kept in the SQL database
// (table ephemeral): the embedded default when no Redis is configured.
// Expired rows are invisible; SQLTokenStore.Sweep deletes them.
type SQLEphemeralStore struct {
	db                                 *DB
	put, get, take, delete, incr, decr string
}

// NewSQLEphemeralStore returns an ephemeral store on db, which must be
// migrated.
func NewSQLEphemeralStore(db *DB) *SQLEphemeralStore {
	return &SQLEphemeralStore{
		db: db,
		put: db.Rebind(`INSERT INTO ephemeral (key, value, counter, expires_at) VALUES (?, ?, 0, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, counter = 0, expires_at = excluded.expires_at`),
		get:    db.Rebind(`SELECT value FROM ephemeral WHERE key = ? AND expires_at > ?`),
		take:   db.Rebind(`DELETE FROM ephemeral WHERE key = ? AND expires_at > ? RETURNING value`),
		delete: db.Rebind(`DELETE FROM ephemeral WHERE key = ?`),
		// An expired row counts as absent: the counter starts again at 1
		// with a new lifetime.
		incr: db.Rebind(`INSERT INTO ephemeral (key, value, counter, expires_at) VALUES (?, ?, 1, ?)
			ON CONFLICT (key) DO UPDATE SET
				counter = CASE WHEN ephemeral.expires_at <= ? THEN 1 ELSE ephemeral.counter + 1 END,
				expires_at = CASE WHEN ephemeral.expires_at <= ? THEN excluded.expires_at ELSE ephemeral.expires_at END
			RETURNING counter`),
		decr: db.Rebind(`UPDATE ephemeral SET counter = counter - 1 WHERE key = ? AND expires_at > ?`),
	}
}

// Put stores value under key for ttl, replacing any previous value.
func (s *SQLEphemeralStore) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return errors.New("storage: ephemeral ttl must be positive")
	}
	if value == nil {
		value = []byte{}
	}
	_, err := s.db.ExecContext(ctx, s.put, key, value, s.db.now().Add(ttl))
	return err
}

// Get returns the value under key. ENotFound when absent or expired.
func (s *SQLEphemeralStore) Get(ctx context.Context, key string) ([]byte, error) {
	return s.value(ctx, s.get, key)
}

// Take returns and deletes the value under key in one statement; of many
// concurrent calls exactly one gets it. ENotFound when absent or expired.
func (s *SQLEphemeralStore) Take(ctx context.Context, key string) ([]byte, error) {
	return s.value(ctx, s.take, key)
}

// value runs a one-row query of key that returns a value.
func (s *SQLEphemeralStore) value(ctx context.Context, q, key string) ([]byte, error) {
	var v []byte
	err := s.db.QueryRowContext(ctx, q, key, s.db.now()).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, resource.Errorf(resource.ENotFound, "Not found.")
	} else if err != nil {
		return nil, err
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// Delete removes key; no error when it is absent.
func (s *SQLEphemeralStore) Delete(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, s.delete, key)
	return err
}

// Incr adds one to the counter under key and returns the new value; a new
// (or expired) counter starts at 1 and lives for ttl.
func (s *SQLEphemeralStore) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	if ttl <= 0 {
		return 0, errors.New("storage: ephemeral ttl must be positive")
	}
	now := s.db.now()
	var n int64
	err := s.db.QueryRowContext(ctx, s.incr, key, []byte{}, now.Add(ttl), now, now).Scan(&n)
	return n, err
}

// Decr subtracts one from the live counter under key, keeping its
// lifetime; an absent or expired counter stays absent.
func (s *SQLEphemeralStore) Decr(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, s.decr, key, s.db.now())
	return err
}
