package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/assetgate/assetgate/storage"
)

// MustOpenRedis connects to the Redis of ASSETGATE_TEST_REDIS_URL (the test
// skips without it, or fails when CI=true) and closes the client when the
// test ends.
func MustOpenRedis(tb testing.TB) redis.UniversalClient {
	tb.Helper()
	c, err := storage.OpenRedis(context.Background(), RequireEnv(tb, RedisURLEnv))
	if err != nil {
		tb.Fatalf("open redis: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// MustRedisPrefix returns a random key prefix for one test and deletes every
// key under it from c when the test ends, so that tests sharing one Redis
// never see each other's keys and leave none behind.
func MustRedisPrefix(tb testing.TB, c redis.UniversalClient) string {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "agtest:" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() {
		ctx := context.Background()
		keys, err := RedisKeys(ctx, c, prefix)
		if err == nil && len(keys) > 0 {
			for _, k := range keys {
				err = c.Del(ctx, k).Err() // one by one: keys span Cluster slots
			}
		}
		if err != nil {
			tb.Errorf("clean up redis keys %s*: %v", prefix, err)
		}
	})
	return prefix
}

// RedisKeys returns every key starting with prefix (SCAN, on every master
// of a Cluster).
func RedisKeys(ctx context.Context, c redis.UniversalClient, prefix string) ([]string, error) {
	var mu sync.Mutex
	var keys []string
	scan := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			keys = append(keys, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return scan(ctx, m) })
		return keys, err
	}
	return keys, scan(ctx, c)
}
