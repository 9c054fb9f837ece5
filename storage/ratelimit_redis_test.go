package storage_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// evalCounter counts the script calls a client sends.
type evalCounter struct{ n atomic.Int64 }

func (c *evalCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *evalCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if n := strings.ToLower(cmd.Name()); n == "evalsha" || n == "eval" {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (c *evalCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestRedisRateLimiterShared checks that two limiters on one Redis (two
// replicas) share a quota exactly when requests are rare, and that a busy
// key is counted in batches: far fewer Redis calls than requests, and never
// more requests than the quota.
func TestRedisRateLimiterShared(t *testing.T) {
	rc := storagetest.MustOpenRedis(t)
	prefix := storagetest.MustRedisPrefix(t, rc)
	a, b := storage.NewRedisRateLimiter(rc, prefix, nil), storage.NewRedisRateLimiter(rc, prefix, nil)
	ctx := t.Context()
	q := resource.Quota{Limit: 10, Window: time.Minute}
	allowed := 0
	for i := range 30 {
		l := a
		if i%2 == 1 {
			l = b
		}
		d, err := l.Take(ctx, "shared", q)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			allowed++
		} else if d.RetryAfter <= 0 || d.RetryAfter > 6*time.Second+time.Millisecond {
			t.Fatalf("refusal %+v: retry after one request's cost (6s)", d)
		}
	}
	if allowed != 10 {
		t.Fatalf("two replicas allowed %d requests of a 10/1m quota, want 10", allowed)
	}

	counter := &evalCounter{}
	counted := storagetest.MustOpenRedis(t)
	counted.AddHook(counter)
	busy := storage.NewRedisRateLimiter(counted, prefix, nil)
	other := storage.NewRedisRateLimiter(rc, prefix, nil)
	big := resource.Quota{Limit: 1000, Window: time.Hour}
	allowed = 0
	for range 1500 {
		for _, l := range []*storage.RedisRateLimiter{busy, other} {
			if d, _ := l.Take(ctx, "busy", big); d.Allowed {
				allowed++
			}
		}
	}
	if allowed > 1000 || allowed < 900 {
		t.Fatalf("two busy replicas allowed %d requests of a 1000/1h quota", allowed)
	}
	if calls := counter.n.Load(); calls > 100 {
		t.Fatalf("1500 requests of a busy key made %d Redis calls: not batched", calls)
	}
}

// TestRedisRateLimiterFallsBackToMemory checks that with Redis down the
// limiter still limits, on this replica alone, answers at once, and logs
// one warning.
func TestRedisRateLimiterFallsBackToMemory(t *testing.T) {
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { dead.Close() })
	logs := &testsupport.SyncBuffer{}
	l := storage.NewRedisRateLimiter(dead, "ag:", slog.New(slog.NewJSONHandler(logs, nil)))
	q := resource.Quota{Limit: 3, Window: time.Minute}
	start := time.Now()
	allowed := 0
	for range 10 {
		d, err := l.Take(t.Context(), "k", q)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			allowed++
		}
	}
	if allowed != 3 {
		t.Fatalf("without Redis %d of 10 allowed, want 3 (the replica's own count)", allowed)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("10 requests without Redis took %v", took)
	}
	if n := strings.Count(logs.String(), "Redis unavailable"); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, logs.String())
	}
}

// BenchmarkRedisRateLimiterBusyKey is what a request of a busy client or
// token pays for its quota counted in Redis: mostly a leased request
// handed out in memory, a Redis call every few dozen.
func BenchmarkRedisRateLimiterBusyKey(b *testing.B) {
	rc := storagetest.MustOpenRedis(b)
	l := storage.NewRedisRateLimiter(rc, storagetest.MustRedisPrefix(b, rc), nil)
	q := resource.Quota{Limit: 1_000_000_000, Window: time.Minute}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if d, _ := l.Take(ctx, "busy", q); !d.Allowed {
				b.Fatal("refused")
			}
		}
	})
}
