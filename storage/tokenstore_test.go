package storage_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

func TestSQLTokenStore(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		storagetest.TestTokenStore(t, func(*testing.T) resource.TokenStore { return storage.NewSQLTokenStore(db) })
	})
}

func TestSQLEphemeralStore(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		storagetest.TestEphemeralStore(t, func(*testing.T) resource.EphemeralStore { return storage.NewSQLEphemeralStore(db) })
	})
}

func TestRedisTokenStore(t *testing.T) {
	c := storagetest.MustOpenRedis(t)
	storagetest.TestTokenStore(t, func(t *testing.T) resource.TokenStore {
		return storage.NewRedisTokenStore(c, storagetest.MustRedisPrefix(t, c))
	})
}

func TestTieredTokenStore(t *testing.T) {
	c := storagetest.MustOpenRedis(t)
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		storagetest.TestTokenStore(t, func(t *testing.T) resource.TokenStore {
			return storage.NewTieredTokenStore(storage.NewSQLTokenStore(db),
				storage.NewRedisTokenStore(c, storagetest.MustRedisPrefix(t, c)), storage.DefaultTokenCacheTTL)
		})
	})
}

func TestRedisEphemeralStore(t *testing.T) {
	c := storagetest.MustOpenRedis(t)
	storagetest.TestEphemeralStore(t, func(t *testing.T) resource.EphemeralStore {
		return storage.NewRedisEphemeralStore(c, storagetest.MustRedisPrefix(t, c))
	})
}

// redisDump returns every key under prefix with its value, TTL included, as
// text.
func redisDump(tb testing.TB, c redis.UniversalClient, prefix string) map[string]string {
	tb.Helper()
	ctx := tb.Context()
	keys, err := storagetest.RedisKeys(ctx, c, prefix)
	if err != nil {
		tb.Fatal(err)
	}
	dump := map[string]string{}
	for _, k := range keys {
		var v any
		switch typ := c.Type(ctx, k).Val(); typ {
		case "string":
			v, err = c.Get(ctx, k).Result()
		case "hash":
			v, err = c.HGetAll(ctx, k).Result()
		case "set":
			v, err = c.SMembers(ctx, k).Result()
		case "zset":
			v, err = c.ZRangeWithScores(ctx, k, 0, -1).Result()
		default:
			tb.Fatalf("key %s has unexpected type %s", k, typ)
		}
		if err != nil {
			tb.Fatal(err)
		}
		dump[k] = fmt.Sprint(v)
	}
	return dump
}

// issueTestToken returns a new raw token of kind in family f and what a
// store keeps of it.
func issueTestToken(f *resource.TokenFamily, kind resource.TokenKind, prefix string, exp time.Time) (raw string, t *resource.Token) {
	raw = resource.NewToken(prefix, f.ID)
	return raw, &resource.Token{
		Kind: kind, FamilyID: f.ID, Hash: resource.KeyedHash([]byte("server key"), raw),
		ClientID: f.ClientID, CustomerID: f.CustomerID, UserID: f.UserID, Scope: "me",
		IssuedAt: time.Now(), ExpiresAt: exp,
	}
}

// storeGrantForDump fills s with a rotated grant, a device token and an
// ephemeral value, and returns the raw tokens and the hash of one of them.
func storeGrantForDump(tb testing.TB, s resource.TokenStore, e resource.EphemeralStore) (raws []string, hash string) {
	tb.Helper()
	ctx := tb.Context()
	f := &resource.TokenFamily{ID: resource.NewFamilyID(), ClientID: resource.NewID(), CustomerID: resource.NewID(),
		UserID: resource.NewID(), ExpiresAt: time.Now().Add(time.Hour)}
	rawA, access := issueTestToken(f, resource.TokenAccess, resource.AccessTokenPrefix, time.Now().Add(time.Hour))
	rawR, refresh := issueTestToken(f, resource.TokenRefresh, resource.RefreshTokenPrefix, f.ExpiresAt)
	rawN, next := issueTestToken(f, resource.TokenRefresh, resource.RefreshTokenPrefix, f.ExpiresAt)
	if err := s.CreateFamily(ctx, f, access, refresh); err != nil {
		tb.Fatal(err)
	}
	if _, err := s.RotateRefresh(ctx, f.ID, refresh.Hash, f.ClientID, time.Minute, next); err != nil {
		tb.Fatal(err)
	}
	d := &resource.TokenFamily{ID: resource.NewFamilyID(), ClientID: f.ClientID, CustomerID: f.CustomerID, DeviceID: resource.NewID()}
	rawD, device := issueTestToken(d, resource.TokenDevice, resource.DeviceTokenPrefix, time.Time{})
	if err := s.CreateFamily(ctx, d, device); err != nil {
		tb.Fatal(err)
	}
	if err := e.Put(ctx, "session:"+access.Hash, []byte("state"), time.Minute); err != nil {
		tb.Fatal(err)
	}
	return []string{rawA, rawR, rawN, rawD}, refresh.Hash
}

// checkNoRawToken fails when dump contains a raw token or its secret part,
// and checks that it does contain hash (so the dump is real).
func checkNoRawToken(tb testing.TB, dump, hash string, raws []string) {
	tb.Helper()
	if !strings.Contains(dump, hash) {
		tb.Fatalf("the dump does not contain the rotated token's hash; dump:\n%s", dump)
	}
	for _, raw := range raws {
		if strings.Contains(dump, raw) || strings.Contains(dump, raw[len(raw)-43:]) {
			tb.Fatalf("the store holds the raw token %s", raw[:10])
		}
	}
}

func TestRedisTokenStoreNoRawToken(t *testing.T) {
	c := storagetest.MustOpenRedis(t)
	prefix := storagetest.MustRedisPrefix(t, c)
	raws, hash := storeGrantForDump(t, storage.NewRedisTokenStore(c, prefix), storage.NewRedisEphemeralStore(c, prefix))
	var all strings.Builder
	for k, v := range redisDump(t, c, prefix) {
		fmt.Fprintf(&all, "%s = %s\n", k, v)
	}
	checkNoRawToken(t, all.String(), hash, raws)
}

func TestSQLTokenStoreNoRawToken(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		raws, hash := storeGrantForDump(t, storage.NewSQLTokenStore(db), storage.NewSQLEphemeralStore(db))
		var all strings.Builder
		for _, table := range []string{"token_families", "tokens", "token_rotations", "ephemeral"} {
			rows, err := db.QueryxContext(t.Context(), `SELECT * FROM `+table)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				cols, err := rows.SliceScan()
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range cols {
					if b, ok := v.([]byte); ok {
						v = string(b)
					}
					fmt.Fprintf(&all, "%v|", v)
				}
				all.WriteString("\n")
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
		}
		checkNoRawToken(t, all.String(), hash, raws)
	})
}

// TestSQLTokenStoreSweep moves the clock 2 h ahead and checks that a sweep
// deletes exactly what has expired by then.
func TestSQLTokenStoreSweep(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		s, e := storage.NewSQLTokenStore(db), storage.NewSQLEphemeralStore(db)
		ctx := t.Context()
		now := time.Now()
		family := func(exp time.Time, device bool) *resource.TokenFamily {
			f := &resource.TokenFamily{ID: resource.NewFamilyID(), ClientID: resource.NewID(), CustomerID: resource.NewID(), ExpiresAt: exp}
			if device {
				f.DeviceID = resource.NewID()
			}
			return f
		}
		mustCreate := func(f *resource.TokenFamily, tokens ...*resource.Token) {
			t.Helper()
			if err := s.CreateFamily(ctx, f, tokens...); err != nil {
				t.Fatal(err)
			}
		}
		// A: a rotated grant of 1 h, all gone by then.
		a := family(now.Add(time.Hour), false)
		_, aAccess := issueTestToken(a, resource.TokenAccess, resource.AccessTokenPrefix, now.Add(time.Hour))
		_, aRefresh := issueTestToken(a, resource.TokenRefresh, resource.RefreshTokenPrefix, a.ExpiresAt)
		_, aNext := issueTestToken(a, resource.TokenRefresh, resource.RefreshTokenPrefix, a.ExpiresAt)
		mustCreate(a, aAccess, aRefresh)
		if _, err := s.RotateRefresh(ctx, a.ID, aRefresh.Hash, a.ClientID, 0, aNext); err != nil {
			t.Fatal(err)
		}
		// B: a grant of 3 h whose access token (1 h) has expired.
		b := family(now.Add(3*time.Hour), false)
		_, bAccess := issueTestToken(b, resource.TokenAccess, resource.AccessTokenPrefix, now.Add(time.Hour))
		_, bRefresh := issueTestToken(b, resource.TokenRefresh, resource.RefreshTokenPrefix, b.ExpiresAt)
		mustCreate(b, bAccess, bRefresh)
		// C: a device family whose only token expired; D: one that never does.
		c := family(time.Time{}, true)
		_, cDevice := issueTestToken(c, resource.TokenDevice, resource.DeviceTokenPrefix, now.Add(time.Hour))
		mustCreate(c, cDevice)
		d := family(time.Time{}, true)
		_, dDevice := issueTestToken(d, resource.TokenDevice, resource.DeviceTokenPrefix, time.Time{})
		mustCreate(d, dDevice)
		for key, ttl := range map[string]time.Duration{"short": time.Hour, "long": 3 * time.Hour} {
			if err := e.Put(ctx, key, []byte(key), ttl); err != nil {
				t.Fatal(err)
			}
		}

		db.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
		n, err := s.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Tokens: A's access and rotated-in refresh token, B's access, C's
		// device token; families A and C; the short value. (Rows removed
		// by cascade, like A's rotation record, are not counted.)
		if n != 7 {
			t.Errorf("Sweep deleted %d rows, want 7", n)
		}
		for table, want := range map[string]int{"tokens": 2, "token_families": 2, "token_rotations": 0, "ephemeral": 1} {
			var got int
			if err := db.GetContext(ctx, &got, `SELECT COUNT(*) FROM `+table); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s has %d rows after the sweep, want %d", table, got, want)
			}
		}
		if n, err := s.Sweep(ctx); err != nil || n != 0 {
			t.Errorf("second Sweep = %d, %v; want 0", n, err)
		}
		db.Now = time.Now
		for _, tok := range []*resource.Token{bRefresh, dDevice} {
			if _, err := s.FindToken(ctx, tok.FamilyID, tok.Hash); err != nil {
				t.Errorf("FindToken after the sweep: %v", err)
			}
		}
	})
}

// TestSweepFamilySessionsInBatches: the login sessions of token families
// (OpenID Connect) are swept once expired, whichever store holds the
// tokens, in batches no larger than the store's: 7 expired records with a
// batch of 3 go in statements of 3, 3 and 1; the live ones stay and are
// still found.
func TestSweepFamilySessionsInBatches(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		ctx := t.Context()
		s, o := storage.NewSQLTokenStore(db), storage.NewOIDCStore(db)
		var batches []int64
		storage.SetSweepBatch(s, 3, func(table string, n int64) {
			if table == "token_family_sessions" {
				batches = append(batches, n)
			}
		})
		now := time.Now()
		user, client := resource.NewID(), resource.NewID()
		var live []string
		for i := range 9 {
			fs := &resource.FamilySession{FamilyID: resource.NewFamilyID(), UserID: user, ClientID: client, SID: "sid-" + resource.NewID(),
				AuthTime: now, ExpiresAt: now.Add(time.Hour)}
			if i >= 7 {
				fs.ExpiresAt = now.Add(3 * time.Hour)
				live = append(live, fs.FamilyID)
			}
			if err := o.PutFamilySession(ctx, fs); err != nil {
				t.Fatal(err)
			}
		}
		db.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
		defer func() { db.Now = time.Now }()
		n, err := s.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 7 || !slices.Equal(batches, []int64{3, 3, 1}) {
			t.Fatalf("Sweep deleted %d rows in batches %v, want 7 in [3 3 1]", n, batches)
		}
		var rows int
		if err := db.GetContext(ctx, &rows, `SELECT COUNT(*) FROM token_family_sessions`); err != nil {
			t.Fatal(err)
		}
		if rows != 2 {
			t.Fatalf("%d family sessions after the sweep, want the 2 live ones", rows)
		}
		for _, id := range live {
			if _, err := o.FindFamilySession(ctx, id); err != nil {
				t.Errorf("live family session %s after the sweep: %v", id, err)
			}
		}
		batches = nil
		if n, err := s.Sweep(ctx); err != nil || n != 0 || !slices.Equal(batches, []int64{0}) {
			t.Fatalf("second Sweep = %d, %v, batches %v; want 0 in one statement", n, err, batches)
		}
	})
}

func TestSQLTokenStoreRunSweeper(t *testing.T) {
	db := storagetest.MustOpenDB(t, storage.SQLite)
	s, e := storage.NewSQLTokenStore(db), storage.NewSQLEphemeralStore(db)
	if err := e.Put(t.Context(), "k", []byte("v"), 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	var errs []error
	go func() {
		defer close(done)
		s.RunSweeper(ctx, 20*time.Millisecond, func(err error) { errs = append(errs, err) })
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var rows int
		if err := db.GetContext(t.Context(), &rows, `SELECT COUNT(*) FROM ephemeral`); err != nil {
			t.Fatal(err)
		}
		if rows == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sweeper did not delete the expired value")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunSweeper did not stop with its context")
	}
	if len(errs) > 0 {
		t.Fatalf("sweep errors: %v", errs)
	}
}

// benchFindToken measures FindToken of one stored access token.
func benchFindToken(b *testing.B, s resource.TokenStore) {
	f := &resource.TokenFamily{ID: resource.NewFamilyID(), ClientID: resource.NewID(), CustomerID: resource.NewID(),
		UserID: resource.NewID(), ExpiresAt: time.Now().Add(time.Hour)}
	_, access := issueTestToken(f, resource.TokenAccess, resource.AccessTokenPrefix, time.Now().Add(time.Hour))
	access.Username = "someone@example.com"
	if err := s.CreateFamily(b.Context(), f, access); err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.FindToken(ctx, f.ID, access.Hash); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedisGet is the baseline of BenchmarkRedisFindToken: a bare GET
// of a value of the same size.
func BenchmarkRedisGet(b *testing.B) {
	c := storagetest.MustOpenRedis(b)
	key := storagetest.MustRedisPrefix(b, c) + "bench"
	if err := c.Set(b.Context(), key, strings.Repeat("x", 200), time.Hour).Err(); err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Get(ctx, key).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRedisFindToken(b *testing.B) {
	c := storagetest.MustOpenRedis(b)
	benchFindToken(b, storage.NewRedisTokenStore(c, storagetest.MustRedisPrefix(b, c)))
}

func BenchmarkSQLFindToken(b *testing.B) {
	benchFindToken(b, storage.NewSQLTokenStore(storagetest.MustOpenDB(b, storage.SQLite)))
}
