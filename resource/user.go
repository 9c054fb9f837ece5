package resource

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/assetgate/assetgate/metrics"
)

// User is a person of a customer who logs in with an e-mail and a password
// (or an external authentication token) and holds `me` tokens.
type User struct {
	ID         string `db:"id"`
	CustomerID string `db:"customer_id"`
	Email      string `db:"email"`
	// PasswordHash is an argon2id PHC string; never shown.
	PasswordHash string `db:"password_hash"`
	// ExternalTokenHash is the keyed hash of the user's external
	// authentication token, or "" when none is set; never shown.
	ExternalTokenHash string    `db:"external_token_hash"`
	CreatedAt         time.Time `db:"created_at"`
	UpdatedAt         time.Time `db:"updated_at"`
}

// UserStore persists users. E-mail addresses are unique across customers, as
// a login names no customer.
type UserStore interface {
	// CreateUser inserts u; EConflict when the e-mail is taken.
	CreateUser(ctx context.Context, u *User) error
	// FindUser returns the user with the given id, or ENotFound.
	FindUser(ctx context.Context, id string) (*User, error)
	// FindUserByEmail returns the user with the given (lower-cased) e-mail,
	// or ENotFound.
	FindUserByEmail(ctx context.Context, email string) (*User, error)
	// FindUserByExternalTokenHash returns the user whose external token has
	// the given hash, or ENotFound.
	FindUserByExternalTokenHash(ctx context.Context, hash string) (*User, error)
	// UpdateUserPassword sets the password hash of a user; ENotFound.
	UpdateUserPassword(ctx context.Context, id, hash string, now time.Time) error
	// SetUserExternalTokenHash sets the external token hash of a user;
	// ENotFound, or EConflict when another user has the same token.
	SetUserExternalTokenHash(ctx context.Context, id, hash string, now time.Time) error
}

// UserService holds the rules for users.
type UserService struct {
	Store     UserStore
	Customers CustomerStore
	// Key is the server key that external tokens are hashed under.
	Key []byte
	// Tokens is where ChangePassword revokes the user's other grants.
	Tokens TokenStore
	// Hasher computes and checks password hashes, a bounded number at
	// once. Required by every method that hashes.
	Hasher *PasswordHasher
	// Throttle counts password checks (Authenticate, ChangePassword) and
	// external token logins. Required by those methods.
	Throttle *LoginThrottle
	// Metrics counts failed logins; nil counts nothing.
	Metrics *metrics.Metrics
	Now     func() time.Time
}

// errNoHasher and errNoThrottle are wiring mistakes.
var (
	errNoHasher   = errors.New("resource: UserService.Hasher is not set")
	errNoThrottle = errors.New("resource: UserService.Throttle is not set")
)

// hash returns the hash of a new password; EUnavailable when the hasher is
// busy for too long.
func (s *UserService) hash(ctx context.Context, password string) (string, error) {
	if s.Hasher == nil {
		return "", errNoHasher
	}
	return s.Hasher.Hash(ctx, password)
}

// Password limits: long enough to resist guessing, short enough that argon2
// input stays bounded.
const (
	MinPasswordLength = 10
	MaxPasswordLength = 256
)

// ValidatePassword returns EInvalid (pointing at field) when password is too
// short, too long, not UTF-8 or holds a NUL character (no login form could
// send it).
func ValidatePassword(field, password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		return Invalidf(field, "password must be valid UTF-8")
	case strings.ContainsRune(password, 0):
		return Invalidf(field, "password must not contain NUL characters")
	case n < MinPasswordLength:
		return Invalidf(field, "password must be at least %d characters", MinPasswordLength)
	case len(password) > MaxPasswordLength:
		return Invalidf(field, "password must be at most %d bytes", MaxPasswordLength)
	}
	return nil
}

// NormalizeEmail lower-cases and trims an e-mail address and checks its form;
// EInvalid when it is not a plain address.
func NormalizeEmail(email string) (string, error) {
	if !StorableText(email) {
		return "", Invalidf("email", "email must be a plain e-mail address")
	}
	email = strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 {
		return "", Invalidf("email", "email must be a plain e-mail address")
	}
	return email, nil
}

// Create makes a user of an existing customer. It returns ENotFound for an
// unknown customer, EInvalid for a bad e-mail or weak password, EConflict
// for an e-mail in use and EUnavailable when the hasher is busy for too
// long.
func (s *UserService) Create(ctx context.Context, customerID, email, password string) (*User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	if err := ValidatePassword("password", password); err != nil {
		return nil, err
	}
	if !ValidID(customerID) {
		return nil, Errorf(ENotFound, "customer %q not found", customerID)
	}
	if _, err := s.Customers.FindCustomer(ctx, customerID); err != nil {
		return nil, err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return nil, err
	}
	now := nowUTC(s.Now)
	u := &User{ID: NewID(), CustomerID: customerID, Email: email, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// Find returns the user with the given id, or ENotFound.
func (s *UserService) Find(ctx context.Context, id string) (*User, error) {
	if !ValidID(id) {
		return nil, Errorf(ENotFound, "user %q not found", id)
	}
	return s.Store.FindUser(ctx, id)
}

// SetExternalToken stores the keyed hash of an external authentication token
// for a user. EInvalid for a token shorter than 16 characters, ENotFound,
// EConflict when another user holds the same token.
func (s *UserService) SetExternalToken(ctx context.Context, userID, token string) error {
	if len(token) < 16 || len(token) > 1024 {
		return Invalidf("external_authentication_token", "token must be 16 to 1024 characters")
	}
	if !ValidID(userID) {
		return Errorf(ENotFound, "user %q not found", userID)
	}
	return s.Store.SetUserExternalTokenHash(ctx, userID, KeyedHash(s.Key, token), nowUTC(s.Now))
}

// Authenticate returns the user with the given e-mail and password, or
// EUnauthenticated. Unknown e-mails cost as much time as wrong passwords.
// The check goes through the login throttle (LoginThrottle.Enter: per
// account and origin, per client address when ctx carries one, and per
// account for strangers; see LoginGate); refused, it returns ERateLimited
// without checking the password. EUnavailable when the
// hasher is busy for too long. EInvalid (pointing at email or password)
// for text that is not StorableText, which no user has.
func (s *UserService) Authenticate(ctx context.Context, email, password string) (*User, error) {
	if s.Hasher == nil {
		return nil, errNoHasher
	} else if s.Throttle == nil {
		return nil, errNoThrottle
	}
	if err := CheckText("email", email); err != nil {
		return nil, err
	}
	if err := CheckText("password", password); err != nil {
		return nil, err
	}
	email = strings.ToLower(strings.TrimSpace(email))
	u, err := s.Store.FindUserByEmail(ctx, email)
	hash, userID := dummyPasswordHash, ""
	switch ErrorCode(err) {
	case "":
		hash, userID = u.PasswordHash, u.ID
	case ENotFound:
		u = nil
	default:
		return nil, err
	}
	g, err := s.Throttle.Enter(ctx, CounterLogin, email, userID)
	if err != nil {
		s.countLoginFailure(err)
		return nil, err
	}
	ok, err := s.Hasher.Matches(ctx, hash, password)
	switch {
	case err != nil:
		g.Unchecked(ctx) // never checked: it does not count
		return nil, err
	case !ok || u == nil:
		g.Failed(ctx)
		err = Errorf(EUnauthenticated, "invalid e-mail or password")
		s.countLoginFailure(err)
		return nil, err
	}
	g.Succeeded(ctx)
	return u, nil
}

// countLoginFailure counts a login refused by the throttle or for wrong
// credentials in Metrics; other errors (and success) count nothing.
func (s *UserService) countLoginFailure(err error) {
	switch ErrorCode(err) {
	case ERateLimited:
		s.Metrics.LoginFailed(metrics.LoginThrottledOut)
	case EUnauthenticated:
		s.Metrics.LoginFailed(metrics.LoginBadCredentials)
	}
}

// AuthenticateExternal returns the user holding the external authentication
// token, or EUnauthenticated. It is throttled per client address when ctx
// carries one, on the login counter: ERateLimited past the limit.
func (s *UserService) AuthenticateExternal(ctx context.Context, token string) (*User, error) {
	if token == "" {
		return nil, Errorf(EUnauthenticated, "invalid external authentication token")
	}
	att := &Attempt{} // nothing to give back without an address
	if addr, ok := ClientAddrFromContext(ctx); ok {
		if s.Throttle == nil {
			return nil, errNoThrottle
		}
		var err error
		if att, err = s.Throttle.Reserve(ctx, s.Throttle.PerAddr(CounterLogin, addr)); err != nil {
			return nil, err
		}
	}
	u, err := s.Store.FindUserByExternalTokenHash(ctx, KeyedHash(s.Key, token))
	if ErrorCode(err) == ENotFound {
		return nil, Errorf(EUnauthenticated, "invalid external authentication token")
	}
	_ = att.Release(ctx) // right, or never checked
	return u, err
}

// SetPassword replaces a user's password without checking the old one (an
// operator's reset). EInvalid for a weak password, ENotFound,
// EUnavailable when the hasher is busy for too long.
func (s *UserService) SetPassword(ctx context.Context, userID, password string) error {
	if err := ValidatePassword("password", password); err != nil {
		return err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	return s.Store.UpdateUserPassword(ctx, userID, hash, nowUTC(s.Now))
}
