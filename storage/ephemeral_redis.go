package storage

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/assetgate/assetgate/resource"
)

// RedisEphemeralStore is the resource.EphemeralStore kept in Redis, shared
// by every replica. A value lives under <prefix>e:<key> with a TTL.
type RedisEphemeralStore struct {
	c      redis.UniversalClient
	prefix string
	decr   *redis.Script
}

// luaDecrIfExists decrements KEYS[1] only when it exists: a bare DECR
// would create an absent counter at -1 that never expires.
const luaDecrIfExists = `
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end
return 0
`

// NewRedisEphemeralStore returns an ephemeral store on c whose keys all
// start with prefix (for example "ag:").
func NewRedisEphemeralStore(c redis.UniversalClient, prefix string) *RedisEphemeralStore {
	return &RedisEphemeralStore{c: c, prefix: prefix + "e:", decr: redis.NewScript(luaDecrIfExists)}
}

// Put stores value under key for ttl, replacing any previous value.
func (s *RedisEphemeralStore) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return errors.New("storage: ephemeral ttl must be positive")
	}
	return s.c.Set(ctx, s.prefix+key, value, ttl).Err()
}

// Get returns the value under key. ENotFound when absent or expired.
func (s *RedisEphemeralStore) Get(ctx context.Context, key string) ([]byte, error) {
	return ephemeralValue(s.c.Get(ctx, s.prefix+key))
}

// Take returns and deletes the value under key with GETDEL; of many
// concurrent calls exactly one gets it. ENotFound when absent or expired.
func (s *RedisEphemeralStore) Take(ctx context.Context, key string) ([]byte, error) {
	return ephemeralValue(s.c.GetDel(ctx, s.prefix+key))
}

// ephemeralValue returns the value of a GET-like command.
func ephemeralValue(cmd *redis.StringCmd) ([]byte, error) {
	v, err := cmd.Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, resource.Errorf(resource.ENotFound, "Not found.")
	} else if err != nil {
		return nil, err
	}
	return v, nil
}

// Delete removes key; no error when it is absent.
func (s *RedisEphemeralStore) Delete(ctx context.Context, key string) error {
	return s.c.Del(ctx, s.prefix+key).Err()
}

// Incr adds one to the counter under key and returns the new value; a new
// counter lives for ttl from its first increment. INCR and PEXPIRE NX run in
// one MULTI/EXEC round trip, so a counter never outlives its TTL.
func (s *RedisEphemeralStore) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	if ttl <= 0 {
		return 0, errors.New("storage: ephemeral ttl must be positive")
	}
	k := s.prefix + key
	var incr *redis.IntCmd
	_, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		incr = p.Incr(ctx, k)
		p.Do(ctx, "PEXPIRE", k, max(ttl.Milliseconds(), 1), "NX")
		return nil
	})
	if err != nil {
		return 0, err
	}
	return incr.Val(), nil
}

// Decr subtracts one from the counter under key when it exists; DECR keeps
// its TTL. An absent or expired counter stays absent.
func (s *RedisEphemeralStore) Decr(ctx context.Context, key string) error {
	return s.decr.Run(ctx, s.c, []string{s.prefix + key}).Err()
}
