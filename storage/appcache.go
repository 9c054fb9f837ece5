package storage

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/assetgate/assetgate/resource"
)

// appCacheMax bounds the cache; past it, the cache starts afresh.
const appCacheMax = 10_000

// CachedApplicationStore keeps recently read applications in memory for a
// short time, so that client authentication at the token and introspection
// endpoints does not cost a database query every time. Every write through
// it evicts the application at once in this process and, when a Redis client
// is given, in every other replica too, through Redis pub/sub. TTL bounds how
// long a replica that missed an invalidation (its pub/sub connection was
// down) can serve a stale application; after a reconnect the whole cache is
// dropped.
type CachedApplicationStore struct {
	resource.ApplicationStore
	ttl     time.Duration
	redis   redis.UniversalClient
	channel string
	now     func() time.Time

	mu      sync.Mutex
	entries map[string]appEntry
}

type appEntry struct {
	app     *resource.Application
	expires time.Time
}

var _ resource.ApplicationStore = (*CachedApplicationStore)(nil)

// NewCachedApplicationStore wraps inner with a cache of the given TTL. rc may
// be nil (a single process: invalidation is local only); prefix names the
// Redis invalidation channel.
func NewCachedApplicationStore(inner resource.ApplicationStore, ttl time.Duration, rc redis.UniversalClient, prefix string) *CachedApplicationStore {
	return &CachedApplicationStore{
		ApplicationStore: inner, ttl: ttl, redis: rc, channel: prefix + "invalidate:applications",
		now: time.Now, entries: map[string]appEntry{},
	}
}

// FindApplication returns a cached copy of the application when it was read
// less than TTL ago, and reads it from the store otherwise. ENotFound.
func (s *CachedApplicationStore) FindApplication(ctx context.Context, id string) (*resource.Application, error) {
	now := s.now()
	s.mu.Lock()
	e, ok := s.entries[id]
	s.mu.Unlock()
	if ok && now.Before(e.expires) {
		return cloneApp(e.app), nil
	}
	a, err := s.ApplicationStore.FindApplication(ctx, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if len(s.entries) >= appCacheMax {
		s.entries = map[string]appEntry{}
	}
	s.entries[id] = appEntry{app: cloneApp(a), expires: now.Add(s.ttl)}
	s.mu.Unlock()
	return a, nil
}

// UpdateApplication writes a through to the store and evicts it everywhere.
func (s *CachedApplicationStore) UpdateApplication(ctx context.Context, a *resource.Application) error {
	err := s.ApplicationStore.UpdateApplication(ctx, a)
	s.invalidate(ctx, a.ID)
	return err
}

// DeleteApplication deletes the application and evicts it everywhere.
func (s *CachedApplicationStore) DeleteApplication(ctx context.Context, id string) error {
	err := s.ApplicationStore.DeleteApplication(ctx, id)
	s.invalidate(ctx, id)
	return err
}

// invalidate evicts id here and tells the other replicas to do the same.
func (s *CachedApplicationStore) invalidate(ctx context.Context, id string) {
	s.evict(id)
	if s.redis != nil {
		// A lost message is bounded by the TTL; the write itself succeeded.
		_ = s.redis.Publish(context.WithoutCancel(ctx), s.channel, id).Err()
	}
}

func (s *CachedApplicationStore) evict(id string) {
	s.mu.Lock()
	delete(s.entries, id)
	s.mu.Unlock()
}

func (s *CachedApplicationStore) flush() {
	s.mu.Lock()
	s.entries = map[string]appEntry{}
	s.mu.Unlock()
}

// Listen applies other replicas' invalidations until ctx is done. Without
// Redis it returns at once. Each (re)subscription drops the whole cache,
// since invalidations may have been missed while the connection was down.
func (s *CachedApplicationStore) Listen(ctx context.Context) {
	if s.redis == nil {
		return
	}
	ps := s.redis.Subscribe(ctx, s.channel)
	defer ps.Close()
	for {
		msg, err := ps.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			s.flush()
		case *redis.Message:
			s.evict(m.Payload)
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			s.flush()
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}

// cloneApp returns a deep copy of a, so callers can change what they get
// without changing the cache.
func cloneApp(a *resource.Application) *resource.Application {
	c := *a
	c.GrantTypes = slices.Clone(a.GrantTypes)
	c.RedirectURIs = slices.Clone(a.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(a.PostLogoutRedirectURIs)
	c.Scopes = slices.Clone(a.Scopes)
	return &c
}
