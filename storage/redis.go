package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ParseRedisURL checks a Redis URL and returns options for go-redis'
// universal client. Accepted: redis://, rediss://, unix://, and a comma list
// of redis:// addresses for Cluster, or redis+sentinel://host:port,.../MASTER
// for Sentinel.
func ParseRedisURL(raw string) (*redis.UniversalOptions, error) {
	switch {
	case raw == "":
		return nil, errors.New("must not be empty")
	case strings.HasPrefix(raw, "redis+sentinel://"):
		rest := strings.TrimPrefix(raw, "redis+sentinel://")
		addrs, master, ok := strings.Cut(rest, "/")
		if !ok || master == "" || addrs == "" {
			return nil, errors.New("sentinel URL must be redis+sentinel://HOST:PORT[,HOST:PORT...]/MASTER")
		}
		return &redis.UniversalOptions{Addrs: strings.Split(addrs, ","), MasterName: master}, nil
	case strings.Contains(raw, ","):
		var addrs []string
		for _, part := range strings.Split(raw, ",") {
			o, err := redis.ParseURL(strings.TrimSpace(part))
			if err != nil {
				return nil, fmt.Errorf("cluster address %q: %v", part, err)
			}
			addrs = append(addrs, o.Addr)
		}
		return &redis.UniversalOptions{Addrs: addrs, IsClusterMode: true}, nil
	}
	o, err := redis.ParseURL(raw)
	if err != nil {
		return nil, err
	}
	return &redis.UniversalOptions{
		Addrs: []string{o.Addr}, DB: o.DB, Username: o.Username, Password: o.Password,
		TLSConfig: o.TLSConfig, Protocol: o.Protocol,
	}, nil
}

// DefaultRedisTimeout is the timeout of OpenRedis.
const DefaultRedisTimeout = time.Second

// OpenRedis connects to the Redis named by a URL (see ParseRedisURL) and
// checks that it answers; every command is bounded by DefaultRedisTimeout.
func OpenRedis(ctx context.Context, raw string) (redis.UniversalClient, error) {
	return OpenRedisTimeout(ctx, raw, DefaultRedisTimeout)
}

// OpenRedisTimeout is OpenRedis with every command (or pipeline, retries
// included) bounded by timeout. A Redis that stopped answering then fails
// a command with a time-out, which resource.ErrorCode reports as
// resource.EUnavailable, instead of holding the request: go-redis' own
// socket timeouts alone are retried (three times by default), and it
// ignores context deadlines unless told to respect them.
func OpenRedisTimeout(ctx context.Context, raw string, timeout time.Duration) (redis.UniversalClient, error) {
	if timeout <= 0 {
		return nil, errors.New("redis timeout must be positive")
	}
	opts, err := ParseRedisURL(raw)
	if err != nil {
		return nil, err
	}
	opts.PoolSize = 64
	opts.MinIdleConns = 4
	// The socket deadlines of a command are the earlier of these and the
	// deadline of its context, which commandDeadline sets; so is a wait
	// for a free connection of the pool, whose own limit comes later so
	// that the wait ends as a time-out of the context.
	opts.ContextTimeoutEnabled = true
	opts.ReadTimeout, opts.WriteTimeout = timeout, timeout
	opts.PoolTimeout = timeout + time.Second
	opts.DialTimeout = max(timeout, 2*time.Second)
	c := redis.NewUniversalClient(opts)
	c.AddHook(commandDeadline(timeout))
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("connect to redis: %w", err)
	}
	return c, nil
}

// commandDeadline is a go-redis hook that gives each command and each
// pipeline a context deadline d from its start, unless its context ends
// sooner. Subscriptions (PUBLISH aside) do not pass through it: their
// reads wait for messages as long as they must.
type commandDeadline time.Duration

// DialHook implements redis.Hook: dials keep the deadline of the command
// that needed them.
func (d commandDeadline) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook.
func (d commandDeadline) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		ctx, cancel := context.WithTimeout(ctx, time.Duration(d))
		defer cancel()
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook implements redis.Hook.
func (d commandDeadline) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		ctx, cancel := context.WithTimeout(ctx, time.Duration(d))
		defer cancel()
		return next(ctx, cmds)
	}
}

// RedisLogger is go-redis' internal logger (see redis.SetLogger) writing to
// a slog logger: the lines go-redis prints by itself (a failed dial, a
// connection it drops) become JSON records of the service's log, at warn
// level, instead of plain lines on stderr.
type RedisLogger struct {
	Log *slog.Logger
}

// Printf implements go-redis' logging interface.
func (l RedisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.Log.WarnContext(ctx, "go-redis", "message", strings.TrimSpace(fmt.Sprintf(format, v...)))
}
