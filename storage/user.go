package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// UserStore keeps users in the SQL database. E-mails are stored lower-case;
// an empty external token hash is stored as NULL, so any number of users may
// have none.
type UserStore struct {
	db *DB
}

var _ resource.UserStore = (*UserStore)(nil)

// NewUserStore returns a UserStore on db.
func NewUserStore(db *DB) *UserStore {
	return &UserStore{db: db}
}

const userColumns = `id, customer_id, email, password_hash,
	COALESCE(external_token_hash, '') AS external_token_hash, created_at, updated_at`

// CreateUser inserts u with its e-mail lower-cased and its times in UTC at
// microsecond precision (and sets u's fields to the stored values).
// EConflict when the e-mail, the external token or the id is taken; ENotFound
// when the customer does not exist.
func (s *UserStore) CreateUser(ctx context.Context, u *resource.User) error {
	email := strings.ToLower(u.Email)
	created, updated := dbTime(u.CreatedAt), dbTime(u.UpdatedAt)
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO users
		(id, customer_id, email, password_hash, external_token_hash, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`),
		u.ID, u.CustomerID, email, u.PasswordHash, nullString(u.ExternalTokenHash), created, updated)
	switch {
	case err == nil:
		u.Email, u.CreatedAt, u.UpdatedAt = email, created, updated
		return nil
	case isUniqueViolation(err, "email"):
		return errEmailInUse()
	case isUniqueViolation(err, "external_token_hash"):
		return errExternalTokenInUse()
	case isUniqueViolation(err, "id"):
		return resource.Errorf(resource.EConflict, "user %q already exists", u.ID)
	case isForeignKeyViolation(err):
		return resource.Errorf(resource.ENotFound, "customer %q not found", u.CustomerID)
	default:
		return fmt.Errorf("create user: %w", err)
	}
}

// FindUser returns the user with the given id, or ENotFound.
func (s *UserStore) FindUser(ctx context.Context, id string) (*resource.User, error) {
	return s.findUser(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id,
		resource.Errorf(resource.ENotFound, "user %q not found", id))
}

// FindUserByEmail returns the user with the given e-mail, compared
// lower-cased, or ENotFound.
func (s *UserStore) FindUserByEmail(ctx context.Context, email string) (*resource.User, error) {
	return s.findUser(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, strings.ToLower(email),
		resource.Errorf(resource.ENotFound, "user not found"))
}

// FindUserByExternalTokenHash returns the user whose external token has the
// given hash, or ENotFound (always for an empty hash).
func (s *UserStore) FindUserByExternalTokenHash(ctx context.Context, hash string) (*resource.User, error) {
	notFound := resource.Errorf(resource.ENotFound, "user not found")
	if hash == "" {
		return nil, notFound
	}
	return s.findUser(ctx, `SELECT `+userColumns+` FROM users WHERE external_token_hash = ?`, hash, notFound)
}

// OldestUserOfCustomer returns the customer's first user (the oldest), or
// ENotFound when it has none: the owner `assetgate app create-console`
// gives the console application when no owner is named.
func (s *UserStore) OldestUserOfCustomer(ctx context.Context, customerID string) (*resource.User, error) {
	return s.findUser(ctx, `SELECT `+userColumns+` FROM users WHERE customer_id = ? ORDER BY created_at, id LIMIT 1`, customerID,
		resource.Errorf(resource.ENotFound, "customer %q has no users", customerID))
}

// UpdateUserPassword sets the password hash of a user and its update time;
// ENotFound.
func (s *UserStore) UpdateUserPassword(ctx context.Context, id, hash string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`),
		hash, dbTime(now), id)
	if err != nil {
		return fmt.Errorf("update user password: %w", err)
	}
	return changedRow(res, resource.Errorf(resource.ENotFound, "user %q not found", id))
}

// SetUserExternalTokenHash sets the external token hash of a user ("" clears
// it) and its update time; ENotFound, or EConflict when another user has the
// same token.
func (s *UserStore) SetUserExternalTokenHash(ctx context.Context, id, hash string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE users SET external_token_hash = ?, updated_at = ? WHERE id = ?`),
		nullString(hash), dbTime(now), id)
	if isUniqueViolation(err, "external_token_hash") {
		return errExternalTokenInUse()
	} else if err != nil {
		return fmt.Errorf("set user external token: %w", err)
	}
	return changedRow(res, resource.Errorf(resource.ENotFound, "user %q not found", id))
}

// findUser runs a query for at most one user with one argument and returns
// notFound when there is none.
func (s *UserStore) findUser(ctx context.Context, query string, arg any, notFound error) (*resource.User, error) {
	var u resource.User
	// Scanned by hand (the columns of userColumns, in order): this is the
	// look-up of every user-token request, and sqlx's mapping by reflection
	// was a good part of its cost.
	err := s.db.QueryRowContext(ctx, s.db.Rebind(query), arg).Scan(&u.ID, &u.CustomerID, &u.Email, &u.PasswordHash,
		&u.ExternalTokenHash, &u.CreatedAt, &u.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	} else if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	u.CreatedAt, u.UpdatedAt = dbTime(u.CreatedAt), dbTime(u.UpdatedAt)
	return &u, nil
}

// errEmailInUse is the conflict of a second user with a taken e-mail.
func errEmailInUse() error {
	return &resource.Error{Code: resource.EConflict, Field: "email", Message: "email already in use"}
}

// errExternalTokenInUse is the conflict of a second user with the same
// external authentication token.
func errExternalTokenInUse() error {
	return &resource.Error{Code: resource.EConflict, Field: "external_authentication_token",
		Message: "external authentication token already in use"}
}
