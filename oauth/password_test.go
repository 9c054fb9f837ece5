package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/resource"
)

func passwordForm(email, password string) url.Values {
	return url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}}
}

func TestPasswordGrant(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "alice@example.com")
		app, secret := e.MustApp(t, user, resource.ApplicationInput{GrantTypes: []resource.GrantType{"password", "refresh_token"}})

		t.Run("OK", func(t *testing.T) {
			tr := e.postToken(t, app.ID, secret, passwordForm("Alice@Example.com", testPassword)).mustOK(t)
			if tr.Scope != "me" || !strings.HasPrefix(tr.RefreshToken, resource.RefreshTokenPrefix) || tr.CreatedAt == 0 {
				t.Fatalf("response: %+v", tr.Raw)
			}
			who := e.whoami(t, tr.AccessToken)
			if who == nil || who["user_id"] != user.ID || who["customer_id"] != user.CustomerID || who["scope"] != "me" {
				t.Fatalf("token resolves to %v", who)
			}
		})
		t.Run("OKExternalToken", func(t *testing.T) {
			ext := "sensorberg-" + randomHex(16)
			if err := e.users.SetExternalToken(context.Background(), user.ID, ext); err != nil {
				t.Fatal(err)
			}
			tr := e.postToken(t, app.ID, secret, url.Values{"grant_type": {"password"}, "external_authentication_token": {ext}}).mustOK(t)
			if tr.Scope != "me" || tr.RefreshToken == "" {
				t.Fatalf("response: %+v", tr.Raw)
			}
			if who := e.whoami(t, tr.AccessToken); who == nil || who["user_id"] != user.ID {
				t.Fatalf("token resolves to %v", who)
			}
			e.postToken(t, app.ID, secret, url.Values{"grant_type": {"password"}, "external_authentication_token": {ext + "x"}}).
				mustError(t, 400, "invalid_grant")
			both := passwordForm(user.Email, testPassword)
			both.Set("external_authentication_token", ext)
			e.postToken(t, app.ID, secret, both).mustError(t, 400, "invalid_request")
		})
		t.Run("ErrWrongPassword", func(t *testing.T) {
			e.postToken(t, app.ID, secret, passwordForm(user.Email, "wrong password!")).mustError(t, 400, "invalid_grant")
			e.postToken(t, app.ID, secret, passwordForm("nobody@example.com", testPassword)).mustError(t, 400, "invalid_grant")
			e.postToken(t, app.ID, secret, passwordForm(user.Email, "")).mustError(t, 400, "invalid_request")
			if strings.Contains(e.logs.String(), "wrong password!") {
				t.Fatal("a password was logged")
			}
			if !strings.Contains(e.logs.String(), "login failed") {
				t.Fatal("the failed login was not logged")
			}
		})
		t.Run("ErrScope", func(t *testing.T) {
			f := passwordForm(user.Email, testPassword)
			f.Set("scope", "me app")
			e.postToken(t, app.ID, secret, f).mustError(t, 400, "invalid_scope")
		})
		t.Run("ErrUserOfAnotherCustomer", func(t *testing.T) {
			other := e.MustUser(t, "mallory@example.com")
			e.postToken(t, app.ID, secret, passwordForm(other.Email, testPassword)).mustError(t, 400, "invalid_grant")
		})
		t.Run("ErrUnauthorizedClient", func(t *testing.T) {
			cc, ccSecret := e.MustApp(t, user, resource.ApplicationInput{GrantTypes: []resource.GrantType{"client_credentials"}})
			e.postToken(t, cc.ID, ccSecret, passwordForm(user.Email, testPassword)).mustError(t, 400, "unauthorized_client")
		})
		t.Run("NoRefreshWithoutRefreshGrant", func(t *testing.T) {
			pw, pwSecret := e.MustApp(t, user, resource.ApplicationInput{GrantTypes: []resource.GrantType{"password"}})
			tr := e.postToken(t, pw.ID, pwSecret, passwordForm(user.Email, testPassword)).mustOK(t)
			if tr.RefreshToken != "" {
				t.Fatal("a refresh token for an application without the refresh_token grant")
			}
		})
	})
}

func TestPasswordGrantThrottle(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "bob@example.com")
		app, secret := e.MustApp(t, user, resource.ApplicationInput{GrantTypes: []resource.GrantType{"password"}})
		// The pair's free failures, and one more that makes it wait.
		for range resource.DefaultFreeFailuresPerPair + 1 {
			e.postToken(t, app.ID, secret, passwordForm(user.Email, "not the password")).mustError(t, 400, "invalid_grant")
		}
		// Refused now, even with the right password, until the wait ends.
		tr := e.postToken(t, app.ID, secret, passwordForm(user.Email, testPassword))
		tr.mustError(t, http.StatusTooManyRequests, "invalid_grant")
		if tr.Header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
		// Another account from the same address is not locked yet.
		carol := e.MustUser(t, "carol@example.com")
		app2, secret2 := e.MustApp(t, carol, resource.ApplicationInput{GrantTypes: []resource.GrantType{"password"}})
		e.postToken(t, app2.ID, secret2, passwordForm(carol.Email, testPassword)).mustOK(t)
	})
}

func TestPasswordGrantThrottlePerAddress(t *testing.T) {
	e := newEnv(t, onSQLite)
	e.users.Throttle.MaxPerAddr = 3
	user := e.MustUser(t, "dave@example.com")
	app, secret := e.MustApp(t, user, resource.ApplicationInput{GrantTypes: []resource.GrantType{"password"}})
	for i := range 3 {
		e.postToken(t, app.ID, secret, passwordForm("nobody"+string(rune('a'+i))+"@example.com", "x")).mustError(t, 400, "invalid_grant")
	}
	e.postToken(t, app.ID, secret, passwordForm(user.Email, testPassword)).mustError(t, http.StatusTooManyRequests, "invalid_grant")
}

// TestPasswordGrantPublicClient is the token endpoint half of the rule
// that password is an operator's grant: a public client (no client
// authentication) never gets tokens
// for a user's password, not even one stored before such clients were
// refused at registration.
func TestPasswordGrantPublicClient(t *testing.T) {
	eachStore(t, []string{onSQLite}, func(t *testing.T, e *env) {
		user := e.MustUser(t, "pat@example.com")
		legacy, _ := e.MustAppWith(t, user, resource.ApplicationInput{GrantTypes: []resource.GrantType{"password", "refresh_token"}},
			func(a *resource.Application) { a.TokenEndpointAuthMethod, a.SecretHash = resource.AuthNone, "" })
		t.Run("ErrUnauthorizedClient", func(t *testing.T) {
			f := passwordForm(user.Email, testPassword)
			f.Set("client_id", legacy.ID)
			tr := e.postToken(t, "", "", f)
			tr.mustError(t, http.StatusBadRequest, "unauthorized_client")
		})
		t.Run("ErrExternalToken", func(t *testing.T) {
			tr := e.postToken(t, "", "", url.Values{"grant_type": {"password"}, "client_id": {legacy.ID},
				"external_authentication_token": {"ext-token-0123456789abcdef"}})
			tr.mustError(t, http.StatusBadRequest, "unauthorized_client")
		})
		t.Run("ErrRegister", func(t *testing.T) {
			_, _, err := e.apps.Create(context.Background(), user.ID, resource.ApplicationInput{Name: "Public",
				GrantTypes: []resource.GrantType{"password"}, TokenEndpointAuthMethod: resource.AuthNone})
			if resource.ErrorCode(err) != resource.EInvalid || resource.ErrorField(err) != "grant_types" {
				t.Fatalf("create a public password client: %v", err)
			}
		})
	})
}
