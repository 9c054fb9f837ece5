package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// The part of RedisTokenStore that TieredTokenStore uses to keep copies of
// tokens whose original is in the SQL database: writes and deletes of single
// tokens of a family that leave the family's other keys alone. A copy is
// added to the family's member set in the same script that writes it, so
// that revoking the family (luaRevokeFamily) deletes it too.

// luaCacheTokens: KEYS = members, token keys...; ARGV = (JSON, PXAT ms or
// "0") per token. It writes the tokens and adds them to the member set. A
// member set must not expire before a key in it, or revoking the family
// would miss that key: a new member set expires with its latest key, one
// with an earlier expiry is extended, one without expiry keeps none.
const luaCacheTokens = `
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local ttl = redis.call('PTTL', KEYS[1])
local last = 0
for i = 2, #KEYS do
  local j = (i - 2) * 2 + 1
  local at = tonumber(ARGV[j + 1])
  if at == 0 then
    redis.call('SET', KEYS[i], ARGV[j])
    last = -1
  else
    redis.call('SET', KEYS[i], ARGV[j], 'PXAT', at)
    if last >= 0 and at > last then last = at end
  end
  redis.call('SADD', KEYS[1], KEYS[i])
end
if last == -1 then
  redis.call('PERSIST', KEYS[1])
elseif ttl == -2 or (ttl >= 0 and now + ttl < last) then
  redis.call('PEXPIREAT', KEYS[1], last)
end
return 1
`

// luaDropTokens: KEYS = members, token keys.... It deletes the token keys
// and takes them out of the member set, and returns what each held ("" for
// nothing).
const luaDropTokens = `
local out = {}
for i = 2, #KEYS do
  out[#out + 1] = redis.call('GET', KEYS[i]) or ''
  redis.call('DEL', KEYS[i])
  redis.call('SREM', KEYS[1], KEYS[i])
end
return out
`

// cacheTokens writes tokens of a family (their expiries already capped by
// the family's deadline) in one script. Each key goes at its token's expiry
// or, for a long-lived token, at cacheUntil if that comes first (keyExpiry).
// Tokens that have expired are left out.
func (s *RedisTokenStore) cacheTokens(ctx context.Context, familyID string, cacheUntil time.Time, tokens []*resource.Token) error {
	now := time.Now()
	keys := []string{s.familyKey(familyID, "m")}
	var args []any
	for _, t := range tokens {
		exp := normTime(t.ExpiresAt)
		if t.Expired(now) {
			continue
		}
		b, err := encodeRedisToken(t, exp)
		if err != nil {
			return err
		}
		keys = append(keys, s.tokenKey(familyID, "t", t.Hash))
		args = append(args, b, pxat(keyExpiry(t.Kind, exp, cacheUntil)))
	}
	if len(keys) == 1 {
		return nil
	}
	if err := s.cache.Run(ctx, s.c, keys, args...).Err(); err != nil {
		return fmt.Errorf("cache tokens: %w", err)
	}
	return nil
}

// dropTokens deletes tokens of a family by hash in one script and returns
// what was there, in order (nil where there was nothing).
func (s *RedisTokenStore) dropTokens(ctx context.Context, familyID string, hashes ...string) ([]*resource.Token, error) {
	if len(hashes) == 0 {
		return nil, nil
	}
	keys := []string{s.familyKey(familyID, "m")}
	for _, h := range hashes {
		keys = append(keys, s.tokenKey(familyID, "t", h))
	}
	vals, err := s.drop.Run(ctx, s.c, keys).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("drop tokens: %w", err)
	}
	out := make([]*resource.Token, len(hashes))
	for i, v := range vals {
		if v == "" || i >= len(out) {
			continue
		}
		if out[i], err = decodeRedisToken([]byte(v), familyID, hashes[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// encodeRedisToken returns the JSON kept of t, which expires at exp.
func encodeRedisToken(t *resource.Token, exp time.Time) ([]byte, error) {
	return json.Marshal(redisToken{
		Kind: t.Kind, ClientID: t.ClientID, CustomerID: t.CustomerID, UserID: t.UserID,
		Username: t.Username, DeviceID: t.DeviceID, ID: t.ID, Name: t.Name,
		Permissions: t.Permissions, Scope: t.Scope,
		IssuedAt: unixMicro(normTime(t.IssuedAt)), ExpiresAt: unixMicro(exp),
	})
}

// keyExpiry returns when the key of a token of kind expiring at exp goes:
// at exp, or at cacheUntil (when not zero) for a long-lived token whose
// copy in Redis must not outlive it.
func keyExpiry(kind resource.TokenKind, exp, cacheUntil time.Time) time.Time {
	if longLived(kind) && !cacheUntil.IsZero() && (exp.IsZero() || cacheUntil.Before(exp)) {
		return cacheUntil
	}
	return exp
}
