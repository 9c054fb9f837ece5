package storage

import (
	"context"
	"errors"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// DefaultTokenCacheTTL is how long Redis keeps a copy of a long-lived token
// at most (less a random quarter, so that copies filled together do not all
// expire together): a bound on how long a copy that a failed or lost delete
// left behind (a Redis that was unreachable during a revocation, a replica
// promoted before it saw the delete) can outlive the original.
const DefaultTokenCacheTTL = time.Hour

// TieredTokenStore is the resource.TokenStore used with Redis. The SQL
// database is the source of truth for token families, for the long-lived
// tokens (refresh and device tokens) and for the records of rotated-out
// refresh tokens that detect their reuse; Redis keeps copies of the
// long-lived tokens, filled on a miss, so that a token in the cache costs one
// Redis GET and nothing else. Access tokens live only in Redis: they are
// short-lived, and issuing them (client credentials, every refresh) writes
// nothing to SQL. When Redis loses its data, device and refresh tokens still
// work (they are copied back on first use); access tokens are gone, and
// clients refresh.
//
// How the two stay consistent:
//
//   - Removals (revocation, rotation, reuse) commit in SQL first and delete
//     the copies in Redis after the commit. A failed delete is returned as
//     an error (but for the consumed token of a rotation, which every later
//     rotation refuses anyway); a retry runs the Redis part again whatever
//     SQL answers, and a copy that a failed delete leaves behind lives at
//     most the cache lifetime.
//   - A copy filled on a miss is checked against SQL once written, and
//     deleted again when the token is gone by then. Against a removal that
//     commits before the check, the check sees it; against one that commits
//     after, its delete comes after the write. Either way no copy survives.
//   - New tokens are written to Redis before SQL commits them (no one knows
//     their secrets until the call returns) and deleted again when SQL
//     refuses: so a rotation that wins in SQL is never short of its access
//     token, and a revocation that commits after it deletes its copies.
//   - Exactly one of concurrent rotations of a refresh token wins, and reuse
//     is detected, in SQL (SQLTokenStore.RotateRefresh), whatever Redis
//     holds.
//   - A token unknown to both costs one Redis GET and one SQL look-up by
//     primary key; nothing is written for it, so random tokens cannot fill
//     Redis (there is no negative cache).
type TieredTokenStore struct {
	sql      *SQLTokenStore
	redis    *RedisTokenStore
	cacheTTL time.Duration
}

var _ resource.TokenStore = (*TieredTokenStore)(nil)

// NewTieredTokenStore returns a token store that keeps long-lived tokens in
// sql, with copies that live at most cacheTTL (see DefaultTokenCacheTTL) in
// redis, and access tokens in redis only.
func NewTieredTokenStore(sql *SQLTokenStore, redis *RedisTokenStore, cacheTTL time.Duration) *TieredTokenStore {
	return &TieredTokenStore{sql: sql, redis: redis, cacheTTL: cacheTTL}
}

// longLived reports whether tokens of kind are kept in SQL by
// TieredTokenStore: refresh and device tokens.
func longLived(kind resource.TokenKind) bool {
	return kind == resource.TokenRefresh || kind == resource.TokenDevice
}

// longLivedTokens returns the long-lived tokens among tokens.
func longLivedTokens(tokens []*resource.Token) []*resource.Token {
	var out []*resource.Token
	for _, t := range tokens {
		if longLived(t.Kind) {
			out = append(out, t)
		}
	}
	return out
}

// cacheUntil returns when a copy made now must go: cacheTTL from now, less
// up to a quarter of it at random.
func (s *TieredTokenStore) cacheUntil() time.Time {
	ttl := s.cacheTTL
	if j := ttl / 4; j > 0 {
		ttl -= rand.N(j)
	}
	return time.Now().Add(ttl)
}

// CreateFamily stores the family with every token in Redis, then the
// family with its long-lived tokens in SQL; when SQL refuses, the Redis
// part is removed again. A family with no long-lived token (client
// credentials) is kept in Redis only. EConflict when it exists.
func (s *TieredTokenStore) CreateFamily(ctx context.Context, f *resource.TokenFamily, tokens ...*resource.Token) error {
	if err := s.redis.createFamily(ctx, f, s.cacheUntil(), tokens); err != nil {
		return err
	}
	durable := longLivedTokens(tokens)
	if len(durable) == 0 {
		return nil
	}
	if err := s.sql.CreateFamily(ctx, f, durable...); err != nil {
		if rerr := s.redis.RevokeFamily(context.WithoutCancel(ctx), f.ID); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	return nil
}

// FindToken returns a live token: from Redis with one GET, or on a miss
// from SQL, copying it to Redis (see TieredTokenStore). ENotFound when it is
// unknown, expired or revoked.
func (s *TieredTokenStore) FindToken(ctx context.Context, familyID, hash string) (*resource.Token, error) {
	t, err := s.redis.FindToken(ctx, familyID, hash)
	if resource.ErrorCode(err) != resource.ENotFound {
		return t, err
	}
	t, err = s.sql.FindToken(ctx, familyID, hash)
	if err != nil {
		return nil, err
	}
	// A failed copy is no reason to refuse a valid token; it may have been
	// written all the same, so the check below runs anyway.
	_ = s.redis.cacheTokens(ctx, familyID, s.cacheUntil(), []*resource.Token{t})
	// The check that makes the copy safe: a removal that committed before
	// it is seen here; one that commits after it deletes the copy itself.
	if _, err := s.sql.FindToken(ctx, familyID, hash); err != nil {
		_, _ = s.redis.dropTokens(context.WithoutCancel(ctx), familyID, hash)
		return nil, err
	}
	return t, nil
}

// RotateRefresh consumes the refresh token (familyID, hash) of clientID and
// stores next in its family (see resource.TokenStore). The new tokens are
// written to Redis first, then SQL rotates atomically: the one winner of
// concurrent rotations, and the reuse check, are SQL's. The losers' tokens
// are deleted from Redis again, reuse deletes the family's copies, and the
// winner deletes the copy of the token it consumed. ENotFound when the
// token is unknown, expired, revoked, of another client or rotated out less
// than grace ago; EConflict when it was rotated out longer ago, after
// revoking the family.
func (s *TieredTokenStore) RotateRefresh(ctx context.Context, familyID, hash, clientID string, grace time.Duration, next ...*resource.Token) (*resource.Token, error) {
	if err := checkTokens(familyID, next); err != nil {
		return nil, err
	}
	// An unknown family is answered without a write transaction; the
	// deadline caps the new tokens' copies as SQL caps the originals.
	famExp, err := s.sql.familyDeadline(ctx, familyID)
	if err != nil {
		return nil, err
	}
	staged := make([]*resource.Token, len(next))
	hashes := make([]string, len(next))
	for i, t := range next {
		c := *t
		c.FamilyID, c.ExpiresAt = familyID, tokenExpiry(t.ExpiresAt, famExp)
		staged[i], hashes[i] = &c, t.Hash
	}
	if err := s.redis.cacheTokens(ctx, familyID, s.cacheUntil(), staged); err != nil {
		return nil, err
	}
	old, err := s.sql.RotateRefresh(ctx, familyID, hash, clientID, grace, longLivedTokens(next)...)
	if err != nil {
		bg := context.WithoutCancel(ctx)
		if resource.ErrorCode(err) == resource.EConflict {
			// Reuse: SQL has revoked the family; so must Redis.
			if rerr := s.redis.RevokeFamily(bg, familyID); rerr != nil {
				return nil, errors.Join(err, rerr)
			}
			return nil, err
		}
		// Best effort: no one has seen these tokens.
		_, _ = s.redis.dropTokens(bg, familyID, hashes...)
		return nil, err
	}
	// The rotation has happened. Should this delete fail, the copy left
	// is refused by every later rotation (SQL decides) and lives at most
	// cacheTTL.
	_, _ = s.redis.dropTokens(context.WithoutCancel(ctx), familyID, hash)
	return old, nil
}

// RevokeToken removes one live token: a long-lived one in SQL, then its
// copy (and, for a refresh token, every key of its family) in Redis; an
// access token in Redis. It returns the removed token, or ENotFound.
func (s *TieredTokenStore) RevokeToken(ctx context.Context, familyID, hash string) (*resource.Token, error) {
	t, err := s.sql.RevokeToken(ctx, familyID, hash)
	switch resource.ErrorCode(err) {
	case "":
		if t.Kind == resource.TokenRefresh {
			err = s.redis.RevokeFamily(ctx, familyID)
		} else {
			_, err = s.redis.dropTokens(ctx, familyID, hash)
		}
		if err != nil {
			return nil, err
		}
		return t, nil
	case resource.ENotFound:
	default:
		return nil, err
	}
	was, err := s.redis.dropTokens(ctx, familyID, hash)
	if err != nil {
		return nil, err
	}
	t = was[0]
	if t == nil || t.Expired(time.Now()) {
		return nil, errTokenNotFound()
	}
	if t.Kind != resource.TokenAccess {
		// A copy that SQL no longer vouches for (a retry after a delete
		// that failed): it is gone now, with its family's keys when the
		// family itself is gone from SQL.
		if _, err := s.sql.familyDeadline(ctx, familyID); resource.ErrorCode(err) == resource.ENotFound {
			if err := s.redis.RevokeFamily(ctx, familyID); err != nil {
				return nil, err
			}
		}
		return nil, errTokenNotFound()
	}
	return t, nil
}

// RevokeFamily removes a family from SQL, then its keys from Redis; no
// error when there is none.
func (s *TieredTokenStore) RevokeFamily(ctx context.Context, familyID string) error {
	if err := s.sql.RevokeFamily(ctx, familyID); err != nil {
		return err
	}
	return s.redis.RevokeFamily(ctx, familyID)
}

// RevokeClient removes every family issued to a client: from SQL, then the
// keys of those families from Redis, then the families kept only in Redis.
func (s *TieredTokenStore) RevokeClient(ctx context.Context, clientID string) error {
	ids, err := s.sql.revokeClient(ctx, clientID)
	if err != nil {
		return err
	}
	if err := s.redis.revokeFamilies(ctx, ids); err != nil {
		return err
	}
	return s.redis.RevokeClient(ctx, clientID)
}

// RevokeUser removes every family of a user except exceptFamilyID, as
// RevokeClient does.
func (s *TieredTokenStore) RevokeUser(ctx context.Context, userID, exceptFamilyID string) error {
	ids, err := s.sql.revokeUser(ctx, userID, exceptFamilyID)
	if err != nil {
		return err
	}
	if err := s.redis.revokeFamilies(ctx, ids); err != nil {
		return err
	}
	return s.redis.RevokeUser(ctx, userID, exceptFamilyID)
}

// ListFamilyTokens returns the live tokens of a family, oldest first: the
// long-lived ones from SQL, the access tokens from Redis.
func (s *TieredTokenStore) ListFamilyTokens(ctx context.Context, familyID string) ([]*resource.Token, error) {
	list, err := s.sql.ListFamilyTokens(ctx, familyID)
	if err != nil {
		return nil, err
	}
	cached, err := s.redis.ListFamilyTokens(ctx, familyID)
	if err != nil {
		return nil, err
	}
	for _, t := range cached {
		if !longLived(t.Kind) {
			list = append(list, t)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].IssuedAt.Equal(list[j].IssuedAt) {
			return list[i].IssuedAt.Before(list[j].IssuedAt)
		}
		return list[i].Hash < list[j].Hash
	})
	return list, nil
}
