package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/assetgate/assetgate/resource"
)

// RedisConnectionStore keeps device connection states in Redis, for every
// replica: per device, PREFIX conn:{device} holds the state as JSON and
// PREFIX conn:{device}:s its session; PREFIX conn:c:{customer} is the set
// of the customer's connected devices. States of disconnected devices
// expire after connectionTTL.
type RedisConnectionStore struct {
	c      redis.UniversalClient
	prefix string
	end    *redis.Script
}

var _ resource.ConnectionStore = (*RedisConnectionStore)(nil)

// connectionTTL is how long the state of a disconnected device is kept.
const connectionTTL = 30 * 24 * time.Hour

// NewRedisConnectionStore returns a RedisConnectionStore on c.
func NewRedisConnectionStore(c redis.UniversalClient, prefix string) *RedisConnectionStore {
	return &RedisConnectionStore{c: c, prefix: prefix + "conn:", end: redis.NewScript(luaEndConnection)}
}

// luaEndConnection: KEYS state, session (one Cluster slot); ARGV session,
// state JSON, ttl seconds. Writes the state only when the session is still
// ARGV[1].
const luaEndConnection = `
local s = redis.call('GET', KEYS[2])
if s and s ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
redis.call('DEL', KEYS[2])
return 1`

func redisError(op string, err error) error { return fmt.Errorf("%s: %w", op, err) }

func (s *RedisConnectionStore) keys(c *resource.DeviceConnection) (state, session, set string) {
	return s.prefix + "{" + c.DeviceID + "}", s.prefix + "{" + c.DeviceID + "}:s", s.prefix + "c:" + c.CustomerID
}

// PutConnection implements resource.ConnectionStore.
func (s *RedisConnectionStore) PutConnection(ctx context.Context, c *resource.DeviceConnection) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	state, session, set := s.keys(c)
	_, err = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, state, b, connectionTTL)
		if c.Connected {
			p.Set(ctx, session, c.Session, connectionTTL)
			p.SAdd(ctx, set, c.DeviceID)
		} else {
			p.SRem(ctx, set, c.DeviceID)
		}
		return nil
	})
	if err != nil {
		return redisError("put connection", err)
	}
	return nil
}

// EndConnection implements resource.ConnectionStore.
func (s *RedisConnectionStore) EndConnection(ctx context.Context, c *resource.DeviceConnection) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	state, session, set := s.keys(c)
	ended, err := s.end.Run(ctx, s.c, []string{state, session}, c.Session, b, int(connectionTTL/time.Second)).Int()
	if err != nil {
		return redisError("end connection", err)
	}
	if ended == 1 {
		if err := s.c.SRem(ctx, set, c.DeviceID).Err(); err != nil {
			return redisError("end connection", err)
		}
	}
	return nil
}

// FindConnections implements resource.ConnectionStore.
func (s *RedisConnectionStore) FindConnections(ctx context.Context, customerID string, ids []string) (map[string]*resource.DeviceConnection, error) {
	out := map[string]*resource.DeviceConnection{}
	if len(ids) == 0 {
		return out, nil
	}
	cmds := make([]*redis.StringCmd, len(ids))
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, s.prefix+"{"+id+"}")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, redisError("find connections", err)
	}
	for _, cmd := range cmds {
		b, err := cmd.Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		} else if err != nil {
			return nil, redisError("find connections", err)
		}
		var c resource.DeviceConnection
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("connection state: %w", err)
		}
		if c.CustomerID == customerID {
			out[c.DeviceID] = &c
		}
	}
	return out, nil
}

// ConnectedDevices implements resource.ConnectionStore.
func (s *RedisConnectionStore) ConnectedDevices(ctx context.Context, customerID string) ([]string, error) {
	ids, err := s.c.SMembers(ctx, s.prefix+"c:"+customerID).Result()
	if err != nil {
		return nil, redisError("connected devices", err)
	}
	return ids, nil
}

// RedisRelay carries messages between replicas over Redis pub/sub (the
// MQTT listener's resource calls and takeovers), on channels under its
// prefix.
type RedisRelay struct {
	c      redis.UniversalClient
	prefix string
}

// NewRedisRelay returns a RedisRelay on c.
func NewRedisRelay(c redis.UniversalClient, prefix string) *RedisRelay {
	return &RedisRelay{c: c, prefix: prefix + "relay:"}
}

// Publish sends msg on channel.
func (r *RedisRelay) Publish(ctx context.Context, channel string, msg []byte) error {
	if err := r.c.Publish(ctx, r.prefix+channel, msg).Err(); err != nil {
		return redisError("relay publish", err)
	}
	return nil
}

// Subscribe calls fn with every message of channel until ctx is done; it
// returns once the subscription is active.
func (r *RedisRelay) Subscribe(ctx context.Context, channel string, fn func([]byte)) error {
	ps := r.c.Subscribe(ctx, r.prefix+channel)
	if _, err := ps.Receive(ctx); err != nil {
		_ = ps.Close()
		return redisError("relay subscribe", err)
	}
	go func() {
		defer ps.Close()
		ch := ps.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				fn([]byte(m.Payload))
			}
		}
	}()
	return nil
}
