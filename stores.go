package main

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/assetgate/assetgate/storage"
)

// redisPrefix starts every key assetgate writes to Redis.
const redisPrefix = "ag:"

// newStores picks the token and ephemeral stores. With a Redis client, the
// token store keeps refresh and device tokens in the SQL database with
// copies in Redis, and access tokens in Redis only (so a Redis that loses
// its data costs access tokens, which clients refresh, and nothing else of
// the tokens); ephemeral values are in Redis. Without one, both are in the
// SQL database.
func newStores(db *storage.DB, rc redis.UniversalClient) stores {
	if rc != nil {
		return stores{tokens: newTieredTokens(db, rc), ephemeral: storage.NewRedisEphemeralStore(rc, redisPrefix)}
	}
	return stores{tokens: storage.NewSQLTokenStore(db), ephemeral: storage.NewSQLEphemeralStore(db)}
}

// newTieredTokens returns the token store used with Redis.
func newTieredTokens(db *storage.DB, rc redis.UniversalClient) *storage.TieredTokenStore {
	return storage.NewTieredTokenStore(storage.NewSQLTokenStore(db), storage.NewRedisTokenStore(rc, redisPrefix),
		storage.DefaultTokenCacheTTL)
}

// sweepTimeout bounds each statement of a sweep of expired rows.
const sweepTimeout = time.Minute

// startBackground starts the service's background loops; they stop with ctx.
// Expired rows are swept from the database even with Redis configured
// (other tables may hold expiring rows later).
func (a *app) startBackground(ctx context.Context) {
	go a.appCache.Listen(ctx)
	// A sweep's deletes may take longer than a request's call would.
	sweeper := storage.NewSQLTokenStore(a.db.WithTimeout(sweepTimeout))
	go sweeper.RunSweeper(ctx, 5*time.Minute, func(err error) {
		a.log.Warn("sweeping expired rows", "err", err)
	})
}
