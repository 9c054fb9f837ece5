package oauth_test

// Regression tests for the defects of github.com/go-oauth2/oauth2/v4 v4.5.4
// that package oauth closes, numbered as the code's comments cite them
// ("defect 7"). Each test says what the library does on its own, and
// checks through real HTTP that assetgate does not. Where the library's
// behaviour can be shown in a line, a "Library" subtest shows it, so the
// test documents that the defect is real (and notices if an upgrade of the
// pinned version changes it).

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	oauth2lib "github.com/go-oauth2/oauth2/v4"
	liberrors "github.com/go-oauth2/oauth2/v4/errors"
	libserver "github.com/go-oauth2/oauth2/v4/server"
	"golang.org/x/oauth2"

	"github.com/assetgate/assetgate/oauth"
	"github.com/assetgate/assetgate/resource"
)

// TestDefect1_RefreshChecksClient: the library's refresh grant
// (manage.Manager.RefreshAccessToken) loads the refresh token and issues new
// tokens without checking the caller's credentials or that the token was
// issued to the caller.
func TestDefect1_RefreshChecksClient(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "a1@example.com")
		appA, secretA := e.MustApp(t, user, resource.ApplicationInput{Name: "A", GrantTypes: []resource.GrantType{"password", "refresh_token"}})
		appB, secretB := e.MustApp(t, user, resource.ApplicationInput{Name: "B", GrantTypes: []resource.GrantType{"password", "refresh_token"}})
		tr := e.postToken(t, appA.ID, secretA, passwordForm(user.Email, testPassword)).mustOK(t)

		// A's refresh token with B's (valid) credentials.
		e.postToken(t, appB.ID, secretB, refreshForm(tr.RefreshToken)).mustError(t, 400, "invalid_grant")
		// A's refresh token with A's id and a wrong secret.
		e.postToken(t, appA.ID, secretA+"x", refreshForm(tr.RefreshToken)).mustError(t, 401, "invalid_client")
		// A's refresh token with no credentials at all.
		e.postToken(t, "", "", refreshForm(tr.RefreshToken)).mustError(t, 401, "invalid_client")
		// None of that consumed or revoked A's grant.
		if e.whoami(t, tr.AccessToken) == nil {
			t.Fatal("a failed refresh revoked the grant")
		}
		e.postToken(t, appA.ID, secretA, refreshForm(tr.RefreshToken)).mustOK(t)
	})
}

// TestDefect2_RefreshCannotWidenScope: without a RefreshingScopeHandler the
// library sets whatever scope the refresh request names on the new token.
// User grants carry only `me`, so widening means asking for `app` or
// `basic` on a refresh.
func TestDefect2_RefreshCannotWidenScope(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "a2@example.com")
		app, secret := e.MustApp(t, user, resource.ApplicationInput{GrantTypes: []resource.GrantType{"password", "refresh_token"}})
		tr := e.postToken(t, app.ID, secret, passwordForm(user.Email, testPassword)).mustOK(t)
		for _, scope := range []string{"me app", "app", "basic", "me basic app"} {
			f := refreshForm(tr.RefreshToken)
			f.Set("scope", scope)
			e.postToken(t, app.ID, secret, f).mustError(t, 400, "invalid_scope")
		}
		// The refused requests did not use the token up; keeping the scope
		// works.
		next := e.postToken(t, app.ID, secret, refreshForm(tr.RefreshToken)).mustOK(t)
		if next.Scope != "me" {
			t.Fatalf("scope = %q", next.Scope)
		}
		if who := e.whoami(t, next.AccessToken); who["scope"] != "me" {
			t.Fatalf("stored scope = %q", who["scope"])
		}
	})
}

// TestDefect3_* are in concurrency_test.go: the library redeems codes and
// rotates refresh tokens by reading, then deleting.

// TestDefect4_ExactRedirectURI: the library's manage.DefaultValidateURI
// accepts any redirect URI whose host ends with the registered host, on any
// path (DefaultValidateURI("https://example.com/cb",
// "https://evilexample.com/steal") is nil), and its authorization handler
// redirects errors to whatever redirect_uri the request names. (Package
// manage is not imported here: it would pull in a JWT module for nothing.)
func TestDefect4_ExactRedirectURI(t *testing.T) {
	e := newEnv(t, onSQLite)
	user := e.MustUser(t, "a4@example.com")
	registered := "https://example.com/cb?tenant=1"
	app, _ := e.MustApp(t, user, resource.ApplicationInput{
		GrantTypes: []resource.GrantType{"authorization_code"}, TokenEndpointAuthMethod: "none",
		RedirectURIs: []string{registered, e.callbackURL()}})
	pc := newPageClient(t)
	challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
	for _, uri := range []string{
		"https://evilexample.com/cb?tenant=1", "https://example.com.evil.com/cb?tenant=1",
		"https://example.com/other?tenant=1", "https://example.com/cb", "https://example.com/cb?tenant=2",
		"https://example.com:8443/cb?tenant=1", "http://example.com/cb?tenant=1", "https://example.com/cb/?tenant=1",
		"https://example.com/cb?tenant=1&x=1", "https://example.com/cb?tenant=1#frag",
	} {
		// Even with an otherwise broken request (no PKCE, bad scope) the
		// error is shown, not redirected to the unregistered URI.
		for _, p := range []url.Values{
			codeParams(app, uri, "s", challenge, ""),
			{"response_type": {"code"}, "client_id": {app.ID}, "redirect_uri": {uri}, "scope": {"app"}},
		} {
			resp, page := pc.do(t, http.MethodGet, e.url("/oauth/authorize?"+p.Encode()), nil)
			mustErrorPage(t, resp, page, http.StatusBadRequest)
		}
	}
	// An unknown client never gets a redirect either.
	p := codeParams(app, registered, "s", challenge, "")
	p.Set("client_id", resource.NewID())
	resp, page := pc.do(t, http.MethodGet, e.url("/oauth/authorize?"+p.Encode()), nil)
	mustErrorPage(t, resp, page, http.StatusBadRequest)
	// The registered URI itself, exactly, works (and keeps its query).
	resp, _ = pc.do(t, http.MethodGet, e.url("/oauth/authorize?"+codeParams(app, registered, "s", "", "").Encode()), nil)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, registered+"&") || !strings.Contains(loc, "error=invalid_request") {
		t.Fatalf("registered URI: status %d, Location %q", resp.StatusCode, loc)
	}
}

// TestDefect5_S256IsDefault: the library's ValidationAuthorizeRequest picks
// plain when code_challenge_method is omitted (RFC 7636 §4.3 says S256 is
// the default only for clients that can; the issue makes it the default).
func TestDefect5_S256IsDefault(t *testing.T) {
	t.Run("Library", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/authorize?response_type=code&client_id=x&code_challenge="+strings.Repeat("a", 43), nil)
		req, err := libserver.NewServer(libserver.NewConfig(), nil).ValidationAuthorizeRequest(r)
		if err != nil || req.CodeChallengeMethod != oauth2lib.CodeChallengePlain {
			t.Skipf("go-oauth2 no longer defaults to plain (%v, %v)", req, err)
		}
	})
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "a5@example.com")
		cb := e.callbackURL()
		// PKCE "required" allows plain, so only the default decides.
		app, _ := e.MustApp(t, user, resource.ApplicationInput{
			GrantTypes: []resource.GrantType{"authorization_code"}, TokenEndpointAuthMethod: "none",
			PKCEEnforcement: "required", RedirectURIs: []string{cb}})
		pc := newPageClient(t)
		verifier := oauth2.GenerateVerifier()
		challenge := oauth2.S256ChallengeFromVerifier(verifier)

		// Read as plain, the challenge itself would be the verifier.
		code := e.mustCode(t, pc, codeParams(app, cb, "s", challenge, ""), user.Email)
		e.postToken(t, "", "", exchangeForm(app, code, cb, challenge)).mustError(t, 400, "invalid_grant")
		// Read as S256 (the default), the real verifier passes.
		code = e.mustCode(t, pc, codeParams(app, cb, "s", challenge, ""), user.Email)
		e.postToken(t, "", "", exchangeForm(app, code, cb, verifier)).mustOK(t)
		// plain, when named and allowed, still works.
		code = e.mustCode(t, pc, codeParams(app, cb, "s", verifier, "plain"), user.Email)
		e.postToken(t, "", "", exchangeForm(app, code, cb, verifier)).mustOK(t)
		// s256_required refuses plain outright.
		strict, _ := e.MustApp(t, user, resource.ApplicationInput{
			GrantTypes: []resource.GrantType{"authorization_code"}, TokenEndpointAuthMethod: "none",
			PKCEEnforcement: "s256_required", RedirectURIs: []string{cb}})
		resp, _ := pc.do(t, http.MethodGet, e.url("/oauth/authorize?"+codeParams(strict, cb, "s", verifier, "plain").Encode()), nil)
		mustRedirectError(t, e, resp, "invalid_request", "s")
	})
}

// TestDefect6_ErrorStatuses: the library answers invalid_grant,
// unauthorized_client and unsupported_grant_type with 401, and invalid_client
// without WWW-Authenticate.
func TestDefect6_ErrorStatuses(t *testing.T) {
	t.Run("Library", func(t *testing.T) {
		for _, err := range []error{liberrors.ErrInvalidGrant, liberrors.ErrUnauthorizedClient, liberrors.ErrUnsupportedGrantType} {
			if liberrors.StatusCodes[err] != 401 {
				t.Skipf("go-oauth2 now answers %v with %d", err, liberrors.StatusCodes[err])
			}
		}
	})
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "a6@example.com")
		app, secret := e.MustApp(t, user, resource.ApplicationInput{GrantTypes: []resource.GrantType{"password", "refresh_token"}})
		for _, c := range []struct {
			name   string
			id     string
			secret string
			form   url.Values
			status int
			code   string
		}{
			{"invalid_grant", app.ID, secret, refreshForm("agrt_" + strings.Repeat("A", 65)), 400, "invalid_grant"},
			{"invalid_grant_password", app.ID, secret, passwordForm(user.Email, "wrong password"), 400, "invalid_grant"},
			{"unsupported_grant_type", app.ID, secret, url.Values{"grant_type": {"urn:x"}}, 400, "unsupported_grant_type"},
			{"unauthorized_client", app.ID, secret, ccForm(""), 400, "unauthorized_client"},
			{"invalid_request", app.ID, secret, url.Values{"grant_type": {"password"}}, 400, "invalid_request"},
			{"invalid_scope", app.ID, secret, url.Values{"grant_type": {"password"}, "username": {user.Email}, "password": {testPassword}, "scope": {"app"}}, 400, "invalid_scope"},
			{"invalid_client", app.ID, "wrong", ccForm(""), 401, "invalid_client"},
		} {
			t.Run(c.name, func(t *testing.T) {
				tr := e.postToken(t, c.id, c.secret, c.form)
				tr.mustError(t, c.status, c.code)
				if tr.Header.Get("Pragma") != "no-cache" {
					t.Fatal("no Pragma: no-cache")
				}
				if www := tr.Header.Get("WWW-Authenticate"); (c.code == "invalid_client") != strings.HasPrefix(www, "Basic realm=") {
					t.Fatalf("WWW-Authenticate = %q", www)
				}
			})
		}
	})
}

// TestDefect7_ClientSecrets: the library's manage.Manager compares the
// stored plain-text secret with != and accepts any secret when the stored
// one is empty.
func TestDefect7_ClientSecrets(t *testing.T) {
	e := newEnv(t, onSQLite)
	ctx := context.Background()
	user := e.MustUser(t, "a7@example.com")
	app, secret := e.MustApp(t, user, resource.ApplicationInput{GrantTypes: []resource.GrantType{"client_credentials"}})

	t.Run("StoredHashed", func(t *testing.T) {
		var stored string
		if err := e.db.QueryRowContext(ctx, e.db.Rebind(`SELECT secret_hash FROM applications WHERE id = ?`), app.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored == secret || strings.Contains(stored, secret) || stored != resource.HashSecret(secret) {
			t.Fatalf("stored secret %q is not the SHA-256 of the secret", stored)
		}
		// The hash itself is not a credential.
		e.postToken(t, app.ID, stored, ccForm("")).mustError(t, 401, "invalid_client")
	})
	t.Run("ErrEmptyStoredSecret", func(t *testing.T) {
		broken, _ := e.MustAppWith(t, user, resource.ApplicationInput{GrantTypes: []resource.GrantType{"client_credentials"}},
			func(a *resource.Application) { a.SecretHash = "" })
		for _, s := range []string{"", "anything", resource.HashSecret("")} {
			e.postToken(t, broken.ID, s, ccForm("")).mustError(t, 401, "invalid_client")
			f := ccForm("")
			f.Set("client_id", broken.ID)
			f.Set("client_secret", s)
			e.postToken(t, "", "", f).mustError(t, 401, "invalid_client")
		}
	})
	t.Run("ErrPublicClientCredentials", func(t *testing.T) {
		// The service refuses to register it...
		if _, _, err := e.apps.Create(ctx, user.ID, resource.ApplicationInput{Name: "x",
			GrantTypes: []resource.GrantType{"client_credentials"}, TokenEndpointAuthMethod: "none"}); resource.ErrorCode(err) != resource.EInvalid {
			t.Fatalf("public client_credentials app: %v", err)
		}
		// ...and one forced into the store cannot get a token.
		public, _ := e.MustAppWith(t, user, resource.ApplicationInput{GrantTypes: []resource.GrantType{"client_credentials"}},
			func(a *resource.Application) { a.TokenEndpointAuthMethod, a.SecretHash = "none", "" })
		f := ccForm("")
		f.Set("client_id", public.ID)
		tr := e.postToken(t, "", "", f)
		if tr.Status == http.StatusOK || tr.AccessToken != "" {
			t.Fatalf("a public client got a client_credentials token: %+v", tr.Raw)
		}
	})
}

// TestDefect8_RevocationAndExpiry: with the library's stores, removing a
// refresh token leaves the access token issued with it valid, and
// manage.Manager.LoadAccessToken refuses an access token as soon as its
// refresh token has expired.
func TestDefect8_RevocationAndExpiry(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		ctx := context.Background()
		user := e.MustUser(t, "a8@example.com")
		app, secret := e.MustApp(t, user, resource.ApplicationInput{GrantTypes: []resource.GrantType{"password", "refresh_token"}})
		m := oauth.LibraryManager(e.srv)

		t.Run("RevokingRefreshRevokesAccess", func(t *testing.T) {
			tr := e.postToken(t, app.ID, secret, passwordForm(user.Email, testPassword)).mustOK(t)
			if err := m.RemoveRefreshToken(ctx, tr.RefreshToken); err != nil {
				t.Fatal(err)
			}
			if e.whoami(t, tr.AccessToken) != nil {
				t.Fatal("the access token outlived the revocation of its refresh token")
			}
			if _, err := m.LoadAccessToken(ctx, tr.AccessToken); err == nil {
				t.Fatal("the manager still loads the access token")
			}
		})
		t.Run("AccessOutlivesRefreshExpiry", func(t *testing.T) {
			short, shortSecret := e.MustAppWith(t, user, resource.ApplicationInput{GrantTypes: []resource.GrantType{"password", "refresh_token"}},
				func(a *resource.Application) {
					a.RefreshTokenDuration, a.RefreshTokenRollingDuration, a.AccessTokenTTL = 1, 3600, 3600
				})
			tr := e.postToken(t, short.ID, shortSecret, passwordForm(user.Email, testPassword)).mustOK(t)
			time.Sleep(1200 * time.Millisecond)
			e.postToken(t, short.ID, shortSecret, refreshForm(tr.RefreshToken)).mustError(t, 400, "invalid_grant")
			if e.whoami(t, tr.AccessToken) == nil {
				t.Fatal("the access token died with its refresh token's expiry")
			}
			if _, err := m.LoadAccessToken(ctx, tr.AccessToken); err != nil {
				t.Fatalf("manager: %v", err)
			}
		})
	})
}
