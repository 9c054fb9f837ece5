package oauth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/wire"
)

// TestOpenIDConnectImplicit: response_type id_token and "id_token token"
// only for an application with the implicit grant, in the fragment, with
// the nonce required.
func TestOpenIDConnectImplicit(t *testing.T) {
	e := newEnv(t, onSQLite)
	user := e.MustUser(t, "implicit@example.com")
	app := e.oidcApp(t, user, func(in *resource.ApplicationInput) {
		in.GrantTypes = []resource.GrantType{resource.GrantImplicit}
		in.Scopes = []string{resource.ScopeMe, resource.ScopeOpenID}
	})
	codeOnly := e.oidcApp(t, user, nil)
	r := e.newRP(t, app)
	pc := newPageClient(t)
	params := func(clientID, rt, nonce string) url.Values {
		v := url.Values{"client_id": {clientID}, "response_type": {rt}, "redirect_uri": {e.callbackURL()},
			"scope": {"openid"}, "state": {"st"}}
		if nonce != "" {
			v.Set("nonce", nonce)
		}
		return v
	}
	fragment := func(t *testing.T, loc *url.URL) url.Values {
		t.Helper()
		if loc.RawQuery != "" {
			t.Fatalf("implicit response in the query: %s", loc)
		}
		f, err := url.ParseQuery(loc.Fragment)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	t.Run("OKIDToken", func(t *testing.T) {
		f := fragment(t, e.signIn(t, pc, params(app.ID, "id_token", "n-1"), user.Email))
		idt, err := r.verifier.Verify(t.Context(), f.Get("id_token"))
		if err != nil || idt.Nonce != "n-1" || f.Get("access_token") != "" || f.Get("iss") != e.http.URL || f.Get("state") != "st" {
			t.Fatalf("fragment %v: %v", f, err)
		}
		if idt.AccessTokenHash != "" {
			t.Fatal("at_hash without an access token")
		}
	})
	t.Run("OKIDTokenToken", func(t *testing.T) {
		f := fragment(t, e.signIn(t, pc, params(app.ID, "token id_token", "n-2"), user.Email))
		idt, err := r.verifier.Verify(t.Context(), f.Get("id_token"))
		if err != nil || idt.Nonce != "n-2" {
			t.Fatalf("fragment %v: %v", f, err)
		}
		if err := idt.VerifyAccessToken(f.Get("access_token")); err != nil || f.Get("refresh_token") != "" {
			t.Fatalf("at_hash: %v (refresh %q)", err, f.Get("refresh_token"))
		}
		if e.whoami(t, f.Get("access_token")) == nil {
			t.Fatal("the implicit access token does not work")
		}
	})
	t.Run("ErrNonceMissing", func(t *testing.T) {
		shown, loc := e.pagesShown(t, pc, params(app.ID, "id_token", ""))
		if shown != "redirect" {
			t.Fatalf("shows %q", shown)
		}
		if f := fragment(t, loc); f.Get("error") != "invalid_request" || !strings.Contains(f.Get("error_description"), "nonce") {
			t.Fatalf("error %v", f)
		}
	})
	t.Run("ErrWrongNonceFailsVerification", func(t *testing.T) {
		// The relying party's check of its own nonce: the token carries
		// the one sent, not another.
		f := fragment(t, e.signIn(t, pc, params(app.ID, "id_token", "sent"), user.Email))
		idt, err := r.verifier.Verify(t.Context(), f.Get("id_token"))
		if err != nil || idt.Nonce == "expected-other" || idt.Nonce != "sent" {
			t.Fatalf("nonce %q: %v", idt.Nonce, err)
		}
	})
	t.Run("ErrNotOptedIn", func(t *testing.T) {
		_, loc := e.pagesShown(t, pc, params(codeOnly.ID, "id_token", "n"))
		if f := fragment(t, loc); f.Get("error") != "unauthorized_client" {
			t.Fatalf("error %v", f)
		}
	})
}

// TestOpenIDConnectRequestErrors: the errors of prompt, max_age,
// id_token_hint and request objects, each what the specification names,
// never a redirect to an unregistered URI.
func TestOpenIDConnectRequestErrors(t *testing.T) {
	e := newEnv(t, onSQLite)
	user := e.MustUser(t, "errors@example.com")
	app := e.oidcApp(t, user, nil)
	r := e.newRP(t, app)
	verifier := oauth2.GenerateVerifier()
	request := func(extra ...string) url.Values {
		u, _ := url.Parse(r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
		q := u.Query()
		for i := 0; i+1 < len(extra); i += 2 {
			q.Set(extra[i], extra[i+1])
		}
		return q
	}
	wantError := func(t *testing.T, pc *pageClient, q url.Values, code string) {
		t.Helper()
		shown, loc := e.pagesShown(t, pc, q)
		if shown != "redirect" || !strings.HasPrefix(loc.String(), e.callbackURL()+"?") || loc.Query().Get("error") != code || loc.Query().Get("state") != "st" {
			t.Fatalf("shows %q %v, want a redirect with error %s", shown, loc, code)
		}
	}
	t.Run("ErrPromptNoneWithoutSession", func(t *testing.T) {
		wantError(t, newPageClient(t), request("prompt", "none"), "login_required")
	})
	pc := newPageClient(t)
	_, idt := e.codeFlow(t, r, pc, user.Email, "n", nil)
	raw := ""
	{
		tok, _ := e.codeFlow(t, r, pc, user.Email, "n2", nil)
		raw = tok.Extra("id_token").(string)
	}
	t.Run("OKPromptNoneWithSession", func(t *testing.T) {
		shown, loc := e.pagesShown(t, pc, request("prompt", "none", "id_token_hint", raw))
		if shown != "redirect" || loc.Query().Get("code") == "" {
			t.Fatalf("shows %q %v", shown, loc)
		}
	})
	t.Run("ErrPromptNoneWithoutConsent", func(t *testing.T) {
		other := e.oidcApp(t, user, nil)
		q := request("prompt", "none")
		q.Set("client_id", other.ID)
		wantError(t, pc, q, "consent_required")
	})
	t.Run("ErrMaxAgeZero", func(t *testing.T) {
		// max_age=0: the login is always too old — a new login (or
		// login_required with prompt=none).
		wantError(t, pc, request("max_age", "0", "prompt", "none"), "login_required")
		if shown, _ := e.pagesShown(t, pc, request("max_age", "0")); shown != "login" {
			t.Fatalf("max_age=0 shows %q, want the login page", shown)
		}
		before := claimsOf(t, idt).AuthTime
		_, again := e.codeFlow(t, r, pc, user.Email, "n3", url.Values{"max_age": {"0"}})
		if claimsOf(t, again).AuthTime < before {
			t.Fatal("the new login's auth_time is older")
		}
		wantError(t, pc, request("max_age", "-1"), "invalid_request")
	})
	t.Run("OKPromptLogin", func(t *testing.T) {
		if shown, _ := e.pagesShown(t, pc, request("prompt", "login")); shown != "login" {
			t.Fatalf("prompt=login shows %q", shown)
		}
	})
	t.Run("ErrIDTokenHintOfAnotherIssuer", func(t *testing.T) {
		// A replica configured with another issuer signs with the same
		// keys: the issuer alone tells its tokens apart.
		_, foreignURL := e.replica(t, func(c *wire.Config) { c.Issuer = "https://other.example" })
		hint := e.foreignIDToken(t, foreignURL, app, user)
		wantError(t, pc, request("id_token_hint", hint), "invalid_request")
	})
	t.Run("ErrIDTokenHintUnknownKey", func(t *testing.T) {
		other := newEnv(t, onSQLite)
		ou := other.MustUser(t, "elsewhere@example.com")
		oa := other.oidcApp(t, ou, nil)
		tok, _ := other.codeFlow(t, other.newRP(t, oa), newPageClient(t), ou.Email, "n", nil)
		wantError(t, pc, request("id_token_hint", tok.Extra("id_token").(string)), "invalid_request")
		wantError(t, pc, request("id_token_hint", "not.a.jwt"), "invalid_request")
	})
	t.Run("ErrRequestObjects", func(t *testing.T) {
		wantError(t, pc, request("request", "eyJhbGciOiJub25lIn0.e30."), "request_not_supported")
		wantError(t, pc, request("request_uri", "https://rp.example/req"), "request_uri_not_supported")
		wantError(t, pc, request("prompt", "none login"), "invalid_request")
	})
	t.Run("ErrMetadataSaysSo", func(t *testing.T) {
		m := e.call(t, http.MethodGet, "/.well-known/openid-configuration", noAuth, nil).mustStatus(t, 200, "").JSON
		for _, k := range []string{"claims_parameter_supported", "request_parameter_supported", "request_uri_parameter_supported"} {
			if v, ok := m[k]; !ok || v != false {
				t.Fatalf("%s = %v", k, v)
			}
		}
		if m["authorization_response_iss_parameter_supported"] != true || m["jwks_uri"] != e.url("/oauth/jwks") ||
			m["userinfo_endpoint"] != e.url("/oauth/userinfo") || m["end_session_endpoint"] != e.url("/oauth/logout") {
			t.Fatalf("discovery %v", m)
		}
		rfc := e.call(t, http.MethodGet, "/.well-known/oauth-authorization-server", noAuth, nil).mustStatus(t, 200, "").JSON
		if rfc["jwks_uri"] != m["jwks_uri"] || rfc["end_session_endpoint"] != m["end_session_endpoint"] {
			t.Fatalf("RFC 8414 metadata lacks the OpenID fields: %v", rfc)
		}
	})
	t.Run("ErrUserInfoWithoutToken", func(t *testing.T) {
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			resp := e.call(t, m, "/oauth/userinfo", noAuth, nil)
			if resp.Status != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") {
				t.Fatalf("%s userinfo without token: %d %q", m, resp.Status, resp.Header.Get("WWW-Authenticate"))
			}
			e.call(t, m, "/oauth/userinfo", bearer("agat_nope"), nil).mustStatus(t, http.StatusUnauthorized, "invalid_token")
		}
	})
}

// foreignIDToken gets an ID token from the replica at base, whose issuer
// is another one: a refresh through its token endpoint.
func (e *env) foreignIDToken(tb testing.TB, base string, app *resource.Application, user *resource.User) string {
	tb.Helper()
	tok, _ := e.codeFlow(tb, e.newRP(tb, app), newPageClient(tb), user.Email, "n", nil)
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {app.ID}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	tr := doToken(tb, req).mustOK(tb)
	raw, _ := tr.Raw["id_token"].(string)
	if _, err := e.newRP(tb, app).verifier.Verify(tb.Context(), raw); err == nil || !strings.Contains(err.Error(), "different provider") {
		tb.Fatalf("the foreign token verifies here (%v)", err)
	}
	return raw
}

// TestOpenIDConnectLogout: RP-initiated logout with id_token_hint ends the
// login session on every replica and redirects only to a registered
// post_logout_redirect_uri; the application's opt-in revokes the session's
// refresh tokens.
func TestOpenIDConnectLogout(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "logout-"+e.kind+"@example.com")
		_, otherURL := e.replica(t, nil)
		for _, revokes := range []bool{false, true} {
			app := e.oidcApp(t, user, func(in *resource.ApplicationInput) { in.LogoutRevokesTokens = revokes })
			r := e.newRP(t, app)
			pc := newPageClient(t)
			tok, _ := e.codeFlow(t, r, pc, user.Email, "n", nil)
			hint := tok.Extra("id_token").(string)

			// Not registered: a page, no redirect, the session stays.
			resp, page := pc.do(t, http.MethodGet, e.url("/oauth/logout?"+url.Values{"id_token_hint": {hint},
				"post_logout_redirect_uri": {"https://evil.example/bye"}}.Encode()), nil)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(page, "post_logout_redirect_uri") {
				t.Fatalf("unregistered post_logout_redirect_uri: %d %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			verifier := oauth2.GenerateVerifier()
			u, _ := url.Parse(r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
			q := u.Query()
			q.Set("prompt", "none")
			if shown, _ := e.pagesShown(t, pc, q); shown != "redirect" {
				t.Fatal("the session ended on a refused logout")
			}
			// Logout on the other replica.
			resp, _ = pc.do(t, http.MethodGet, otherURL+"/oauth/logout?"+url.Values{"id_token_hint": {hint},
				"post_logout_redirect_uri": {e.url("/bye")}, "state": {"s1"}}.Encode(), nil)
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != e.url("/bye")+"?state=s1" {
				t.Fatalf("logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			// The session is gone here too, even for a browser that kept
			// the old cookie.
			if _, loc := e.pagesShown(t, pc, q); loc == nil || loc.Query().Get("error") != "login_required" {
				t.Fatalf("after logout prompt=none gives %v", loc)
			}
			tr := e.postToken(t, "", "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {app.ID}})
			if revokes {
				tr.mustError(t, http.StatusBadRequest, "invalid_grant")
			} else {
				tr.mustOK(t)
			}
		}
		t.Run("OKWithoutHintConfirms", func(t *testing.T) {
			app := e.oidcApp(t, user, nil)
			pc := newPageClient(t)
			e.codeFlow(t, e.newRP(t, app), pc, user.Email, "n", nil)
			resp, page := pc.do(t, http.MethodGet, e.url("/oauth/logout?"+url.Values{"client_id": {app.ID},
				"post_logout_redirect_uri": {e.url("/bye")}}.Encode()), nil)
			if resp.StatusCode != http.StatusOK || !strings.Contains(page, `value="logout"`) {
				t.Fatalf("no confirmation page: %d", resp.StatusCode)
			}
			form := hiddenFields(page)
			form.Set("csrf_token", "forged")
			form.Set("action", "logout")
			if resp, _ := pc.do(t, http.MethodPost, e.url("/oauth/logout"), form); resp.StatusCode != http.StatusForbidden {
				t.Fatalf("forged CSRF token: %d", resp.StatusCode)
			}
			form = hiddenFields(page)
			form.Set("action", "logout")
			resp, _ = pc.do(t, http.MethodPost, e.url("/oauth/logout"), form)
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != e.url("/bye") {
				t.Fatalf("confirmed logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
		t.Run("ErrHintOfAnotherIssuer", func(t *testing.T) {
			resp, _ := newPageClient(t).do(t, http.MethodGet, e.url("/oauth/logout?id_token_hint=e30.e30.e30"), nil)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("bad hint: %d", resp.StatusCode)
			}
		})
	})
	_ = oidc.ScopeOpenID
}

// TestWithdrawnGrant: withdrawing the consent (GrantService.Revoke, behind
// DELETE /users/me/grants/{id} and revokeGrant) revokes the application's
// access and refresh tokens for the user at once, keeps another
// application's, and the next sign-in asks for consent again.
func TestWithdrawnGrant(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "withdraw-"+e.kind+"@example.com")
		app, kept := e.oidcApp(t, user, nil), e.oidcApp(t, user, nil)
		pc := newPageClient(t)
		tok, _ := e.codeFlow(t, e.newRP(t, app), pc, user.Email, "n", nil)
		keptTok, _ := e.codeFlow(t, e.newRP(t, kept), pc, user.Email, "n", nil)
		oidcStore := storage.NewOIDCStore(e.db)
		grants := &resource.GrantService{Consents: oidcStore, Families: oidcStore, Tokens: e.tokens, Apps: e.apps.Store}
		ctx := scopes.NewContext(t.Context(), &scopes.Principal{Kind: scopes.KindUser, CustomerID: user.CustomerID,
			UserID: user.ID, Scopes: []string{scopes.Me}})
		list, err := grants.List(ctx)
		if err != nil || len(list) != 2 {
			t.Fatalf("grants %v: %v", list, err)
		}
		if err := grants.Revoke(ctx, app.ID); err != nil {
			t.Fatal(err)
		}
		if e.whoami(t, tok.AccessToken) != nil {
			t.Fatal("the access token still works after the grant was withdrawn")
		}
		e.postToken(t, "", "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {app.ID}}).
			mustError(t, http.StatusBadRequest, "invalid_grant")
		if e.whoami(t, keptTok.AccessToken) == nil {
			t.Fatal("another application's token was revoked")
		}
		r := e.newRP(t, app)
		u, _ := url.Parse(r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if shown, _ := e.pagesShown(t, pc, u.Query()); shown != "consent" {
			t.Fatalf("after withdrawal the sign-in shows %q, want the consent page", shown)
		}
		if err := grants.Revoke(ctx, app.ID); resource.ErrorCode(err) != resource.ENotFound {
			t.Fatalf("second withdrawal: %v", err)
		}
	})
}
