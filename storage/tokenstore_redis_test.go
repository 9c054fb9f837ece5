package storage_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestRedisTokenStoreKeys checks the key layout: every key of a family is in
// its Cluster slot (hash tag), and the TTLs follow the lifetimes.
func TestRedisTokenStoreKeys(t *testing.T) {
	c := storagetest.MustOpenRedis(t)
	prefix := storagetest.MustRedisPrefix(t, c)
	s := storage.NewRedisTokenStore(c, prefix)
	ctx := t.Context()
	f := &resource.TokenFamily{ID: resource.NewFamilyID(), ClientID: resource.NewID(), CustomerID: resource.NewID(),
		UserID: resource.NewID(), ExpiresAt: time.Now().Add(24 * time.Hour)}
	_, access := issueTestToken(f, resource.TokenAccess, resource.AccessTokenPrefix, time.Now().Add(time.Hour))
	_, refresh := issueTestToken(f, resource.TokenRefresh, resource.RefreshTokenPrefix, f.ExpiresAt)
	d := &resource.TokenFamily{ID: resource.NewFamilyID(), ClientID: f.ClientID, CustomerID: f.CustomerID, DeviceID: resource.NewID()}
	_, device := issueTestToken(d, resource.TokenDevice, resource.DeviceTokenPrefix, time.Time{})
	for _, g := range []struct {
		f *resource.TokenFamily
		t []*resource.Token
	}{{f, []*resource.Token{access, refresh}}, {d, []*resource.Token{device}}} {
		if err := s.CreateFamily(ctx, g.f, g.t...); err != nil {
			t.Fatal(err)
		}
	}
	ttl := func(key string) time.Duration {
		t.Helper()
		d, err := c.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	near := func(key string, want time.Duration) {
		t.Helper()
		if got := ttl(key); got > want+time.Second || got < want-time.Minute {
			t.Errorf("TTL of %s = %v, want about %v", key, got, want)
		}
	}
	near(prefix+"{"+f.ID+"}:t:"+access.Hash, time.Hour)
	near(prefix+"{"+f.ID+"}:t:"+refresh.Hash, 24*time.Hour)
	near(prefix+"{"+f.ID+"}:f", 24*time.Hour)
	near(prefix+"{"+f.ID+"}:m", 24*time.Hour)
	near(prefix+"user:"+f.UserID, 24*time.Hour)
	// The client's index lives as long as its longest family: the device
	// family has no deadline.
	if got := ttl(prefix + "client:" + f.ClientID); got != -1 {
		t.Errorf("TTL of the client index = %v, want none", got)
	}
	if got := ttl(prefix + "{" + d.ID + "}:t:" + device.Hash); got != -1 {
		t.Errorf("TTL of a device token without expiry = %v, want none", got)
	}
	for k := range redisDump(t, c, prefix) {
		rest := strings.TrimPrefix(k, prefix)
		if strings.HasPrefix(rest, "client:") || strings.HasPrefix(rest, "user:") {
			continue
		}
		if !strings.HasPrefix(rest, "{"+f.ID+"}:") && !strings.HasPrefix(rest, "{"+d.ID+"}:") {
			t.Errorf("key %s does not start with a family hash tag", k)
		}
	}
}

// commandLog is a go-redis hook that records the commands a client sends.
type commandLog struct {
	mu    sync.Mutex
	names []string
}

func (l *commandLog) DialHook(next redis.DialHook) redis.DialHook { return next }

func (l *commandLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		l.add(cmd)
		return next(ctx, cmd)
	}
}

func (l *commandLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			l.add(cmd)
		}
		return next(ctx, cmds)
	}
}

func (l *commandLog) add(cmd redis.Cmder) {
	switch cmd.Name() {
	case "hello", "client", "auth", "select":
		// go-redis sets up a newly dialled connection with these; they are
		// not round trips of the store's operation.
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.names = append(l.names, cmd.Name())
}

// take returns the commands recorded so far and forgets them.
func (l *commandLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	names := l.names
	l.names = nil
	return names
}

// TestRedisTokenStoreCommands counts the commands of each operation: above
// all, FindToken (run on every authenticated request) is one GET.
func TestRedisTokenStoreCommands(t *testing.T) {
	c := storagetest.MustOpenRedis(t)
	log := &commandLog{}
	c.AddHook(log)
	s := storage.NewRedisTokenStore(c, storagetest.MustRedisPrefix(t, c))
	ctx := t.Context()
	// With the scripts cached, every write is a single EVALSHA.
	if err := s.LoadScripts(ctx); err != nil {
		t.Fatal(err)
	}
	f := &resource.TokenFamily{ID: resource.NewFamilyID(), ClientID: resource.NewID(), CustomerID: resource.NewID(),
		UserID: resource.NewID(), ExpiresAt: time.Now().Add(time.Hour)}
	_, access := issueTestToken(f, resource.TokenAccess, resource.AccessTokenPrefix, time.Now().Add(time.Hour))
	_, refresh := issueTestToken(f, resource.TokenRefresh, resource.RefreshTokenPrefix, f.ExpiresAt)
	_, next := issueTestToken(f, resource.TokenRefresh, resource.RefreshTokenPrefix, f.ExpiresAt)
	if err := s.CreateFamily(ctx, f, access, refresh); err != nil {
		t.Fatal(err)
	}
	log.take()
	for _, tc := range []struct {
		name string
		op   func() error
		want []string
	}{
		{"FindToken", func() error { _, err := s.FindToken(ctx, f.ID, access.Hash); return err }, []string{"get"}},
		{"FindTokenUnknown", func() error {
			_, err := s.FindToken(ctx, f.ID, next.Hash)
			if resource.ErrorCode(err) == resource.ENotFound {
				return nil
			}
			return err
		}, []string{"get"}},
		{"RotateRefresh", func() error {
			_, err := s.RotateRefresh(ctx, f.ID, refresh.Hash, f.ClientID, 0, next)
			return err
		}, []string{"hget", "evalsha"}},
		{"RevokeToken", func() error { _, err := s.RevokeToken(ctx, f.ID, access.Hash); return err }, []string{"evalsha"}},
		// A refresh token takes its family with it, and the family out
		// of the client and user indexes.
		{"RevokeTokenRefresh", func() error { _, err := s.RevokeToken(ctx, f.ID, next.Hash); return err }, []string{"evalsha", "zrem", "zrem"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.op(); err != nil {
				t.Fatal(err)
			}
			if got := log.take(); !slices.Equal(got, tc.want) {
				t.Fatalf("commands %q, want %q", got, tc.want)
			}
		})
	}
}
