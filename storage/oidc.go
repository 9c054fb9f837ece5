package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// OIDCStore keeps what OpenID Connect adds in the SQL database: the signing
// keys, the login session of each token family and the users' consents.
type OIDCStore struct {
	db *DB
}

var (
	_ resource.SigningKeyStore    = (*OIDCStore)(nil)
	_ resource.FamilySessionStore = (*OIDCStore)(nil)
	_ resource.ConsentStore       = (*OIDCStore)(nil)
)

// NewOIDCStore returns an OIDCStore on db.
func NewOIDCStore(db *DB) *OIDCStore { return &OIDCStore{db: db} }

const signingKeyColumns = `id, alg, private_key, public_jwk, created_at, signs_from, retired_at, published_until`

// ListSigningKeys returns every stored key, oldest first.
func (s *OIDCStore) ListSigningKeys(ctx context.Context) ([]*resource.SigningKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys ORDER BY signs_from, id`)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	defer rows.Close()
	var keys []*resource.SigningKey
	for rows.Next() {
		var k resource.SigningKey
		var created, from, retired, until nullTimeScan
		if err := rows.Scan(&k.ID, &k.Alg, &k.PrivateKey, &k.PublicJWK, &created, &from, &retired, &until); err != nil {
			return nil, fmt.Errorf("list signing keys: %w", err)
		}
		k.CreatedAt, k.SignsFrom = normTime(created.t), normTime(from.t)
		k.RetiredAt, k.PublishedUntil = normTime(retired.t), normTime(until.t)
		keys = append(keys, &k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	return keys, nil
}

func insertSigningKey(ctx context.Context, exec func(context.Context, string, ...any) (sql.Result, error), rebind func(string) string, k *resource.SigningKey, onlyFirst bool) (bool, error) {
	k.CreatedAt, k.SignsFrom = dbTime(k.CreatedAt), dbTime(k.SignsFrom)
	q := `INSERT INTO signing_keys (` + signingKeyColumns + `) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)`
	if onlyFirst {
		q = `INSERT INTO signing_keys (` + signingKeyColumns + `) SELECT ?, ?, ?, ?, ?, ?, NULL, NULL
			WHERE NOT EXISTS (SELECT 1 FROM signing_keys)`
	}
	res, err := exec(ctx, rebind(q), k.ID, k.Alg, k.PrivateKey, k.PublicJWK, k.CreatedAt, k.SignsFrom)
	if err != nil {
		return false, fmt.Errorf("store signing key: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// AddFirstSigningKey stores k when no key is stored yet.
func (s *OIDCStore) AddFirstSigningKey(ctx context.Context, k *resource.SigningKey) (bool, error) {
	return insertSigningKey(ctx, s.db.ExecContext, s.db.Rebind, k, true)
}

// RotateSigningKey stores k and retires every other key not yet retired, in
// one transaction.
func (s *OIDCStore) RotateSigningKey(ctx context.Context, k *resource.SigningKey, publishedUntil time.Time) error {
	return s.db.WithTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE signing_keys SET retired_at = ?, published_until = ? WHERE retired_at IS NULL`),
			dbTime(k.SignsFrom), dbTime(publishedUntil)); err != nil {
			return fmt.Errorf("retire signing keys: %w", err)
		}
		_, err := insertSigningKey(ctx, tx.ExecContext, s.db.Rebind, k, false)
		return err
	})
}

// DeleteUnpublishedSigningKeys removes the keys whose publication ended
// before now.
func (s *OIDCStore) DeleteUnpublishedSigningKeys(ctx context.Context, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM signing_keys WHERE published_until IS NOT NULL AND published_until <= ?`), dbTime(now))
	if err != nil {
		return 0, fmt.Errorf("delete signing keys: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// PutFamilySession stores fs, replacing the family's record.
func (s *OIDCStore) PutFamilySession(ctx context.Context, fs *resource.FamilySession) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO token_family_sessions (family_id, user_id, client_id, sid, auth_time, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (family_id) DO UPDATE SET sid = excluded.sid, auth_time = excluded.auth_time, expires_at = excluded.expires_at`),
		fs.FamilyID, fs.UserID, fs.ClientID, fs.SID, nullTime(normTime(fs.AuthTime)), dbTime(fs.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store family session: %w", err)
	}
	return nil
}

// FindFamilySession returns the live record of a family, or ENotFound.
func (s *OIDCStore) FindFamilySession(ctx context.Context, familyID string) (*resource.FamilySession, error) {
	var fs resource.FamilySession
	var auth, exp nullTimeScan
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT family_id, user_id, client_id, sid, auth_time, expires_at FROM token_family_sessions
		WHERE family_id = ? AND expires_at > ?`), familyID, dbTime(s.db.now())).Scan(&fs.FamilyID, &fs.UserID, &fs.ClientID, &fs.SID, &auth, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, resource.Errorf(resource.ENotFound, "no session of token family %q", familyID)
	} else if err != nil {
		return nil, fmt.Errorf("find family session: %w", err)
	}
	fs.AuthTime, fs.ExpiresAt = normTime(auth.t), normTime(exp.t)
	return &fs, nil
}

// FamiliesOfSession returns the ids of the live families of a login
// session.
func (s *OIDCStore) FamiliesOfSession(ctx context.Context, sid string) ([]string, error) {
	var ids []string
	err := s.db.SelectContext(ctx, &ids, s.db.Rebind(`SELECT family_id FROM token_family_sessions WHERE sid = ? AND expires_at > ? ORDER BY family_id`),
		sid, dbTime(s.db.now()))
	if err != nil {
		return nil, fmt.Errorf("families of session: %w", err)
	}
	return ids, nil
}

// FamiliesOfGrant returns the ids of the live families of a user's grants
// to an application.
func (s *OIDCStore) FamiliesOfGrant(ctx context.Context, userID, clientID string) ([]string, error) {
	var ids []string
	err := s.db.SelectContext(ctx, &ids, s.db.Rebind(`SELECT family_id FROM token_family_sessions
		WHERE user_id = ? AND client_id = ? AND expires_at > ? ORDER BY family_id`), userID, clientID, dbTime(s.db.now()))
	if err != nil {
		return nil, fmt.Errorf("families of grant: %w", err)
	}
	return ids, nil
}

const consentColumns = `user_id, client_id, customer_id, scope, created_at, updated_at`

// PutConsent stores c, replacing the user's consent to the application but
// keeping its creation time.
func (s *OIDCStore) PutConsent(ctx context.Context, c *resource.Consent) error {
	c.CreatedAt, c.UpdatedAt = dbTime(c.CreatedAt), dbTime(c.UpdatedAt)
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO consents (`+consentColumns+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at`),
		c.UserID, c.ClientID, c.CustomerID, c.Scope, c.CreatedAt, c.UpdatedAt)
	if err != nil {
		return fmt.Errorf("store consent: %w", err)
	}
	return nil
}

// FindConsent returns a user's consent to an application, or ENotFound.
func (s *OIDCStore) FindConsent(ctx context.Context, userID, clientID string) (*resource.Consent, error) {
	var c resource.Consent
	err := s.db.GetContext(ctx, &c, s.db.Rebind(`SELECT `+consentColumns+` FROM consents WHERE user_id = ? AND client_id = ?`), userID, clientID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, resource.Errorf(resource.ENotFound, "no consent")
	} else if err != nil {
		return nil, fmt.Errorf("find consent: %w", err)
	}
	c.CreatedAt, c.UpdatedAt = dbTime(c.CreatedAt), dbTime(c.UpdatedAt)
	return &c, nil
}

// ListConsents returns a user's consents, oldest first.
func (s *OIDCStore) ListConsents(ctx context.Context, userID string) ([]*resource.Consent, error) {
	var cs []*resource.Consent
	err := s.db.SelectContext(ctx, &cs, s.db.Rebind(`SELECT `+consentColumns+` FROM consents WHERE user_id = ? ORDER BY created_at, client_id`), userID)
	if err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	for _, c := range cs {
		c.CreatedAt, c.UpdatedAt = dbTime(c.CreatedAt), dbTime(c.UpdatedAt)
	}
	return cs, nil
}

// DeleteConsent removes a user's consent to an application; ENotFound when
// there is none.
func (s *OIDCStore) DeleteConsent(ctx context.Context, userID, clientID string) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM consents WHERE user_id = ? AND client_id = ?`), userID, clientID)
	if err != nil {
		return fmt.Errorf("delete consent: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return resource.Errorf(resource.ENotFound, "no consent")
	}
	return nil
}
