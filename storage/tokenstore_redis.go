package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/assetgate/assetgate/resource"
)

// RedisTokenStore is the resource.TokenStore kept in Redis (standalone,
// Sentinel or Cluster). Every key of a family carries the family id as hash
// tag, so a family lives in one Cluster slot and each write is one atomic
// Lua script:
//
//	<prefix>{<family>}:f          hash: client, customer, user, device, deadline
//	<prefix>{<family>}:m          set: the keys of the family's tokens and markers
//	<prefix>{<family>}:t:<hash>   a token (JSON), expiring with it
//	<prefix>{<family>}:r:<hash>   a rotated-out refresh token: when (Unix ms)
//	<prefix>client:<client id>    sorted set of family ids, scored by deadline
//	<prefix>user:<user id>        sorted set of family ids, scored by deadline
//
// The two index sets span slots, so they are written with commands of
// their own, before the family is created (a family that exists is always
// indexed); entries of expired families are pruned on every write.
type RedisTokenStore struct {
	c      redis.UniversalClient
	prefix string
	scripts
}

// scripts are the store's Lua scripts; go-redis runs them with EVALSHA.
type scripts struct {
	create, rotate, revokeToken, revokeFamily, index *redis.Script
	// cache and drop write and delete copies of tokens for
	// TieredTokenStore (tokenstore_redis_cache.go).
	cache, drop *redis.Script
}

// NewRedisTokenStore returns a token store on c whose keys all start with
// prefix (for example "ag:"). prefix must not contain '{' or '}'.
func NewRedisTokenStore(c redis.UniversalClient, prefix string) *RedisTokenStore {
	return &RedisTokenStore{c: c, prefix: prefix, scripts: scripts{
		create:       redis.NewScript(luaCreateFamily),
		rotate:       redis.NewScript(luaRotateRefresh),
		revokeToken:  redis.NewScript(luaRevokeToken),
		revokeFamily: redis.NewScript(luaRevokeFamily),
		index:        redis.NewScript(luaIndexFamily),
		cache:        redis.NewScript(luaCacheTokens),
		drop:         redis.NewScript(luaDropTokens),
	}}
}

// redisToken is a token as stored in Redis: short JSON names, times in Unix
// microseconds (0 for none). The family id and the hash are in the key.
type redisToken struct {
	Kind        resource.TokenKind `json:"k"`
	ClientID    string             `json:"c"`
	CustomerID  string             `json:"cu"`
	UserID      string             `json:"u,omitempty"`
	Username    string             `json:"un,omitempty"`
	DeviceID    string             `json:"d,omitempty"`
	ID          string             `json:"id,omitempty"`
	Name        string             `json:"n,omitempty"`
	Permissions []string           `json:"p,omitempty"`
	Scope       string             `json:"s,omitempty"`
	IssuedAt    int64              `json:"i"`
	ExpiresAt   int64              `json:"e,omitempty"`
}

// LoadScripts caches the store's Lua scripts in Redis (on every shard of a
// Cluster). It is optional: a script Redis does not have is sent in full
// once (EVAL) and cached then. Call it at start-up to spare the first
// requests that fallback.
func (s *RedisTokenStore) LoadScripts(ctx context.Context) error {
	for _, sc := range []*redis.Script{s.create, s.rotate, s.revokeToken, s.revokeFamily, s.index, s.cache, s.drop} {
		if err := sc.Load(ctx, s.c).Err(); err != nil {
			return fmt.Errorf("load redis script: %w", err)
		}
	}
	return nil
}

// familyKey returns the key of part ("f" or "m") of a family.
func (s *RedisTokenStore) familyKey(familyID, part string) string {
	return s.prefix + "{" + familyID + "}:" + part
}

// tokenKey returns the key of a token (kind "t") or of its rotated-out
// marker (kind "r").
func (s *RedisTokenStore) tokenKey(familyID, kind, hash string) string {
	return s.prefix + "{" + familyID + "}:" + kind + ":" + hash
}

// CreateFamily indexes the family by client and user, then stores it with
// its tokens in one script. A token's expiry is capped by the family's.
// EConflict when the family already exists.
func (s *RedisTokenStore) CreateFamily(ctx context.Context, f *resource.TokenFamily, tokens ...*resource.Token) error {
	return s.createFamily(ctx, f, time.Time{}, tokens)
}

// createFamily is CreateFamily; the keys of long-lived tokens (see
// longLived) go at cacheUntil when it is not zero and comes before their
// expiry (TieredTokenStore keeps only copies of them here).
func (s *RedisTokenStore) createFamily(ctx context.Context, f *resource.TokenFamily, cacheUntil time.Time, tokens []*resource.Token) error {
	if err := checkFamily(f, tokens); err != nil {
		return err
	}
	now := time.Now()
	famExp := normTime(f.ExpiresAt)
	score := "+inf"
	if !famExp.IsZero() {
		score = strconv.FormatInt(pxat(famExp), 10)
	}
	keys := []string{s.familyKey(f.ID, "f"), s.familyKey(f.ID, "m")}
	args := []any{f.ClientID, f.CustomerID, f.UserID, f.DeviceID, unixMicro(famExp), pxat(famExp)}
	keys, args, err := s.appendTokens(keys, args, f.ID, famExp, cacheUntil, tokens)
	if err != nil {
		return err
	}
	// One pipelined round trip: the index entries first, so an existing
	// family is always indexed (a pipeline keeps its order on a connection),
	// then the family itself.
	var calls []scriptCall
	for _, idx := range s.indexKeys(f.ClientID, f.UserID) {
		calls = append(calls, scriptCall{s.index, []string{idx}, []any{f.ID, score, now.UnixMilli()}})
	}
	calls = append(calls, scriptCall{s.create, keys, args})
	cmds, err := s.runAll(ctx, calls)
	if err != nil {
		return fmt.Errorf("create token family: %w", err)
	}
	n, err := cmds[len(cmds)-1].Int()
	if err != nil {
		return fmt.Errorf("create token family: %w", err)
	}
	if n == 0 {
		return resource.Errorf(resource.EConflict, "Token family already exists.")
	}
	return nil
}

// appendTokens adds the keys and (JSON, PXAT) arguments of tokens of a
// family with deadline famExp; the keys of long-lived tokens go at
// cacheUntil when it is not zero and comes first.
func (s *RedisTokenStore) appendTokens(keys []string, args []any, familyID string, famExp, cacheUntil time.Time, tokens []*resource.Token) ([]string, []any, error) {
	for _, t := range tokens {
		exp := tokenExpiry(t.ExpiresAt, famExp)
		b, err := encodeRedisToken(t, exp)
		if err != nil {
			return nil, nil, err
		}
		keys = append(keys, s.tokenKey(familyID, "t", t.Hash))
		args = append(args, b, pxat(keyExpiry(t.Kind, exp, cacheUntil)))
	}
	return keys, args, nil
}

// FindToken returns a live token by family id and hash with exactly one
// command (GET). ENotFound when it is unknown, expired or revoked.
func (s *RedisTokenStore) FindToken(ctx context.Context, familyID, hash string) (*resource.Token, error) {
	b, err := s.c.Get(ctx, s.tokenKey(familyID, "t", hash)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, errTokenNotFound()
	} else if err != nil {
		return nil, err
	}
	t, err := decodeRedisToken(b, familyID, hash)
	if err != nil {
		return nil, err
	}
	if t.Expired(time.Now()) {
		return nil, errTokenNotFound()
	}
	return t, nil
}

// decodeRedisToken turns a stored token back into a resource.Token.
func decodeRedisToken(b []byte, familyID, hash string) (*resource.Token, error) {
	var r redisToken
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode token: %w", err)
	}
	t := &resource.Token{
		Kind: r.Kind, FamilyID: familyID, Hash: hash, ClientID: r.ClientID, CustomerID: r.CustomerID,
		UserID: r.UserID, Username: r.Username, DeviceID: r.DeviceID, ID: r.ID, Name: r.Name,
		Permissions: r.Permissions, Scope: r.Scope, IssuedAt: fromUnixMicro(r.IssuedAt),
		ExpiresAt: fromUnixMicro(r.ExpiresAt),
	}
	return t, nil
}

// RotateRefresh consumes the refresh token (familyID, hash) of clientID and
// stores next in its family, in one script (see resource.TokenStore).
// ENotFound when the token is unknown, expired, revoked, of another client
// or rotated out less than grace ago; EConflict when it was rotated out
// longer ago, after revoking the family.
func (s *RedisTokenStore) RotateRefresh(ctx context.Context, familyID, hash, clientID string, grace time.Duration, next ...*resource.Token) (*resource.Token, error) {
	if err := checkTokens(familyID, next); err != nil {
		return nil, err
	}
	// The family's deadline never changes, so reading it before the script
	// is safe; the script itself checks that the family still exists.
	e, err := s.c.HGet(ctx, s.familyKey(familyID, "f"), "e").Int64()
	if errors.Is(err, redis.Nil) {
		return nil, errTokenNotFound()
	} else if err != nil {
		return nil, err
	}
	famExp := fromUnixMicro(e)
	now := time.Now()
	keys := []string{s.familyKey(familyID, "f"), s.familyKey(familyID, "m"),
		s.tokenKey(familyID, "t", hash), s.tokenKey(familyID, "r", hash)}
	args := []any{clientID, now.UnixMicro(), now.UnixMilli(), grace.Milliseconds(), pxat(famExp)}
	keys, args, err = s.appendTokens(keys, args, familyID, famExp, time.Time{}, next)
	if err != nil {
		return nil, err
	}
	v, err := s.rotate.Run(ctx, s.c, keys, args...).Result()
	if err != nil {
		return nil, fmt.Errorf("rotate refresh token: %w", err)
	}
	switch v := v.(type) {
	case string:
		return decodeRedisToken([]byte(v), familyID, hash)
	case int64:
		if v == -2 {
			return nil, errTokenReused()
		}
	}
	return nil, errTokenNotFound()
}

// RevokeToken removes one live token; removing a refresh token removes its
// whole family. It returns the removed token, or ENotFound.
func (s *RedisTokenStore) RevokeToken(ctx context.Context, familyID, hash string) (*resource.Token, error) {
	keys := []string{s.familyKey(familyID, "f"), s.familyKey(familyID, "m"), s.tokenKey(familyID, "t", hash)}
	v, err := s.revokeToken.Run(ctx, s.c, keys, time.Now().UnixMicro()).StringSlice()
	if errors.Is(err, redis.Nil) {
		return nil, errTokenNotFound()
	} else if err != nil {
		return nil, fmt.Errorf("revoke token: %w", err)
	} else if len(v) != 3 {
		return nil, fmt.Errorf("revoke token: unexpected reply %q", v)
	}
	t, err := decodeRedisToken([]byte(v[0]), familyID, hash)
	if err != nil {
		return nil, err
	}
	if t.Kind == resource.TokenRefresh {
		s.unindex(ctx, map[string][]string{v[1]: {familyID}}, map[string][]string{v[2]: {familyID}})
	}
	return t, nil
}

// RevokeFamily removes every token of a family in one script; no error when
// there is none.
func (s *RedisTokenStore) RevokeFamily(ctx context.Context, familyID string) error {
	v, err := s.revokeFamily.Run(ctx, s.c, []string{s.familyKey(familyID, "f"), s.familyKey(familyID, "m")}).StringSlice()
	if err != nil {
		return fmt.Errorf("revoke token family: %w", err)
	} else if len(v) != 2 {
		return fmt.Errorf("revoke token family: unexpected reply %q", v)
	}
	s.unindex(ctx, map[string][]string{v[0]: {familyID}}, map[string][]string{v[1]: {familyID}})
	return nil
}

// RevokeClient removes every family (and token) issued to a client.
func (s *RedisTokenStore) RevokeClient(ctx context.Context, clientID string) error {
	if clientID == "" {
		return errors.New("storage: RevokeClient needs a client id")
	}
	return s.revokeIndexed(ctx, s.prefix+"client:"+clientID, "")
}

// RevokeUser removes every family of a user except exceptFamilyID.
func (s *RedisTokenStore) RevokeUser(ctx context.Context, userID, exceptFamilyID string) error {
	if userID == "" {
		return errors.New("storage: RevokeUser needs a user id")
	}
	return s.revokeIndexed(ctx, s.prefix+"user:"+userID, exceptFamilyID)
}

// revokeIndexed revokes every family listed in an index set except
// exceptFamilyID, a batch at a time, and removes them from the indexes.
func (s *RedisTokenStore) revokeIndexed(ctx context.Context, index, exceptFamilyID string) error {
	var cursor uint64
	for {
		page, next, err := s.c.ZScan(ctx, index, cursor, "", 500).Result()
		if err != nil {
			return fmt.Errorf("scan token family index: %w", err)
		}
		var fams []string
		for i := 0; i < len(page); i += 2 { // member, score, member, score...
			if f := page[i]; f != exceptFamilyID {
				fams = append(fams, f)
			}
		}
		if err := s.revokeFamilies(ctx, fams); err != nil {
			return err
		}
		if len(fams) > 0 {
			// Families that had already expired are no longer in
			// either map; drop them from this index all the same.
			members := make([]any, len(fams))
			for i, f := range fams {
				members[i] = f
			}
			if err := s.c.ZRem(ctx, index, members...).Err(); err != nil {
				return fmt.Errorf("unindex token families: %w", err)
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// revokeFamilies removes the families fams, 500 scripts to a pipeline, and
// takes them out of the client and user indexes.
func (s *RedisTokenStore) revokeFamilies(ctx context.Context, fams []string) error {
	for len(fams) > 0 {
		batch := fams[:min(len(fams), 500)]
		fams = fams[len(batch):]
		calls := make([]scriptCall, len(batch))
		for i, f := range batch {
			calls[i] = scriptCall{s.revokeFamily, []string{s.familyKey(f, "f"), s.familyKey(f, "m")}, nil}
		}
		cmds, err := s.runAll(ctx, calls)
		if err != nil {
			return fmt.Errorf("revoke token families: %w", err)
		}
		byClient, byUser := map[string][]string{}, map[string][]string{}
		for i, cmd := range cmds {
			if v, err := cmd.StringSlice(); err == nil && len(v) == 2 {
				byClient[v[0]] = append(byClient[v[0]], batch[i])
				byUser[v[1]] = append(byUser[v[1]], batch[i])
			}
		}
		s.unindex(ctx, byClient, byUser)
	}
	return nil
}

// unindex removes revoked families from the client and user indexes (maps
// of client or user id to family ids), best effort: a stale entry is only
// wasted space, pruned when its family's deadline passes.
func (s *RedisTokenStore) unindex(ctx context.Context, byClient, byUser map[string][]string) {
	_, _ = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for prefix, m := range map[string]map[string][]string{"client:": byClient, "user:": byUser} {
			for id, fams := range m {
				if id == "" {
					continue
				}
				members := make([]any, len(fams))
				for i, f := range fams {
					members[i] = f
				}
				p.ZRem(ctx, s.prefix+prefix+id, members...)
			}
		}
		return nil
	})
}

// ListFamilyTokens returns the live tokens of a family, oldest first; an
// empty list when the family is unknown.
func (s *RedisTokenStore) ListFamilyTokens(ctx context.Context, familyID string) ([]*resource.Token, error) {
	members, err := s.c.SMembers(ctx, s.familyKey(familyID, "m")).Result()
	if err != nil {
		return nil, err
	}
	tokenPrefix := s.tokenKey(familyID, "t", "")
	var keys []string
	for _, k := range members {
		if strings.HasPrefix(k, tokenPrefix) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	vals, err := s.c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var list []*resource.Token
	var stale []any
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			stale = append(stale, keys[i]) // expired or revoked
			continue
		}
		t, err := decodeRedisToken([]byte(str), familyID, strings.TrimPrefix(keys[i], tokenPrefix))
		if err != nil {
			return nil, err
		}
		if !t.Expired(now) {
			list = append(list, t)
		}
	}
	if len(stale) > 0 {
		// Best effort: a token key is never written again once gone, so
		// dropping it from the member set loses nothing.
		_ = s.c.SRem(ctx, s.familyKey(familyID, "m"), stale...).Err()
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].IssuedAt.Equal(list[j].IssuedAt) {
			return list[i].IssuedAt.Before(list[j].IssuedAt)
		}
		return list[i].Hash < list[j].Hash
	})
	return list, nil
}

// indexKeys returns the index sets a family of clientID and userID belongs
// to.
func (s *RedisTokenStore) indexKeys(clientID, userID string) []string {
	keys := []string{s.prefix + "client:" + clientID}
	if userID != "" {
		keys = append(keys, s.prefix+"user:"+userID)
	}
	return keys
}

// scriptCall is one script run in a pipeline.
type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
}

// runAll runs calls in one pipeline with EVALSHA, and again with EVAL those
// that failed because Redis did not have the script cached. It returns the
// first error other than redis.Nil.
func (s *RedisTokenStore) runAll(ctx context.Context, calls []scriptCall) ([]*redis.Cmd, error) {
	if len(calls) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.Cmd, len(calls))
	_, _ = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range calls {
			cmds[i] = c.script.EvalSha(ctx, p, c.keys, c.args...)
		}
		return nil
	})
	for i, c := range calls {
		if err := cmds[i].Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			cmds[i] = c.script.Eval(ctx, s.c, c.keys, c.args...)
		}
		if err := cmds[i].Err(); err != nil && !errors.Is(err, redis.Nil) {
			return cmds, err
		}
	}
	return cmds, nil
}

// unixMicro returns t in Unix microseconds, 0 for the zero time.
func unixMicro(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromUnixMicro is the inverse of unixMicro.
func fromUnixMicro(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// pxat returns the Unix millisecond at which a key expiring at t must go,
// rounded up (so Redis never drops a key before it expires), or 0 for the
// zero time (no expiry).
func pxat(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return (t.UnixMicro() + 999) / 1000
}
