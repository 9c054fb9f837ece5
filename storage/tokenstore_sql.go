package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// SQLTokenStore is the resource.TokenStore kept in the SQL database: the
// embedded default when no Redis is configured. Deleting a family row
// cascades to its tokens and rotation records, so revoking a family is one
// statement. Expired rows are invisible to every method and removed by Sweep.
type SQLTokenStore struct {
	db *DB
	q  sqlTokenQueries
	// sweepBatch bounds each delete of a sweep; afterBatch, when set (by
	// tests), sees the count of each.
	sweepBatch int
	afterBatch func(table string, n int64)
}

// sqlTokenQueries are the store's statements, rebound once for the dialect.
type sqlTokenQueries struct {
	insertFamily, insertToken, insertRotation string
	findToken, findFamily, lockFamily         string
	consumeRefresh                            string
	findRotation, deleteFamily, deleteToken   string
	revokeClient, revokeUser, listFamily      string
	// sweeps delete expired rows, one bounded batch per statement.
	sweeps []sweepStmt
}

// sweepStmt deletes up to a batch of expired rows of one table: its
// arguments are the time (when withNow) and the batch size.
type sweepStmt struct {
	table, q string
	withNow  bool
}

// DefaultSweepBatch is how many rows one statement of a sweep deletes at
// most: each batch commits on its own, so a sweep of a large backlog never
// holds many locks or a long transaction.
const DefaultSweepBatch = 1000

// tokenColumns are the columns scanToken reads, in its order.
const tokenColumns = `kind, family_id, hash, client_id, customer_id, user_id, username,
	device_id, id, name, permissions, scope, issued_at, expires_at`

// NewSQLTokenStore returns a token store on db, which must be migrated.
func NewSQLTokenStore(db *DB) *SQLTokenStore {
	// PostgreSQL locks a family row before touching its tokens, so every
	// writer takes locks in the same order (family, then tokens) and a
	// revocation cannot interleave with a rotation. SQLite transactions
	// are serialised (BEGIN IMMEDIATE) and need no row locks.
	forUpdate, revokeClient, revokeUser := "", `DELETE FROM token_families WHERE client_id = ? RETURNING id`,
		`DELETE FROM token_families WHERE user_id = ? AND id <> ? RETURNING id`
	if db.Dialect == Postgres {
		forUpdate = " FOR UPDATE"
		// Lock the families in id order so that two bulk revocations
		// cannot deadlock.
		revokeClient = `DELETE FROM token_families WHERE id IN
			(SELECT id FROM token_families WHERE client_id = ? ORDER BY id FOR UPDATE) RETURNING id`
		revokeUser = `DELETE FROM token_families WHERE id IN
			(SELECT id FROM token_families WHERE user_id = ? AND id <> ? ORDER BY id FOR UPDATE) RETURNING id`
	}
	live := `(expires_at IS NULL OR expires_at > ?)`
	q := sqlTokenQueries{
		insertFamily: `INSERT INTO token_families (id, client_id, customer_id, user_id, device_id, expires_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		insertToken: `INSERT INTO tokens (` + tokenColumns + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		insertRotation: `INSERT INTO token_rotations (hash, family_id, rotated_at, expires_at) VALUES (?, ?, ?, ?)`,
		findToken:      `SELECT ` + tokenColumns + ` FROM tokens WHERE hash = ? AND family_id = ?`,
		findFamily:     `SELECT expires_at FROM token_families WHERE id = ?`,
		lockFamily:     `SELECT client_id, expires_at FROM token_families WHERE id = ?` + forUpdate,
		consumeRefresh: `DELETE FROM tokens WHERE hash = ? AND family_id = ? AND kind = 'refresh' AND client_id = ?
			AND ` + live + ` RETURNING ` + tokenColumns,
		findRotation: `SELECT rotated_at FROM token_rotations WHERE hash = ? AND family_id = ?`,
		deleteFamily: `DELETE FROM token_families WHERE id = ?`,
		deleteToken: `DELETE FROM tokens WHERE hash = ? AND family_id = ? AND ` + live +
			` RETURNING ` + tokenColumns,
		revokeClient: revokeClient,
		revokeUser:   revokeUser,
		listFamily: `SELECT ` + tokenColumns + ` FROM tokens WHERE family_id = ? AND ` + live +
			` ORDER BY issued_at, hash`,
	}
	for _, p := range []*string{&q.insertFamily, &q.insertToken, &q.insertRotation, &q.findToken, &q.findFamily,
		&q.lockFamily, &q.consumeRefresh, &q.findRotation, &q.deleteFamily, &q.deleteToken,
		&q.revokeClient, &q.revokeUser, &q.listFamily} {
		*p = db.Rebind(*p)
	}
	// Each sweep picks a batch by primary key; on PostgreSQL it skips rows
	// another transaction holds (a rotation, or the sweep of another
	// replica): they go at the next sweep.
	skipLocked := ""
	if db.Dialect == Postgres {
		skipLocked = " FOR UPDATE SKIP LOCKED"
	}
	sweep := func(table, key, cond string, withNow bool) sweepStmt {
		return sweepStmt{table: table, withNow: withNow, q: db.Rebind(`DELETE FROM ` + table + ` WHERE ` + key + ` IN (SELECT ` + key +
			` FROM ` + table + ` WHERE ` + cond + ` LIMIT ?` + skipLocked + `)`)}
	}
	q.sweeps = []sweepStmt{
		sweep("tokens", "hash", "expires_at <= ?", true),
		sweep("token_families", "id", "expires_at <= ?", true),
		// A family without a deadline whose tokens are all gone can never
		// gain a token again (only a rotation adds tokens to a family).
		sweep("token_families", "id", `expires_at IS NULL
			AND NOT EXISTS (SELECT 1 FROM tokens WHERE tokens.family_id = token_families.id)`, false),
		sweep("token_rotations", "hash", "expires_at <= ?", true),
		sweep("ephemeral", "key", "expires_at <= ?", true),
		// The login session of each token family (OpenID Connect): kept
		// in SQL whichever store holds the tokens, and as long as the
		// family may live.
		sweep("token_family_sessions", "family_id", "expires_at <= ?", true),
	}
	return &SQLTokenStore{db: db, q: q, sweepBatch: DefaultSweepBatch}
}

// CreateFamily stores a new family with its first tokens in one transaction.
// A token's expiry is capped by the family's. EConflict when the family
// already exists.
func (s *SQLTokenStore) CreateFamily(ctx context.Context, f *resource.TokenFamily, tokens ...*resource.Token) error {
	if err := checkFamily(f, tokens); err != nil {
		return err
	}
	famExp := normTime(f.ExpiresAt)
	return s.db.WithTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, s.q.insertFamily, f.ID, f.ClientID, f.CustomerID, f.UserID, f.DeviceID, nullTime(famExp))
		if err != nil {
			return fmt.Errorf("insert token family: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return resource.Errorf(resource.EConflict, "Token family already exists.")
		}
		return s.insertTokens(ctx, tx, f.ID, famExp, tokens)
	})
}

// insertTokens stores tokens in family familyID, capping their expiry at
// famExp.
func (s *SQLTokenStore) insertTokens(ctx context.Context, tx *Tx, familyID string, famExp time.Time, tokens []*resource.Token) error {
	for _, t := range tokens {
		perms, err := json.Marshal(nonNil(t.Permissions))
		if err != nil {
			return err
		}
		exp := tokenExpiry(t.ExpiresAt, famExp)
		if _, err := tx.ExecContext(ctx, s.q.insertToken, t.Kind, familyID, t.Hash, t.ClientID, t.CustomerID,
			t.UserID, t.Username, t.DeviceID, t.ID, t.Name, string(perms), t.Scope,
			normTime(t.IssuedAt), nullTime(exp)); err != nil {
			return fmt.Errorf("insert token: %w", err)
		}
	}
	return nil
}

// FindToken returns a live token by family id and hash: one primary-key
// look-up. ENotFound when it is unknown, expired or revoked.
func (s *SQLTokenStore) FindToken(ctx context.Context, familyID, hash string) (*resource.Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, s.q.findToken, hash, familyID))
	if errors.Is(err, sql.ErrNoRows) || err == nil && t.Expired(s.db.now()) {
		return nil, errTokenNotFound()
	} else if err != nil {
		return nil, err
	}
	return t, nil
}

// RotateRefresh consumes the refresh token (familyID, hash) of clientID and
// stores next in its family, in one transaction (see resource.TokenStore).
// ENotFound when the token is unknown, expired, revoked, of another client
// or rotated out less than grace ago; EConflict when it was rotated out
// longer ago, after revoking the family.
func (s *SQLTokenStore) RotateRefresh(ctx context.Context, familyID, hash, clientID string, grace time.Duration, next ...*resource.Token) (*resource.Token, error) {
	if err := checkTokens(familyID, next); err != nil {
		return nil, err
	}
	now := s.db.now()
	var old *resource.Token
	reused := false
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		var famClient string
		var famExp nullTimeScan
		err := tx.QueryRowContext(ctx, s.q.lockFamily, familyID).Scan(&famClient, &famExp)
		if errors.Is(err, sql.ErrNoRows) {
			return errTokenNotFound()
		} else if err != nil {
			return err
		}
		if famClient != clientID || !famExp.t.IsZero() && !now.Before(famExp.t) {
			return errTokenNotFound()
		}
		t, err := scanToken(tx.QueryRowContext(ctx, s.q.consumeRefresh, hash, familyID, clientID, now))
		if err == nil {
			if _, err := tx.ExecContext(ctx, s.q.insertRotation, hash, familyID, now, nullTime(famExp.t)); err != nil {
				return fmt.Errorf("insert token rotation: %w", err)
			}
			old = t
			return s.insertTokens(ctx, tx, familyID, famExp.t, next)
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var rotatedAt nullTimeScan
		err = tx.QueryRowContext(ctx, s.q.findRotation, hash, familyID).Scan(&rotatedAt)
		if errors.Is(err, sql.ErrNoRows) {
			return errTokenNotFound()
		} else if err != nil {
			return err
		}
		if now.Sub(rotatedAt.t) < grace {
			return errTokenNotFound()
		}
		// Refresh token reuse: revoke the whole family, and commit that.
		if _, err := tx.ExecContext(ctx, s.q.deleteFamily, familyID); err != nil {
			return err
		}
		reused = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	if reused {
		return nil, errTokenReused()
	}
	return old, nil
}

// RevokeToken removes one live token; removing a refresh token removes its
// whole family. It returns the removed token, or ENotFound.
func (s *SQLTokenStore) RevokeToken(ctx context.Context, familyID, hash string) (*resource.Token, error) {
	now := s.db.now()
	var t *resource.Token
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		var client string
		var exp nullTimeScan
		err := tx.QueryRowContext(ctx, s.q.lockFamily, familyID).Scan(&client, &exp)
		if errors.Is(err, sql.ErrNoRows) {
			return errTokenNotFound()
		} else if err != nil {
			return err
		}
		t, err = scanToken(tx.QueryRowContext(ctx, s.q.deleteToken, hash, familyID, now))
		if errors.Is(err, sql.ErrNoRows) {
			return errTokenNotFound()
		} else if err != nil {
			return err
		}
		if t.Kind == resource.TokenRefresh {
			_, err = tx.ExecContext(ctx, s.q.deleteFamily, familyID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// RevokeFamily removes a family and, by cascade, every token of it. No
// error when there is none.
func (s *SQLTokenStore) RevokeFamily(ctx context.Context, familyID string) error {
	_, err := s.db.ExecContext(ctx, s.q.deleteFamily, familyID)
	return err
}

// RevokeClient removes every family (and token) issued to a client.
func (s *SQLTokenStore) RevokeClient(ctx context.Context, clientID string) error {
	_, err := s.revokeClient(ctx, clientID)
	return err
}

// revokeClient is RevokeClient; it returns the ids of the families removed.
func (s *SQLTokenStore) revokeClient(ctx context.Context, clientID string) ([]string, error) {
	if clientID == "" {
		return nil, errors.New("storage: RevokeClient needs a client id")
	}
	return s.deleteFamilies(ctx, s.q.revokeClient, clientID)
}

// RevokeUser removes every family of a user except exceptFamilyID.
func (s *SQLTokenStore) RevokeUser(ctx context.Context, userID, exceptFamilyID string) error {
	_, err := s.revokeUser(ctx, userID, exceptFamilyID)
	return err
}

// revokeUser is RevokeUser; it returns the ids of the families removed.
func (s *SQLTokenStore) revokeUser(ctx context.Context, userID, exceptFamilyID string) ([]string, error) {
	if userID == "" {
		return nil, errors.New("storage: RevokeUser needs a user id")
	}
	return s.deleteFamilies(ctx, s.q.revokeUser, userID, exceptFamilyID)
}

// deleteFamilies runs a DELETE of families that returns their ids.
func (s *SQLTokenStore) deleteFamilies(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// familyDeadline returns the deadline of a live family (zero for none), or
// ENotFound when it is unknown or past its deadline.
func (s *SQLTokenStore) familyDeadline(ctx context.Context, familyID string) (time.Time, error) {
	var exp nullTimeScan
	err := s.db.QueryRowContext(ctx, s.q.findFamily, familyID).Scan(&exp)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !exp.t.IsZero() && !s.db.now().Before(exp.t) {
		return time.Time{}, errTokenNotFound()
	} else if err != nil {
		return time.Time{}, err
	}
	return exp.t, nil
}

// ListFamilyTokens returns the live tokens of a family, oldest first; an
// empty list when the family is unknown.
func (s *SQLTokenStore) ListFamilyTokens(ctx context.Context, familyID string) ([]*resource.Token, error) {
	rows, err := s.db.QueryContext(ctx, s.q.listFamily, familyID, s.db.now())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []*resource.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, t)
	}
	return list, rows.Err()
}

// Sweep deletes expired tokens, families, rotation records, ephemeral
// values and token family sessions (OpenID Connect), and families without
// a deadline that have no token left. It returns the number of rows
// deleted. It deletes in batches of at most the store's sweep batch, each
// statement committing on its own, so a sweep never holds locks for long,
// however large the backlog.
func (s *SQLTokenStore) Sweep(ctx context.Context) (int64, error) {
	now := s.db.now()
	var total int64
	for _, st := range s.q.sweeps {
		for {
			args := make([]any, 0, 2)
			if st.withNow {
				args = append(args, now)
			}
			res, err := s.db.ExecContext(ctx, st.q, append(args, s.sweepBatch)...)
			if err != nil {
				return total, fmt.Errorf("sweep %s: %w", st.table, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return total, err
			}
			total += n
			if s.afterBatch != nil {
				s.afterBatch(st.table, n)
			}
			if n < int64(s.sweepBatch) {
				break
			}
			if err := ctx.Err(); err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// RunSweeper calls Sweep every interval until ctx is done. A failed sweep is
// reported to onError (when not nil) and retried at the next tick.
func (s *SQLTokenStore) RunSweeper(ctx context.Context, every time.Duration, onError func(error)) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil && onError != nil {
				onError(err)
			}
		}
	}
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// scanToken reads the tokenColumns of one row.
func scanToken(r rowScanner) (*resource.Token, error) {
	var t resource.Token
	var perms string
	var issued, exp nullTimeScan
	if err := r.Scan(&t.Kind, &t.FamilyID, &t.Hash, &t.ClientID, &t.CustomerID, &t.UserID, &t.Username,
		&t.DeviceID, &t.ID, &t.Name, &perms, &t.Scope, &issued, &exp); err != nil {
		return nil, err
	}
	if perms != "" && perms != "[]" {
		if err := json.Unmarshal([]byte(perms), &t.Permissions); err != nil {
			return nil, fmt.Errorf("token permissions: %w", err)
		}
	}
	t.IssuedAt, t.ExpiresAt = issued.t, exp.t
	return &t, nil
}

// nullTimeScan scans a nullable timestamp (NULL is the zero time) from
// either driver: PostgreSQL's time values or SQLite's text.
type nullTimeScan struct{ t time.Time }

// Scan implements sql.Scanner.
func (n *nullTimeScan) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		n.t = time.Time{}
	case time.Time:
		n.t = x.UTC()
	case string:
		return n.parse(x)
	case []byte:
		return n.parse(string(x))
	default:
		return fmt.Errorf("cannot scan %T into a time", v)
	}
	return nil
}

// parse reads a timestamp written as text, as SQLite keeps it.
func (n *nullTimeScan) parse(s string) error {
	for _, layout := range [...]string{"2006-01-02 15:04:05.999999999-07:00",
		"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			n.t = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("cannot parse time %q", s)
}

// nullTime returns t for a nullable column: NULL for the zero time.
func nullTime(t time.Time) sql.NullTime {
	return sql.NullTime{Time: t, Valid: !t.IsZero()}
}

// normTime returns t in UTC at microsecond precision (what both databases
// keep); the zero time stays zero.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// tokenExpiry returns when a token stops working: its own expiry capped by
// its family's deadline. Zero means never.
func tokenExpiry(tokenExp, familyExp time.Time) time.Time {
	tokenExp, familyExp = normTime(tokenExp), normTime(familyExp)
	if familyExp.IsZero() || !tokenExp.IsZero() && tokenExp.Before(familyExp) {
		return tokenExp
	}
	return familyExp
}

// nonNil returns s, or an empty slice for nil, so it encodes as [].
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// checkFamily checks what CreateFamily is given.
func checkFamily(f *resource.TokenFamily, tokens []*resource.Token) error {
	if f == nil || f.ID == "" || f.ClientID == "" {
		return errors.New("storage: token family needs an id and a client id")
	}
	return checkTokens(f.ID, tokens)
}

// checkTokens checks that tokens can be stored in family familyID: each has
// a hash and a kind, and belongs to no other family.
func checkTokens(familyID string, tokens []*resource.Token) error {
	for _, t := range tokens {
		if t == nil || t.Hash == "" || t.Kind == "" {
			return errors.New("storage: token needs a hash and a kind")
		}
		if t.FamilyID != "" && t.FamilyID != familyID {
			return errors.New("storage: token belongs to another family")
		}
	}
	return nil
}

// errTokenNotFound is the error for a token that is unknown, expired or
// revoked; it does not say which.
func errTokenNotFound() error {
	return resource.Errorf(resource.ENotFound, "Token not found.")
}

// errTokenReused is the error for a refresh token replayed after rotation.
func errTokenReused() error {
	return resource.Errorf(resource.EConflict, "Refresh token was already used; its grant has been revoked.")
}
