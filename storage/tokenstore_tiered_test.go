package storage_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// tieredKit is a TieredTokenStore on a database and its own key prefix in
// the test Redis, with what a test needs to look behind it.
type tieredKit struct {
	s      *storage.TieredTokenStore
	c      redis.UniversalClient
	prefix string
}

// mustTieredKit returns a tieredKit whose Redis copies live cacheTTL.
func mustTieredKit(tb testing.TB, db *storage.DB, c redis.UniversalClient, cacheTTL time.Duration) tieredKit {
	tb.Helper()
	prefix := storagetest.MustRedisPrefix(tb, c)
	return tieredKit{s: storage.NewTieredTokenStore(storage.NewSQLTokenStore(db), storage.NewRedisTokenStore(c, prefix), cacheTTL),
		c: c, prefix: prefix}
}

// loseRedis deletes every key of the store from Redis, as a Redis restarted
// without persistence would have lost them.
func (k tieredKit) loseRedis(tb testing.TB) {
	tb.Helper()
	keys, err := storagetest.RedisKeys(tb.Context(), k.c, k.prefix)
	if err != nil {
		tb.Fatal(err)
	}
	for _, key := range keys {
		if err := k.c.Del(tb.Context(), key).Err(); err != nil {
			tb.Fatal(err)
		}
	}
}

// tokenKey returns the Redis key of a token.
func (k tieredKit) tokenKey(t *resource.Token) string {
	return k.prefix + "{" + t.FamilyID + "}:t:" + t.Hash
}

// cached reports whether Redis holds a copy of t.
func (k tieredKit) cached(tb testing.TB, t *resource.Token) bool {
	tb.Helper()
	n, err := k.c.Exists(tb.Context(), k.tokenKey(t)).Result()
	if err != nil {
		tb.Fatal(err)
	}
	return n == 1
}

// mustFind checks that t is live in the store.
func (k tieredKit) mustFind(tb testing.TB, t *resource.Token) {
	tb.Helper()
	got, err := k.s.FindToken(tb.Context(), t.FamilyID, t.Hash)
	if err != nil {
		tb.Fatalf("FindToken(%s): %v", t.Kind, err)
	}
	if got.Kind != t.Kind || got.ID != t.ID || got.DeviceID != t.DeviceID {
		tb.Fatalf("FindToken(%s) = %+v, want %+v", t.Kind, got, t)
	}
}

// mustBeGone checks that every token is unknown to the store, and that
// Redis holds no copy of it.
func (k tieredKit) mustBeGone(tb testing.TB, tokens ...*resource.Token) {
	tb.Helper()
	for _, t := range tokens {
		if _, err := k.s.FindToken(tb.Context(), t.FamilyID, t.Hash); resource.ErrorCode(err) != resource.ENotFound {
			tb.Fatalf("FindToken(%s) = %v, want ENotFound", t.Kind, err)
		}
		if k.cached(tb, t) {
			tb.Fatalf("Redis still holds a copy of the %s token", t.Kind)
		}
	}
}

// newDeviceFamily stores a new device token (a family of its own, like
// DeviceTokenService makes) and returns it.
func (k tieredKit) newDeviceFamily(tb testing.TB) *resource.Token {
	tb.Helper()
	deviceID := resource.NewID()
	f := &resource.TokenFamily{ID: resource.NewFamilyID(), ClientID: resource.DeviceTokenClientID(deviceID),
		CustomerID: resource.NewID(), DeviceID: deviceID}
	_, t := issueTestToken(f, resource.TokenDevice, resource.DeviceTokenPrefix, time.Time{})
	t.DeviceID, t.ID, t.Name, t.Scope = deviceID, resource.NewID(), "sensor", ""
	if err := k.s.CreateFamily(tb.Context(), f, t); err != nil {
		tb.Fatal(err)
	}
	return t
}

// newGrant stores a new user grant with an access and a refresh token.
func (k tieredKit) newGrant(tb testing.TB) (f *resource.TokenFamily, access, refresh *resource.Token) {
	tb.Helper()
	f = &resource.TokenFamily{ID: resource.NewFamilyID(), ClientID: resource.NewID(), CustomerID: resource.NewID(),
		UserID: resource.NewID(), ExpiresAt: time.Now().Add(24 * time.Hour)}
	_, access = issueTestToken(f, resource.TokenAccess, resource.AccessTokenPrefix, time.Now().Add(time.Hour))
	_, refresh = issueTestToken(f, resource.TokenRefresh, resource.RefreshTokenPrefix, f.ExpiresAt)
	if err := k.s.CreateFamily(tb.Context(), f, access, refresh); err != nil {
		tb.Fatal(err)
	}
	return f, access, refresh
}

// TestTieredTokenStoreRedisLoss stores tokens, empties Redis, and checks what
// survives: device and refresh tokens (with reuse detection), not access
// tokens; revoked tokens stay revoked, and revocations after the loss reach
// the copies made since.
func TestTieredTokenStoreRedisLoss(t *testing.T) {
	c := storagetest.MustOpenRedis(t)
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		k := mustTieredKit(t, db, c, storage.DefaultTokenCacheTTL)
		ctx := t.Context()
		device, byClient, byToken := k.newDeviceFamily(t), k.newDeviceFamily(t), k.newDeviceFamily(t)
		revokedDevice := k.newDeviceFamily(t)
		if _, err := k.s.RevokeToken(ctx, revokedDevice.FamilyID, revokedDevice.Hash); err != nil {
			t.Fatal(err)
		}
		f, access, refresh := k.newGrant(t)
		_, revokedAccess, revokedRefresh := k.newGrant(t)
		if _, err := k.s.RevokeToken(ctx, revokedRefresh.FamilyID, revokedRefresh.Hash); err != nil {
			t.Fatal(err)
		}
		userFamily, userAccess, userRefresh := k.newGrant(t)

		k.loseRedis(t)

		t.Run("DeviceToken", func(t *testing.T) {
			k.mustFind(t, device)
			if !k.cached(t, device) {
				t.Fatal("the device token was not copied back to Redis")
			}
			ttl := k.c.PTTL(ctx, k.tokenKey(device)).Val()
			if ttl <= storage.DefaultTokenCacheTTL*3/4-time.Minute || ttl > storage.DefaultTokenCacheTTL {
				t.Fatalf("the copy lives %v, want at most %v (less a quarter at most)", ttl, storage.DefaultTokenCacheTTL)
			}
			k.mustFind(t, device)
		})
		t.Run("AccessTokenLost", func(t *testing.T) {
			_, err := k.s.FindToken(ctx, access.FamilyID, access.Hash)
			if resource.ErrorCode(err) != resource.ENotFound {
				t.Fatalf("access token after the loss: %v, want ENotFound", err)
			}
		})
		t.Run("RefreshToken", func(t *testing.T) {
			k.mustFind(t, refresh)
			_, nextAccess := issueTestToken(f, resource.TokenAccess, resource.AccessTokenPrefix, time.Now().Add(time.Hour))
			_, nextRefresh := issueTestToken(f, resource.TokenRefresh, resource.RefreshTokenPrefix, f.ExpiresAt)
			if _, err := k.s.RotateRefresh(ctx, f.ID, refresh.Hash, f.ClientID, 0, nextAccess, nextRefresh); err != nil {
				t.Fatalf("rotate after the loss: %v", err)
			}
			k.mustFind(t, nextAccess)
			k.mustFind(t, nextRefresh)
			k.mustBeGone(t, refresh)
			// Reuse is still detected: the rotation records are in SQL.
			_, err := k.s.RotateRefresh(ctx, f.ID, refresh.Hash, f.ClientID, 0)
			if resource.ErrorCode(err) != resource.EConflict {
				t.Fatalf("replay after the loss: %v, want EConflict", err)
			}
			k.mustBeGone(t, nextAccess, nextRefresh)
		})
		t.Run("Revoked", func(t *testing.T) {
			k.mustBeGone(t, revokedDevice, revokedAccess, revokedRefresh)
		})
		// Copies made after the loss are in no Redis index; revocations
		// find them through SQL.
		t.Run("RevokeClientAfterRefill", func(t *testing.T) {
			k.mustFind(t, byClient)
			if err := k.s.RevokeClient(ctx, resource.DeviceTokenClientID(byClient.DeviceID)); err != nil {
				t.Fatal(err)
			}
			k.mustBeGone(t, byClient)
		})
		t.Run("RevokeTokenAfterRefill", func(t *testing.T) {
			k.mustFind(t, byToken)
			if _, err := k.s.RevokeToken(ctx, byToken.FamilyID, byToken.Hash); err != nil {
				t.Fatal(err)
			}
			k.mustBeGone(t, byToken)
		})
		t.Run("RevokeUserAfterRefill", func(t *testing.T) {
			k.mustFind(t, userRefresh)
			if err := k.s.RevokeUser(ctx, userFamily.UserID, ""); err != nil {
				t.Fatal(err)
			}
			k.mustBeGone(t, userAccess, userRefresh)
		})
	})
}

// TestTieredTokenStoreCopiesExpire checks that a copy lives at most the
// cache lifetime, and is made again from SQL after it.
func TestTieredTokenStoreCopiesExpire(t *testing.T) {
	c := storagetest.MustOpenRedis(t)
	k := mustTieredKit(t, storagetest.MustOpenDB(t, storage.SQLite), c, 400*time.Millisecond)
	device := k.newDeviceFamily(t)
	if !k.cached(t, device) {
		t.Fatal("a new device token is not in Redis")
	}
	time.Sleep(500 * time.Millisecond)
	if k.cached(t, device) {
		t.Fatal("the copy outlived the cache lifetime")
	}
	k.mustFind(t, device)
	if !k.cached(t, device) {
		t.Fatal("the device token was not copied again")
	}
}

// TestTieredTokenStoreFillRacesRevocation races the copy that a miss makes
// against revocations of the token: whichever wins, no copy may survive.
func TestTieredTokenStoreFillRacesRevocation(t *testing.T) {
	c := storagetest.MustOpenRedis(t)
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		k := mustTieredKit(t, db, c, storage.DefaultTokenCacheTTL)
		revokers := map[string]func(d *resource.Token) error{
			"Family": func(d *resource.Token) error { return k.s.RevokeFamily(t.Context(), d.FamilyID) },
			"Token": func(d *resource.Token) error {
				_, err := k.s.RevokeToken(t.Context(), d.FamilyID, d.Hash)
				return err
			},
			"Client": func(d *resource.Token) error {
				return k.s.RevokeClient(t.Context(), resource.DeviceTokenClientID(d.DeviceID))
			},
		}
		for name, revoke := range revokers {
			t.Run(name, func(t *testing.T) {
				for range 40 {
					d := k.newDeviceFamily(t)
					if err := k.c.Del(t.Context(), k.tokenKey(d)).Err(); err != nil { // a miss
						t.Fatal(err)
					}
					var findErr, revokeErr error
					var wg sync.WaitGroup
					wg.Go(func() { _, findErr = k.s.FindToken(t.Context(), d.FamilyID, d.Hash) })
					wg.Go(func() { revokeErr = revoke(d) })
					wg.Wait()
					if revokeErr != nil {
						t.Fatalf("revoke: %v", revokeErr)
					}
					if findErr != nil && resource.ErrorCode(findErr) != resource.ENotFound {
						t.Fatalf("find: %v", findErr)
					}
					k.mustBeGone(t, d)
				}
			})
		}
	})
}

// TestTieredTokenStoreCommands counts the Redis commands of FindToken: a
// token in Redis (access or device) costs one GET; a miss copies the token
// with one script; an unknown token costs one GET and writes nothing.
func TestTieredTokenStoreCommands(t *testing.T) {
	c := storagetest.MustOpenRedis(t)
	log := &commandLog{}
	c.AddHook(log)
	k := mustTieredKit(t, storagetest.MustOpenDB(t, storage.SQLite), c, storage.DefaultTokenCacheTTL)
	if err := storage.NewRedisTokenStore(c, k.prefix).LoadScripts(t.Context()); err != nil {
		t.Fatal(err)
	}
	device := k.newDeviceFamily(t)
	_, access, _ := k.newGrant(t)
	unknown := *access
	unknown.Hash = resource.KeyedHash([]byte("another key"), "agat_random")
	find := func(tok *resource.Token, code string) func(t *testing.T) {
		return func(t *testing.T) {
			t.Helper()
			if _, err := k.s.FindToken(t.Context(), tok.FamilyID, tok.Hash); resource.ErrorCode(err) != code {
				t.Fatalf("FindToken: %v, want code %q", err, code)
			}
		}
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T)
		op    func(t *testing.T)
		want  []string
	}{
		{"Access", nil, find(access, ""), []string{"get"}},
		{"Device", nil, find(device, ""), []string{"get"}},
		{"DeviceMiss", func(t *testing.T) { k.c.Del(t.Context(), k.tokenKey(device)) }, find(device, ""), []string{"get", "evalsha"}},
		{"DeviceAfterMiss", nil, find(device, ""), []string{"get"}},
		{"Unknown", nil, find(&unknown, resource.ENotFound), []string{"get"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup(t)
			}
			before, err := storagetest.RedisKeys(t.Context(), k.c, k.prefix)
			if err != nil {
				t.Fatal(err)
			}
			log.take()
			tc.op(t)
			if got := log.take(); !slices.Equal(got, tc.want) {
				t.Fatalf("commands %q, want %q", got, tc.want)
			}
			if tc.name == "Unknown" {
				after, err := storagetest.RedisKeys(context.Background(), k.c, k.prefix)
				if err != nil {
					t.Fatal(err)
				}
				if len(after) != len(before) {
					t.Fatalf("an unknown token left %d keys in Redis", len(after)-len(before))
				}
			}
		})
	}
}

func BenchmarkTieredFindToken(b *testing.B) {
	k := mustTieredKit(b, storagetest.MustOpenDB(b, storage.SQLite), storagetest.MustOpenRedis(b), storage.DefaultTokenCacheTTL)
	benchFindToken(b, k.s)
}

// BenchmarkTieredFindTokenUnknown measures what a token unknown to both
// tiers costs (a Redis GET and an SQL look-up by primary key), on each
// database.
func BenchmarkTieredFindTokenUnknown(b *testing.B) {
	c := storagetest.MustOpenRedis(b)
	for _, dialect := range storagetest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			if dialect == storage.Postgres {
				storagetest.RequireEnv(b, storagetest.DatabaseURLEnv)
			}
			k := mustTieredKit(b, storagetest.MustOpenDB(b, dialect), c, storage.DefaultTokenCacheTTL)
			familyID := resource.NewFamilyID()
			hash := resource.KeyedHash([]byte("server key"), resource.NewToken(resource.DeviceTokenPrefix, familyID))
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.s.FindToken(ctx, familyID, hash); resource.ErrorCode(err) != resource.ENotFound {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestTieredTokenStoreImportRedis stores tokens as versions before the
// tiered store did (in Redis only), imports them, empties Redis, and checks
// that the device and refresh tokens work, reuse of a refresh token rotated
// out before the import is still detected, and a second import adds nothing.
func TestTieredTokenStoreImportRedis(t *testing.T) {
	c := storagetest.MustOpenRedis(t)
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		k := mustTieredKit(t, db, c, storage.DefaultTokenCacheTTL)
		old := storage.NewRedisTokenStore(c, k.prefix)
		ctx := t.Context()
		deviceID := resource.NewID()
		d := &resource.TokenFamily{ID: resource.NewFamilyID(), ClientID: resource.DeviceTokenClientID(deviceID),
			CustomerID: resource.NewID(), DeviceID: deviceID}
		_, device := issueTestToken(d, resource.TokenDevice, resource.DeviceTokenPrefix, time.Time{})
		f := &resource.TokenFamily{ID: resource.NewFamilyID(), ClientID: resource.NewID(), CustomerID: resource.NewID(),
			UserID: resource.NewID(), ExpiresAt: time.Now().Add(24 * time.Hour)}
		_, access := issueTestToken(f, resource.TokenAccess, resource.AccessTokenPrefix, time.Now().Add(time.Hour))
		_, first := issueTestToken(f, resource.TokenRefresh, resource.RefreshTokenPrefix, f.ExpiresAt)
		_, second := issueTestToken(f, resource.TokenRefresh, resource.RefreshTokenPrefix, f.ExpiresAt)
		a := &resource.TokenFamily{ID: resource.NewFamilyID(), ClientID: resource.NewID(), CustomerID: resource.NewID()}
		_, appToken := issueTestToken(a, resource.TokenAccess, resource.AccessTokenPrefix, time.Now().Add(time.Hour))
		for _, g := range []struct {
			f *resource.TokenFamily
			t []*resource.Token
		}{{d, []*resource.Token{device}}, {f, []*resource.Token{access, first}}, {a, []*resource.Token{appToken}}} {
			if err := old.CreateFamily(ctx, g.f, g.t...); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := old.RotateRefresh(ctx, f.ID, first.Hash, f.ClientID, 0, second); err != nil {
			t.Fatal(err)
		}

		got, err := k.s.ImportRedisTokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := (storage.ImportResult{Families: 2, Tokens: 2, Rotations: 1}); got != want {
			t.Fatalf("import = %+v, want %+v", got, want)
		}
		if ttl := c.PTTL(ctx, k.tokenKey(device)).Val(); ttl <= 0 || ttl > storage.DefaultTokenCacheTTL {
			t.Fatalf("the device token's key lives %v after the import, want at most %v", ttl, storage.DefaultTokenCacheTTL)
		}
		if again, err := k.s.ImportRedisTokens(ctx); err != nil || again != (storage.ImportResult{}) {
			t.Fatalf("second import = %+v, %v; want nothing", again, err)
		}

		k.loseRedis(t)
		k.mustFind(t, device)
		k.mustFind(t, second)
		for _, tok := range []*resource.Token{access, appToken} {
			if _, err := k.s.FindToken(ctx, tok.FamilyID, tok.Hash); resource.ErrorCode(err) != resource.ENotFound {
				t.Fatalf("access token after the import and the loss: %v, want ENotFound", err)
			}
		}
		_, err = k.s.RotateRefresh(ctx, f.ID, first.Hash, f.ClientID, 0)
		if resource.ErrorCode(err) != resource.EConflict {
			t.Fatalf("replay of a token rotated out before the import: %v, want EConflict", err)
		}
		k.mustBeGone(t, second)
	})
}
