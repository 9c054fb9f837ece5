package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/assetgate/assetgate/resource"
)

// ImportResult counts what ImportRedisTokens copied into SQL.
type ImportResult struct {
	Families  int `json:"families"`
	Tokens    int `json:"tokens"`
	Rotations int `json:"rotations"`
}

// ImportRedisTokens copies into SQL the long-lived tokens that an earlier
// version kept in Redis only (RedisTokenStore): every live refresh and
// device token with its family, and the records of rotated-out refresh
// tokens of those families (so their reuse is still detected). It bounds
// the lifetime of the copies left in Redis as CreateFamily does. Access
// tokens stay in Redis. It may be run again: what SQL has is left as it is.
//
// Run it once after upgrading, with no server running: a revocation that
// ran between its read of Redis and its write to SQL would be undone.
func (s *TieredTokenStore) ImportRedisTokens(ctx context.Context) (ImportResult, error) {
	var res ImportResult
	err := s.redis.eachFamily(ctx, func(ctx context.Context, familyID string) error {
		f, tokens, rotations, err := s.redis.readFamily(ctx, familyID)
		if err != nil || f == nil || len(tokens) == 0 {
			return err
		}
		fams, toks, rots, err := s.sql.importFamily(ctx, f, tokens, rotations)
		if err != nil {
			return fmt.Errorf("import token family %s: %w", familyID, err)
		}
		res.Families, res.Tokens, res.Rotations = res.Families+fams, res.Tokens+toks, res.Rotations+rots
		return s.redis.expireCopies(ctx, familyID, s.cacheUntil(), tokens)
	})
	return res, err
}

// eachFamily calls fn with the id of every family in Redis (on every
// master of a Cluster), possibly more than once.
func (s *RedisTokenStore) eachFamily(ctx context.Context, fn func(ctx context.Context, familyID string) error) error {
	start := s.prefix + "{"
	pattern := globEscape(s.prefix) + `\{*\}:f`
	scan := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			id, ok := strings.CutSuffix(strings.TrimPrefix(iter.Val(), start), "}:f")
			if !ok || strings.ContainsAny(id, "{}") {
				continue
			}
			if err := fn(ctx, id); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	if cc, ok := s.c.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return scan(ctx, m) })
	}
	return scan(ctx, s.c)
}

// globEscape escapes the characters of s that Redis patterns give a meaning.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\{}`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// readFamily returns a family as Redis keeps it, with its live long-lived
// tokens and the rotation times of its rotated-out refresh tokens by hash.
// f is nil when the family is gone.
func (s *RedisTokenStore) readFamily(ctx context.Context, familyID string) (f *resource.TokenFamily, tokens []*resource.Token, rotations map[string]time.Time, err error) {
	var fam *redis.MapStringStringCmd
	var members *redis.StringSliceCmd
	if _, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		fam = p.HGetAll(ctx, s.familyKey(familyID, "f"))
		members = p.SMembers(ctx, s.familyKey(familyID, "m"))
		return nil
	}); err != nil {
		return nil, nil, nil, fmt.Errorf("read token family: %w", err)
	}
	h := fam.Val()
	if h["c"] == "" {
		return nil, nil, nil, nil
	}
	e, _ := strconv.ParseInt(h["e"], 10, 64)
	f = &resource.TokenFamily{ID: familyID, ClientID: h["c"], CustomerID: h["cu"], UserID: h["u"], DeviceID: h["d"],
		ExpiresAt: fromUnixMicro(e)}
	keys := members.Val()
	if len(keys) == 0 {
		return f, nil, nil, nil
	}
	vals, err := s.c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read token family: %w", err)
	}
	now := time.Now()
	tokenPrefix, markPrefix := s.tokenKey(familyID, "t", ""), s.tokenKey(familyID, "r", "")
	rotations = map[string]time.Time{}
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		if hash, ok := strings.CutPrefix(keys[i], tokenPrefix); ok {
			t, err := decodeRedisToken([]byte(str), familyID, hash)
			if err != nil {
				return nil, nil, nil, err
			}
			if longLived(t.Kind) && !t.Expired(now) {
				tokens = append(tokens, t)
			}
		} else if hash, ok := strings.CutPrefix(keys[i], markPrefix); ok {
			if ms, err := strconv.ParseInt(str, 10, 64); err == nil {
				rotations[hash] = time.UnixMilli(ms).UTC()
			}
		}
	}
	return f, tokens, rotations, nil
}

// expireCopies sets the expiry of the keys of tokens of a family as
// cacheTokens would have set it.
func (s *RedisTokenStore) expireCopies(ctx context.Context, familyID string, cacheUntil time.Time, tokens []*resource.Token) error {
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, t := range tokens {
			if at := keyExpiry(t.Kind, normTime(t.ExpiresAt), cacheUntil); !at.IsZero() {
				p.PExpireAt(ctx, s.tokenKey(familyID, "t", t.Hash), at)
			}
		}
		return nil
	})
	return err
}

// importFamily stores a family, its tokens and its rotation records in one
// transaction, leaving alone what is there already. It returns how many
// families (0 or 1), tokens and rotation records it added.
func (s *SQLTokenStore) importFamily(ctx context.Context, f *resource.TokenFamily, tokens []*resource.Token, rotations map[string]time.Time) (fams, toks, rots int, err error) {
	insertToken := s.db.Rebind(`INSERT INTO tokens (` + tokenColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING`)
	insertRotation := s.db.Rebind(`INSERT INTO token_rotations (hash, family_id, rotated_at, expires_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING`)
	famExp := normTime(f.ExpiresAt)
	err = s.db.WithTx(ctx, func(tx *Tx) error {
		fams, toks, rots = 0, 0, 0
		n, err := execCount(tx.ExecContext(ctx, s.q.insertFamily, f.ID, f.ClientID, f.CustomerID, f.UserID, f.DeviceID, nullTime(famExp)))
		if err != nil {
			return err
		}
		fams += n
		for _, t := range tokens {
			perms, err := json.Marshal(nonNil(t.Permissions))
			if err != nil {
				return err
			}
			n, err := execCount(tx.ExecContext(ctx, insertToken, t.Kind, f.ID, t.Hash, t.ClientID, t.CustomerID,
				t.UserID, t.Username, t.DeviceID, t.ID, t.Name, string(perms), t.Scope,
				normTime(t.IssuedAt), nullTime(tokenExpiry(t.ExpiresAt, famExp))))
			if err != nil {
				return err
			}
			toks += n
		}
		for hash, at := range rotations {
			n, err := execCount(tx.ExecContext(ctx, insertRotation, hash, f.ID, at, nullTime(famExp)))
			if err != nil {
				return err
			}
			rots += n
		}
		return nil
	})
	return fams, toks, rots, err
}

// execCount returns the rows an Exec affected.
func execCount(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
