package resource

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"time"
)

// TokenKind says what a token is for. Its value is the one the stores
// keep.
type TokenKind string

// Token kinds.
const (
	TokenAccess  TokenKind = "access"
	TokenRefresh TokenKind = "refresh"
	TokenDevice  TokenKind = "device"
)

// Token prefixes, one per kind, so secret scanners recognise leaked tokens.
const (
	AccessTokenPrefix  = "agat_"
	RefreshTokenPrefix = "agrt_"
	DeviceTokenPrefix  = "agdt_"
)

// familyIDLen and secretLen are the lengths, in characters, of the two parts
// of a token after its prefix: 128 bits of family id and 256 bits of secret,
// both unpadded base64url.
const (
	familyIDLen = 22
	secretLen   = 43
)

// TokenFamily is one grant: every access and refresh token issued from one
// original authorization (and its refresh rotations) belongs to it, so the
// whole family can be revoked at once (RFC 9700 §4.14.2).
type TokenFamily struct {
	ID         string
	ClientID   string
	CustomerID string
	UserID     string // "" for application and device tokens
	DeviceID   string // set for device-token families
	// ExpiresAt is the family's absolute deadline: no token of the family
	// outlives it.
	ExpiresAt time.Time
}

// Token is what a store keeps of an issued token. The token itself is never
// stored: Hash is its keyed hash (KeyedHash under the server key).
type Token struct {
	Kind       TokenKind
	FamilyID   string
	Hash       string
	ClientID   string
	CustomerID string
	UserID     string
	Username   string
	DeviceID   string
	// ID names a device token in lists (device tokens only).
	ID          string
	Name        string
	Permissions []string
	Scope       string
	IssuedAt    time.Time
	// ExpiresAt is when the token stops working; zero means never (device
	// tokens without an expiry).
	ExpiresAt time.Time
}

// Expired reports whether the token has expired at now.
func (t *Token) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// TokenStore keeps issued tokens, grouped in families. Implementations: SQL
// (the embedded default), Redis, and the tiered one used with Redis (refresh
// and device tokens in SQL with copies in Redis, access tokens in Redis).
// Every method is safe for concurrent use from many replicas.
type TokenStore interface {
	// CreateFamily stores a new family with its first tokens, atomically.
	CreateFamily(ctx context.Context, f *TokenFamily, tokens ...*Token) error
	// FindToken returns a live token by family id and hash. ENotFound when
	// it is unknown, expired or revoked.
	FindToken(ctx context.Context, familyID, hash string) (*Token, error)
	// RotateRefresh atomically consumes the refresh token (familyID, hash)
	// issued to clientID and stores next in the same family; exactly one of
	// many concurrent calls for one token succeeds. It returns the consumed
	// token. ENotFound when the token is unknown, expired, revoked, issued
	// to another client, or was rotated out less than grace ago; EConflict
	// when it was rotated out longer ago than grace, in which case the whole
	// family has been revoked (refresh token reuse).
	RotateRefresh(ctx context.Context, familyID, hash, clientID string, grace time.Duration, next ...*Token) (*Token, error)
	// RevokeToken removes one token; revoking a refresh token revokes its
	// whole family. It returns the removed token, or ENotFound.
	RevokeToken(ctx context.Context, familyID, hash string) (*Token, error)
	// RevokeFamily removes every token of a family; no error when there is
	// none.
	RevokeFamily(ctx context.Context, familyID string) error
	// RevokeClient removes every family (and token) issued to a client.
	RevokeClient(ctx context.Context, clientID string) error
	// RevokeUser removes every family of a user except exceptFamilyID.
	RevokeUser(ctx context.Context, userID, exceptFamilyID string) error
	// ListFamilyTokens returns the live tokens of a family (used for device
	// tokens).
	ListFamilyTokens(ctx context.Context, familyID string) ([]*Token, error)
}

// EphemeralStore keeps short-lived values under keys with a lifetime: login
// sessions, authorization and device codes, rate-limit counters. The Redis
// implementation shares them across replicas; the SQL one is the embedded
// default.
type EphemeralStore interface {
	// Put stores value under key for ttl, replacing any previous value.
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Get returns the value under key, or ENotFound when absent or expired.
	Get(ctx context.Context, key string) ([]byte, error)
	// Take returns and removes the value under key in one atomic step:
	// exactly one of many concurrent calls gets it. ENotFound otherwise.
	Take(ctx context.Context, key string) ([]byte, error)
	// Delete removes key; no error when it is absent.
	Delete(ctx context.Context, key string) error
	// Incr adds one to the counter under key and returns the new value;
	// a new counter lives for ttl from its first increment.
	Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)
	// Decr subtracts one from the live counter under key, keeping its
	// lifetime; an absent or expired counter stays absent.
	Decr(ctx context.Context, key string) error
}

// NewFamilyID returns a new random token family id (128 bits, base64url).
func NewFamilyID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewToken returns a new opaque token of a family: prefix, family id and 256
// random bits. The family id inside lets a store find the token's family
// (and its Redis Cluster slot) without a second look-up.
func NewToken(prefix, familyID string) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return prefix + familyID + base64.RawURLEncoding.EncodeToString(b[:])
}

// ParseToken splits a token made by NewToken into its prefix and family id.
// ok is false when the token does not have that shape.
func ParseToken(token string) (prefix, familyID string, ok bool) {
	i := strings.IndexByte(token, '_')
	if i < 0 || len(token) != i+1+familyIDLen+secretLen {
		return "", "", false
	}
	rest := token[i+1:]
	for _, c := range []byte(rest) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "", "", false
		}
	}
	return token[:i+1], rest[:familyIDLen], true
}
