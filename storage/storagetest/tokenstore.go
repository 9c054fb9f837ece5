package storagetest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
)

// This file holds the contract suite of resource.TokenStore: every
// implementation (SQL, Redis) must pass it. The suite's own helpers hang off
// tokenKit so that they cannot clash with the other suites of this package.

// expiryWait is how long the expiry tests wait for a lifetime of
// shortLifetime to pass; Redis TTLs have millisecond precision.
const (
	shortLifetime = 1200 * time.Millisecond
	expiryWait    = 1500 * time.Millisecond
)

// tokenKit builds families and tokens for one store under test.
type tokenKit struct {
	s resource.TokenStore
}

// family returns a new family of clientID (and userID, "" for none) with
// deadline exp (zero for none). It is not stored.
func (k tokenKit) family(clientID, userID string, exp time.Time) *resource.TokenFamily {
	return &resource.TokenFamily{
		ID: resource.NewFamilyID(), ClientID: clientID, CustomerID: resource.NewID(),
		UserID: userID, ExpiresAt: exp,
	}
}

// token returns a new token of kind in f expiring at exp (zero for never),
// hashed as the server would hash it. It is not stored.
func (k tokenKit) token(f *resource.TokenFamily, kind resource.TokenKind, exp time.Time) *resource.Token {
	prefix := map[resource.TokenKind]string{resource.TokenAccess: resource.AccessTokenPrefix,
		resource.TokenRefresh: resource.RefreshTokenPrefix, resource.TokenDevice: resource.DeviceTokenPrefix}[kind]
	raw := resource.NewToken(prefix, f.ID)
	t := &resource.Token{
		Kind: kind, FamilyID: f.ID, Hash: resource.KeyedHash([]byte("storagetest server key"), raw),
		ClientID: f.ClientID, CustomerID: f.CustomerID, UserID: f.UserID, DeviceID: f.DeviceID,
		Scope: "me", IssuedAt: time.Now().UTC().Truncate(time.Microsecond), ExpiresAt: exp,
	}
	if f.UserID != "" {
		t.Username = "user-" + f.UserID + "@example.com"
	}
	if kind == resource.TokenDevice {
		t.ID, t.Name, t.Scope = resource.NewID(), "Sensor "+f.DeviceID, ""
		t.Permissions = []string{"device:read", "events:write"}
	}
	return t
}

// exp returns the expiry of a token of f living d from now, capped by the
// family's deadline as stores cap it.
func (k tokenKit) exp(f *resource.TokenFamily, d time.Duration) time.Time {
	exp := time.Now().Add(d)
	if !f.ExpiresAt.IsZero() && f.ExpiresAt.Before(exp) {
		return f.ExpiresAt
	}
	return exp
}

// grant creates a family of a new client with deadline famExp, an access
// token living 1 h (at most until famExp) and a refresh token living until
// famExp.
func (k tokenKit) grant(tb testing.TB, userID string, famExp time.Time) (f *resource.TokenFamily, access, refresh *resource.Token) {
	tb.Helper()
	f = k.family(resource.NewID(), userID, famExp)
	access = k.token(f, resource.TokenAccess, k.exp(f, time.Hour))
	refresh = k.token(f, resource.TokenRefresh, famExp)
	k.create(tb, f, access, refresh)
	return f, access, refresh
}

// create stores a family with its tokens.
func (k tokenKit) create(tb testing.TB, f *resource.TokenFamily, tokens ...*resource.Token) {
	tb.Helper()
	if err := k.s.CreateFamily(tb.Context(), f, tokens...); err != nil {
		tb.Fatalf("CreateFamily: %v", err)
	}
}

// found checks that want is live in the store, with every field intact.
func (k tokenKit) found(tb testing.TB, want *resource.Token) {
	tb.Helper()
	got, err := k.s.FindToken(tb.Context(), want.FamilyID, want.Hash)
	if err != nil {
		tb.Fatalf("FindToken(%s %s): %v", want.Kind, want.Hash[:8], err)
	}
	sameToken(tb, got, want)
}

// gone checks that every token is unknown to FindToken.
func (k tokenKit) gone(tb testing.TB, tokens ...*resource.Token) {
	tb.Helper()
	for _, want := range tokens {
		_, err := k.s.FindToken(tb.Context(), want.FamilyID, want.Hash)
		mustHaveCode(tb, err, resource.ENotFound)
	}
}

// list checks that ListFamilyTokens returns exactly the hashes of want, in
// order.
func (k tokenKit) list(tb testing.TB, familyID string, want ...*resource.Token) {
	tb.Helper()
	got, err := k.s.ListFamilyTokens(tb.Context(), familyID)
	if err != nil {
		tb.Fatalf("ListFamilyTokens: %v", err)
	}
	if len(got) != len(want) {
		tb.Fatalf("ListFamilyTokens: %d tokens, want %d", len(got), len(want))
	}
	for i := range want {
		sameToken(tb, got[i], want[i])
	}
}

// sameToken checks that got has every field of want (times at microsecond
// precision, nil and empty permissions alike).
func sameToken(tb testing.TB, got, want *resource.Token) {
	tb.Helper()
	if got == nil {
		tb.Fatal("token is nil")
	}
	g, w := *got, *want
	if !g.IssuedAt.Equal(w.IssuedAt.Truncate(time.Microsecond)) || !g.ExpiresAt.Equal(w.ExpiresAt.Truncate(time.Microsecond)) {
		tb.Fatalf("token times: issued %v expires %v, want %v and %v", g.IssuedAt, g.ExpiresAt, w.IssuedAt, w.ExpiresAt)
	}
	if !slices.Equal(g.Permissions, w.Permissions) {
		tb.Fatalf("token permissions: %q, want %q", g.Permissions, w.Permissions)
	}
	g.IssuedAt, g.ExpiresAt, g.Permissions = w.IssuedAt, w.ExpiresAt, w.Permissions
	if !reflect.DeepEqual(g, w) {
		tb.Fatalf("token:\n got %+v\nwant %+v", g, w)
	}
}

// mustHaveCode checks that err carries code.
func mustHaveCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := resource.ErrorCode(err); got != code {
		tb.Fatalf("error %v (code %q), want code %q", err, got, code)
	}
}

// TestTokenStore runs the contract of resource.TokenStore against stores
// made by newStore. Subtests run in parallel, and newStore is called once
// per subtest; stores may share one database or Redis, as every subtest uses
// its own clients, users and families.
func TestTokenStore(t *testing.T, newStore func(t *testing.T) resource.TokenStore) {
	run := func(name string, fn func(t *testing.T, k tokenKit)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, tokenKit{s: newStore(t)})
		})
	}
	run("CreateFamily", testCreateFamily)
	run("FindToken", testFindToken)
	run("Expiry", testTokenExpiry)
	run("RevokeToken", testRevokeToken)
	run("RotateRefresh", testRotateRefresh)
	run("RotateRefreshConcurrent", testRotateRefreshConcurrent)
	run("RotateRefreshRacesRevocation", testRotateRefreshRacesRevocation)
	run("RevokeFamily", testRevokeFamily)
	run("RevokeClient", testRevokeClient)
	run("RevokeUser", testRevokeUser)
	run("ListFamilyTokens", testListFamilyTokens)
}

func testCreateFamily(t *testing.T, k tokenKit) {
	t.Run("OK", func(t *testing.T) {
		_, access, refresh := k.grant(t, resource.NewID(), time.Now().Add(time.Hour))
		k.found(t, access)
		k.found(t, refresh)
	})
	t.Run("CapsTokenExpiry", func(t *testing.T) {
		f := k.family(resource.NewID(), "", time.Now().Add(time.Hour))
		long := k.token(f, resource.TokenAccess, time.Now().Add(48*time.Hour))
		never := k.token(f, resource.TokenAccess, time.Time{})
		k.create(t, f, long, never)
		for _, tok := range []*resource.Token{long, never} {
			want := *tok
			want.ExpiresAt = f.ExpiresAt
			k.found(t, &want)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		f, access, _ := k.grant(t, "", time.Now().Add(time.Hour))
		again := k.token(f, resource.TokenAccess, k.exp(f, time.Hour))
		mustHaveCode(t, k.s.CreateFamily(t.Context(), f, again), resource.EConflict)
		k.found(t, access)
		k.gone(t, again)
	})
}

func testFindToken(t *testing.T, k tokenKit) {
	f, access, _ := k.grant(t, resource.NewID(), time.Now().Add(time.Hour))
	t.Run("OK", func(t *testing.T) {
		k.found(t, access)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		k.gone(t, k.token(f, resource.TokenAccess, k.exp(f, time.Hour)))
	})
	t.Run("ErrOtherFamily", func(t *testing.T) {
		_, err := k.s.FindToken(t.Context(), resource.NewFamilyID(), access.Hash)
		mustHaveCode(t, err, resource.ENotFound)
	})
}

// testTokenExpiry checks every lifetime rule with a single wait.
func testTokenExpiry(t *testing.T, k tokenKit) {
	now := time.Now()
	// A family of 1 h whose refresh token expires first: its access token
	// lives on (an access token has its own lifetime).
	f1 := k.family(resource.NewID(), resource.NewID(), now.Add(time.Hour))
	access := k.token(f1, resource.TokenAccess, now.Add(time.Hour))
	refresh := k.token(f1, resource.TokenRefresh, now.Add(shortLifetime))
	past := k.token(f1, resource.TokenAccess, now.Add(-time.Second))
	k.create(t, f1, access, refresh, past)
	// A short family: its longer-lived token dies with it.
	f2 := k.family(resource.NewID(), "", now.Add(shortLifetime))
	capped := k.token(f2, resource.TokenAccess, now.Add(time.Hour))
	k.create(t, f2, capped)
	// Device tokens: without an expiry, and with one.
	f3 := k.family(resource.NewID(), "", time.Time{})
	f3.DeviceID = resource.NewID()
	device := k.token(f3, resource.TokenDevice, time.Time{})
	shortDevice := k.token(f3, resource.TokenDevice, now.Add(shortLifetime))
	k.create(t, f3, device, shortDevice)

	k.gone(t, past)
	k.found(t, refresh)
	cappedWant := *capped
	cappedWant.ExpiresAt = f2.ExpiresAt
	k.found(t, &cappedWant)
	k.found(t, shortDevice)

	time.Sleep(time.Until(now.Add(expiryWait)))

	t.Run("AccessOutlivesRefresh", func(t *testing.T) {
		k.found(t, access)
		k.gone(t, refresh)
		next := k.token(f1, resource.TokenRefresh, k.exp(f1, time.Hour))
		_, err := k.s.RotateRefresh(t.Context(), f1.ID, refresh.Hash, f1.ClientID, 0, next)
		mustHaveCode(t, err, resource.ENotFound)
		k.gone(t, next)
		k.found(t, access)
	})
	t.Run("FamilyDeadline", func(t *testing.T) {
		k.gone(t, capped)
		k.list(t, f2.ID)
	})
	t.Run("DeviceNeverExpires", func(t *testing.T) {
		k.found(t, device)
		k.gone(t, shortDevice)
		k.list(t, f3.ID, device)
	})
	t.Run("ErrRevokeExpired", func(t *testing.T) {
		_, err := k.s.RevokeToken(t.Context(), f1.ID, refresh.Hash)
		mustHaveCode(t, err, resource.ENotFound)
		k.found(t, access)
	})
}

func testRevokeToken(t *testing.T, k tokenKit) {
	t.Run("OK", func(t *testing.T) {
		f, access, refresh := k.grant(t, resource.NewID(), time.Now().Add(time.Hour))
		got, err := k.s.RevokeToken(t.Context(), f.ID, access.Hash)
		if err != nil {
			t.Fatal(err)
		}
		sameToken(t, got, access)
		k.gone(t, access)
		k.found(t, refresh)
		k.list(t, f.ID, refresh)
		_, err = k.s.RevokeToken(t.Context(), f.ID, access.Hash)
		mustHaveCode(t, err, resource.ENotFound)
	})
	t.Run("RefreshRevokesFamily", func(t *testing.T) {
		f, access, refresh := k.grant(t, resource.NewID(), time.Now().Add(time.Hour))
		_, otherAccess, otherRefresh := k.grant(t, f.UserID, time.Now().Add(time.Hour))
		got, err := k.s.RevokeToken(t.Context(), f.ID, refresh.Hash)
		if err != nil {
			t.Fatal(err)
		}
		sameToken(t, got, refresh)
		k.gone(t, access, refresh)
		k.list(t, f.ID)
		k.found(t, otherAccess)
		k.found(t, otherRefresh)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		f, access, _ := k.grant(t, "", time.Now().Add(time.Hour))
		_, err := k.s.RevokeToken(t.Context(), f.ID, k.token(f, resource.TokenAccess, time.Time{}).Hash)
		mustHaveCode(t, err, resource.ENotFound)
		_, err = k.s.RevokeToken(t.Context(), resource.NewFamilyID(), access.Hash)
		mustHaveCode(t, err, resource.ENotFound)
		k.found(t, access)
	})
}

func testRevokeFamily(t *testing.T, k tokenKit) {
	t.Run("OK", func(t *testing.T) {
		f, access, refresh := k.grant(t, resource.NewID(), time.Now().Add(time.Hour))
		_, otherAccess, _ := k.grant(t, f.UserID, time.Now().Add(time.Hour))
		if err := k.s.RevokeFamily(t.Context(), f.ID); err != nil {
			t.Fatal(err)
		}
		k.gone(t, access, refresh)
		k.list(t, f.ID)
		k.found(t, otherAccess)
		if err := k.s.RevokeFamily(t.Context(), f.ID); err != nil {
			t.Fatalf("revoke again: %v", err)
		}
	})
	t.Run("Unknown", func(t *testing.T) {
		if err := k.s.RevokeFamily(t.Context(), resource.NewFamilyID()); err != nil {
			t.Fatal(err)
		}
	})
}

func testRevokeClient(t *testing.T, k tokenKit) {
	client := resource.NewID()
	var revoked []*resource.Token
	for _, user := range []string{resource.NewID(), resource.NewID(), ""} {
		f := k.family(client, user, time.Now().Add(time.Hour))
		access := k.token(f, resource.TokenAccess, k.exp(f, time.Hour))
		refresh := k.token(f, resource.TokenRefresh, k.exp(f, time.Hour))
		k.create(t, f, access, refresh)
		revoked = append(revoked, access, refresh)
	}
	_, kept, _ := k.grant(t, "", time.Now().Add(time.Hour))
	if err := k.s.RevokeClient(t.Context(), client); err != nil {
		t.Fatal(err)
	}
	k.gone(t, revoked...)
	k.found(t, kept)
	t.Run("Unknown", func(t *testing.T) {
		if err := k.s.RevokeClient(t.Context(), resource.NewID()); err != nil {
			t.Fatal(err)
		}
	})
}

func testRevokeUser(t *testing.T, k tokenKit) {
	user := resource.NewID()
	_, a1, r1 := k.grant(t, user, time.Now().Add(time.Hour))
	keep, a2, r2 := k.grant(t, user, time.Now().Add(time.Hour))
	_, a3, r3 := k.grant(t, user, time.Now().Add(time.Hour))
	_, other, _ := k.grant(t, resource.NewID(), time.Now().Add(time.Hour))
	if err := k.s.RevokeUser(t.Context(), user, keep.ID); err != nil {
		t.Fatal(err)
	}
	k.gone(t, a1, r1, a3, r3)
	k.found(t, a2)
	k.found(t, r2)
	k.found(t, other)
	t.Run("All", func(t *testing.T) {
		if err := k.s.RevokeUser(t.Context(), user, ""); err != nil {
			t.Fatal(err)
		}
		k.gone(t, a2, r2)
		k.found(t, other)
	})
}

func testListFamilyTokens(t *testing.T, k tokenKit) {
	f := k.family(resource.NewID(), resource.NewID(), time.Time{})
	f.DeviceID = resource.NewID()
	var tokens []*resource.Token
	for i := range 3 {
		tok := k.token(f, resource.TokenDevice, time.Time{})
		tok.IssuedAt = tok.IssuedAt.Add(time.Duration(i) * time.Second)
		tokens = append(tokens, tok)
	}
	k.create(t, f, tokens[2], tokens[0], tokens[1])
	t.Run("OK", func(t *testing.T) {
		k.list(t, f.ID, tokens...)
	})
	t.Run("AfterRevoke", func(t *testing.T) {
		if _, err := k.s.RevokeToken(t.Context(), f.ID, tokens[1].Hash); err != nil {
			t.Fatal(err)
		}
		k.list(t, f.ID, tokens[0], tokens[2])
	})
	t.Run("Unknown", func(t *testing.T) {
		k.list(t, resource.NewFamilyID())
	})
}
