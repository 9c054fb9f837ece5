package oauth_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/assetgate/assetgate/oauth"
	"github.com/assetgate/assetgate/resource"
)

func refreshForm(token string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}
}

// MustAppWith registers an application straight in the store after mutate
// changed it, for settings the service refuses (lifetimes of seconds).
func (e *env) MustAppWith(tb testing.TB, owner *resource.User, in resource.ApplicationInput, mutate func(*resource.Application)) (*resource.Application, string) {
	tb.Helper()
	app, secret := e.MustApp(tb, owner, in)
	mutate(app)
	if err := e.apps.Store.UpdateApplication(context.Background(), app); err != nil {
		tb.Fatal(err)
	}
	return app, secret
}

// findToken returns the stored record of token, or nil.
func (e *env) findToken(tb testing.TB, token string) *resource.Token {
	tb.Helper()
	_, fid, ok := resource.ParseToken(token)
	if !ok {
		tb.Fatalf("malformed token %q", token)
	}
	t, err := e.tokens.FindToken(context.Background(), fid, resource.KeyedHash(e.key, token))
	if resource.ErrorCode(err) == resource.ENotFound {
		return nil
	} else if err != nil {
		tb.Fatal(err)
	}
	return t
}

func TestRefreshGrant(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "erin@example.com")
		app, secret := e.MustApp(t, user, resource.ApplicationInput{GrantTypes: []resource.GrantType{"password", "refresh_token"}})
		login := func(t *testing.T) *tokenResponse {
			return e.postToken(t, app.ID, secret, passwordForm(user.Email, testPassword)).mustOK(t)
		}

		t.Run("OKRotates", func(t *testing.T) {
			first := login(t)
			second := e.postToken(t, app.ID, secret, refreshForm(first.RefreshToken)).mustOK(t)
			if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
				t.Fatalf("no rotation: %+v", second.Raw)
			}
			if second.Scope != "me" || second.CreatedAt == 0 {
				t.Fatalf("response: %+v", second.Raw)
			}
			if who := e.whoami(t, second.AccessToken); who == nil || who["user_id"] != user.ID {
				t.Fatalf("new token resolves to %v", who)
			}
			third := e.postToken(t, app.ID, secret, refreshForm(second.RefreshToken)).mustOK(t)
			if e.whoami(t, third.AccessToken) == nil {
				t.Fatal("third access token refused")
			}
		})
		t.Run("OKSameScope", func(t *testing.T) {
			first := login(t)
			f := refreshForm(first.RefreshToken)
			f.Set("scope", "me")
			if tr := e.postToken(t, app.ID, secret, f).mustOK(t); tr.Scope != "me" {
				t.Fatalf("scope = %q", tr.Scope)
			}
		})
		t.Run("ErrReuseRevokesFamily", func(t *testing.T) {
			first := login(t)
			second := e.postToken(t, app.ID, secret, refreshForm(first.RefreshToken)).mustOK(t)
			e.postToken(t, app.ID, secret, refreshForm(first.RefreshToken)).mustError(t, 400, "invalid_grant")
			// RFC 9700 §4.14.2: every token of the grant is gone.
			if e.whoami(t, second.AccessToken) != nil || e.whoami(t, first.AccessToken) != nil {
				t.Fatal("an access token of a revoked family still works")
			}
			e.postToken(t, app.ID, secret, refreshForm(second.RefreshToken)).mustError(t, 400, "invalid_grant")
		})
		t.Run("ErrMalformed", func(t *testing.T) {
			e.postToken(t, app.ID, secret, refreshForm("agrt_nope")).mustError(t, 400, "invalid_grant")
			first := login(t)
			// An access token is not a refresh token.
			e.postToken(t, app.ID, secret, refreshForm(first.AccessToken)).mustError(t, 400, "invalid_grant")
			e.postToken(t, app.ID, secret, url.Values{"grant_type": {"refresh_token"}}).mustError(t, 400, "invalid_request")
		})
	})
}

func TestRefreshGrace(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "frank@example.com")
		app, secret := e.MustApp(t, user, resource.ApplicationInput{GrantTypes: []resource.GrantType{"password", "refresh_token"}})
		first := e.postToken(t, app.ID, secret, passwordForm(user.Email, testPassword)).mustOK(t)
		second := e.postToken(t, app.ID, secret, refreshForm(first.RefreshToken)).mustOK(t)
		// Within the grace period: refused, but the family lives on.
		e.postToken(t, app.ID, secret, refreshForm(first.RefreshToken)).mustError(t, 400, "invalid_grant")
		if e.whoami(t, second.AccessToken) == nil {
			t.Fatal("reuse within the grace period revoked the family")
		}
		e.postToken(t, app.ID, secret, refreshForm(second.RefreshToken)).mustOK(t)
	}, func(c *oauth.Config) { c.RefreshGrace = time.Minute })
}

func TestRefreshFamilyDeadline(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "grace@example.com")
		// Each refresh token lives 2 s; the grant as a whole 3 s.
		app, secret := e.MustAppWith(t, user, resource.ApplicationInput{GrantTypes: []resource.GrantType{"password", "refresh_token"}},
			func(a *resource.Application) { a.RefreshTokenDuration, a.RefreshTokenRollingDuration = 2, 3 })
		first := e.postToken(t, app.ID, secret, passwordForm(user.Email, testPassword)).mustOK(t)
		// The family's deadline was set while the grant was issued, so
		// before this instant: on a loaded machine the grant itself may take
		// longer than the margin below.
		start := time.Now()
		time.Sleep(1500 * time.Millisecond)
		second := e.postToken(t, app.ID, secret, refreshForm(first.RefreshToken)).mustOK(t)
		rec := e.findToken(t, second.RefreshToken)
		if rec == nil {
			t.Fatal("rotated refresh token not stored")
		}
		// Rolling: now+2s would be ~3.5 s after the grant; the family's
		// deadline (3 s) wins.
		if limit := start.Add(3*time.Second + 200*time.Millisecond); rec.ExpiresAt.After(limit) {
			t.Fatalf("rotated refresh token expires at %v, after the family deadline %v", rec.ExpiresAt, limit)
		}
		time.Sleep(time.Until(start.Add(3200 * time.Millisecond)))
		e.postToken(t, app.ID, secret, refreshForm(second.RefreshToken)).mustError(t, 400, "invalid_grant")
	})
}
