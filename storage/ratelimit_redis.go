package storage

import (
	"context"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/assetgate/assetgate/resource"
)

// luaGCRA counts up to ARGV[3] requests under KEYS[1] by the generic cell
// rate algorithm: the key holds the theoretical arrival time (TAT, in
// microseconds of the Redis server's clock, so that replicas' clocks do
// not matter); ARGV[1] is the cost of one request (the quota's window
// divided by its limit) and ARGV[2] the window, both in microseconds. It
// grants as many of the requests as the quota allows now, and returns
// {granted, remaining after them, microseconds until the quota is whole,
// microseconds until one more request is allowed}.
const luaGCRA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cost, window, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local avail = math.floor((now + window - tat) / cost)
local grant = math.min(want, avail)
if grant > 0 then
  tat = tat + grant * cost
  redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000) + 1)
end
local retry = 0
if avail - grant <= 0 then retry = tat + cost - window - now end
return {grant, avail - grant, tat - now, retry}
`

// RedisRateLimiter is the rate limiter shared by every replica: a GCRA in
// one Lua script per key in Redis.
//
// So that a busy key does not cost a Redis round trip per request, each
// replica leases requests in batches: a key seen for the first time asks
// for one; a key whose lease ran out within its second asks for twice as
// many next time (up to a twentieth of the quota, at most 128), and one
// whose lease expired unused asks for half. A quiet client is counted one
// request at a time, exactly; a busy one costs a Redis call every few
// dozen requests, and replicas together never pass the quota (leased
// requests count as spent). A refused key is refused by the replica itself
// until Redis said the next request would be allowed, so a flood past its
// quota costs Redis nothing.
//
// When Redis does not answer, the limiter counts in this replica's memory
// instead (each replica then limits on its own), skips Redis for a second,
// and logs a warning at most every 10 seconds. Requests that need Redis
// for anything else fail on their own; the limiter does not refuse them.
type RedisRateLimiter struct {
	c        redis.UniversalClient
	prefix   string
	script   *redis.Script
	fallback *resource.MemoryRateLimiter
	log      *slog.Logger
	now      func() time.Time

	seed      maphash.Seed
	shards    [64]leaseShard
	downUntil atomic.Int64 // unix nanoseconds; Redis is skipped before it
	warned    atomic.Int64 // unix nanoseconds of the last warning
}

type leaseShard struct {
	mu     sync.Mutex
	leases map[string]*lease
}

// lease is a replica's share of one key's quota.
type lease struct {
	mu        sync.Mutex
	units     int       // requests still to hand out
	expires   time.Time // after it, the units left are dropped
	next      int       // how many to ask for next time
	remaining int       // what Redis had left after the grant
	resetAt   time.Time // when the quota is whole again, as Redis said
	// blockedUntil is when Redis will next allow a request, after a
	// refusal: until then requests are refused here without asking.
	blockedUntil time.Time
}

// leaseLife is how long a replica may hand out leased requests.
const leaseLife = time.Second

// NewRedisRateLimiter returns a limiter on c whose keys start with
// prefix + "rl:"; log receives the warnings of a Redis that does not
// answer (nil discards them).
func NewRedisRateLimiter(c redis.UniversalClient, prefix string, log *slog.Logger) *RedisRateLimiter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &RedisRateLimiter{c: c, prefix: prefix + "rl:", script: redis.NewScript(luaGCRA),
		fallback: resource.NewMemoryRateLimiter(nil), log: log, now: time.Now, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].leases = map[string]*lease{}
	}
	return l
}

// maxLease is the largest batch a replica leases of q.
func maxLease(q resource.Quota) int { return min(128, max(1, q.Limit/20)) }

// Take implements resource.RateLimiter; it never fails (see the type).
func (l *RedisRateLimiter) Take(ctx context.Context, key string, q resource.Quota) (resource.RateDecision, error) {
	now := l.now()
	le := l.lease(key, now)
	le.mu.Lock()
	defer le.mu.Unlock()
	if le.units > 0 && now.Before(le.expires) {
		le.units--
		return resource.RateDecision{Allowed: true, Remaining: le.remaining + le.units, Reset: le.resetAt.Sub(now)}, nil
	}
	if now.Before(le.blockedUntil) {
		return resource.RateDecision{Reset: le.resetAt.Sub(now), RetryAfter: le.blockedUntil.Sub(now)}, nil
	}
	switch {
	case le.next == 0:
		le.next = 1
	case le.units == 0 && now.Before(le.expires.Add(leaseLife)):
		le.next = min(le.next*2, maxLease(q)) // used up quickly: busy
	case le.units > 0:
		le.next = max(1, le.next/2) // expired unused: quiet
	}
	le.units = 0
	if now.UnixNano() < l.downUntil.Load() {
		return l.fallback.TakeN(key, q, 1), nil
	}
	cost, window := q.Window/time.Duration(q.Limit), q.Window
	res, err := l.script.Run(ctx, l.c, []string{l.prefix + key},
		max(1, cost.Microseconds()), window.Microseconds(), le.next).Int64Slice()
	if err != nil || len(res) != 4 {
		l.unavailable(ctx, err)
		return l.fallback.TakeN(key, q, 1), nil
	}
	granted, remaining := int(res[0]), int(res[1])
	reset, retry := time.Duration(res[2])*time.Microsecond, time.Duration(res[3])*time.Microsecond
	if granted == 0 {
		retry = max(retry, time.Millisecond)
		le.next, le.blockedUntil, le.resetAt = 1, now.Add(retry), now.Add(reset)
		return resource.RateDecision{Remaining: 0, Reset: reset, RetryAfter: retry}, nil
	}
	le.units, le.expires, le.remaining, le.resetAt = granted-1, now.Add(leaseLife), remaining, now.Add(reset)
	return resource.RateDecision{Allowed: true, Remaining: remaining + le.units, Reset: reset}, nil
}

// lease returns the lease of key, made when missing.
func (l *RedisRateLimiter) lease(key string, now time.Time) *lease {
	sh := &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	le, ok := sh.leases[key]
	if ok {
		return le
	}
	if len(sh.leases) >= maxShardLeases {
		stale := now.Add(-2 * leaseLife)
		for k, v := range sh.leases {
			if v.mu.TryLock() {
				if v.expires.Before(stale) {
					delete(sh.leases, k)
				}
				v.mu.Unlock()
			}
		}
	}
	le = &lease{}
	sh.leases[key] = le
	return le
}

// maxShardLeases is how many keys a shard holds before it drops the
// leases that expired a while ago.
const maxShardLeases = 4096

// unavailable records a failed Redis call: Redis is skipped for a second
// (unless the request itself was canceled) and a warning is logged at most
// every 10 seconds.
func (l *RedisRateLimiter) unavailable(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	now := l.now().UnixNano()
	l.downUntil.Store(now + int64(time.Second))
	last := l.warned.Load()
	if now-last >= int64(10*time.Second) && l.warned.CompareAndSwap(last, now) {
		l.log.Warn("rate limit: Redis unavailable; limiting on this replica alone", "err", err)
	}
}
