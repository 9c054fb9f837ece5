package graph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/redis/go-redis/v9"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// This file holds the persisted queries: the Redis cache of automatic
// persisted queries (APQ), and the trusted documents mode.

// RedisCache is a graphql.Cache of strings in Redis, for gqlgen's
// AutomaticPersistedQuery: a query one replica has seen is known to all.
// Keys are the SHA-256 of the query (APQ checks the hash before it adds),
// so a key names its value; each read renews the key's time to live.
type RedisCache struct {
	client redis.UniversalClient
	prefix string
	ttl    time.Duration
	log    *slog.Logger
}

var _ graphql.Cache[string] = (*RedisCache)(nil)

// NewRedisCache returns a cache in client under keys starting with prefix,
// each kept for ttl after its last use. Errors of Redis are logged and
// count as misses (the client then sends the query again).
func NewRedisCache(client redis.UniversalClient, prefix string, ttl time.Duration, log *slog.Logger) *RedisCache {
	return &RedisCache{client: client, prefix: prefix, ttl: ttl, log: log}
}

// Get implements graphql.Cache: one GETEX round trip.
func (c *RedisCache) Get(ctx context.Context, key string) (string, bool) {
	v, err := c.client.GetEx(ctx, c.prefix+key, c.ttl).Result()
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			c.log.WarnContext(ctx, "graphql: reading a persisted query from redis", "err", err)
		}
		return "", false
	}
	return v, true
}

// Add implements graphql.Cache.
func (c *RedisCache) Add(ctx context.Context, key, value string) {
	if err := c.client.Set(ctx, c.prefix+key, value, c.ttl).Err(); err != nil {
		c.log.WarnContext(ctx, "graphql: storing a persisted query in redis", "err", err)
	}
}

// Codes of the trusted documents mode.
const (
	// CodePersistedQueryNotFound is the code of an unknown hash (as APQ's).
	CodePersistedQueryNotFound = "PERSISTED_QUERY_NOT_FOUND"
	// CodeNotTrusted is the code of a document that is not registered.
	CodeNotTrusted = "OPERATION_NOT_TRUSTED"
)

// trustedDocuments runs only registered documents: a request names one by
// the SHA-256 of its text (extensions.persistedQuery.sha256Hash, as APQ
// clients send it), or sends a text whose hash is registered. Nothing
// else runs, and nothing is added: this is how a released mobile app's
// operations are locked.
type trustedDocuments struct {
	// docs maps the hex SHA-256 of each document to its text.
	docs map[string]string
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = trustedDocuments{}

// ExtensionName implements graphql.HandlerExtension.
func (trustedDocuments) ExtensionName() string { return "TrustedDocuments" }

// Validate implements graphql.HandlerExtension: every key must be the hash
// of its document.
func (t trustedDocuments) Validate(graphql.ExecutableSchema) error {
	for hash, doc := range t.docs {
		if documentHash(doc) != hash {
			return errors.New("graph: a trusted document is registered under a hash that is not its SHA-256: " + hash)
		}
	}
	return nil
}

// MutateOperationParameters implements graphql.OperationParameterMutator.
func (t trustedDocuments) MutateOperationParameters(_ context.Context, params *graphql.RawParams) *gqlerror.Error {
	hash := ""
	if pq, ok := params.Extensions["persistedQuery"].(map[string]any); ok {
		hash, _ = pq["sha256Hash"].(string)
	}
	if params.Query == "" {
		doc, ok := t.docs[hash]
		if !ok {
			err := gqlerror.Errorf("PersistedQueryNotFound")
			errcode.Set(err, CodePersistedQueryNotFound)
			return err
		}
		params.Query = doc
		return nil
	}
	if _, ok := t.docs[documentHash(params.Query)]; !ok || hash != "" && hash != documentHash(params.Query) {
		err := gqlerror.Errorf("only registered operations may run on this server")
		errcode.Set(err, CodeNotTrusted)
		return err
	}
	return nil
}

// documentHash is the hex SHA-256 of a document, as APQ computes it.
func documentHash(doc string) string {
	sum := sha256.Sum256([]byte(doc))
	return hex.EncodeToString(sum[:])
}

// TrustedDocumentsOf returns documents keyed by their hashes, ready for
// Config.TrustedDocuments.
func TrustedDocumentsOf(docs ...string) map[string]string {
	out := make(map[string]string, len(docs))
	for _, d := range docs {
		out[documentHash(d)] = d
	}
	return out
}
