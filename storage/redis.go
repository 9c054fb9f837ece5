package storage

import (
	"context"
	"errors"
	"fmt"
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

// OpenRedis connects to the Redis named by a URL (see ParseRedisURL) and
// checks that it answers.
func OpenRedis(ctx context.Context, raw string) (redis.UniversalClient, error) {
	opts, err := ParseRedisURL(raw)
	if err != nil {
		return nil, err
	}
	opts.PoolSize = 64
	opts.MinIdleConns = 4
	c := redis.NewUniversalClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("connect to redis: %w", err)
	}
	return c, nil
}
