package oauth_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/assetgate/assetgate/oauth"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/wire"
	"github.com/assetgate/assetgate/wire/wiretest"
)

// oidcApp registers a public mobile-style OpenID Connect client: code with
// PKCE and refresh, scopes me, openid, profile, email, a post-logout
// redirect URI. extra changes the input.
func (e *env) oidcApp(tb testing.TB, owner *resource.User, extra func(*resource.ApplicationInput)) *resource.Application {
	tb.Helper()
	in := resource.ApplicationInput{Name: "Fleet Mobile",
		GrantTypes:              []resource.GrantType{resource.GrantAuthorizationCode, resource.GrantRefreshToken},
		TokenEndpointAuthMethod: resource.AuthNone, RedirectURIs: []string{e.callbackURL()},
		PostLogoutRedirectURIs: []string{e.url("/bye")},
		Scopes:                 []string{resource.ScopeMe, resource.ScopeOpenID, resource.ScopeProfile, resource.ScopeEmail}}
	if extra != nil {
		extra(&in)
	}
	app, _ := e.MustApp(tb, owner, in)
	return app
}

// rp is a relying party on go-oidc and x/oauth2, as a mobile app would
// use them: discovery, PKCE, ID token verification, userinfo.
type rp struct {
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	conf     *oauth2.Config
}

func (e *env) newRP(tb testing.TB, app *resource.Application) *rp {
	tb.Helper()
	p, err := oidc.NewProvider(tb.Context(), e.http.URL)
	if err != nil {
		tb.Fatalf("discovery: %v", err)
	}
	return &rp{provider: p, verifier: p.Verifier(&oidc.Config{ClientID: app.ID}),
		conf: &oauth2.Config{ClientID: app.ID, RedirectURL: e.callbackURL(), Endpoint: p.Endpoint(),
			Scopes: []string{oidc.ScopeOpenID, "profile", "email", "me"}}}
}

// loginTime are the claims go-oidc's IDToken does not name.
type loginTime struct {
	AuthTime int64  `json:"auth_time"`
	SID      string `json:"sid"`
	Email    string `json:"email"`
}

func claimsOf(tb testing.TB, idt *oidc.IDToken) loginTime {
	tb.Helper()
	var c loginTime
	if err := idt.Claims(&c); err != nil {
		tb.Fatal(err)
	}
	return c
}

// codeFlow signs in through the pages (login when asked, consent when
// asked) and exchanges the code with PKCE. It returns the token and the
// verified ID token.
func (e *env) codeFlow(tb testing.TB, r *rp, pc *pageClient, email, nonce string, extra url.Values) (*oauth2.Token, *oidc.IDToken) {
	tb.Helper()
	verifier := oauth2.GenerateVerifier()
	u, _ := url.Parse(r.conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)))
	params := u.Query()
	for k, v := range extra {
		params[k] = v
	}
	loc := e.signIn(tb, pc, params, email)
	q := loc.Query()
	if q.Get("state") != "st-1" || q.Get("iss") != e.http.URL || q.Get("code") == "" {
		tb.Fatalf("authorization response %s", loc)
	}
	tok, err := r.conf.Exchange(tb.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		tb.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(tb.Context(), raw)
	if err != nil {
		tb.Fatalf("verify ID token: %v", err)
	}
	return tok, idt
}

// signIn runs an authorization request through whatever pages it shows:
// login, consent (approved), or none at all (a remembered consent). It
// returns the redirect to the client.
func (e *env) signIn(tb testing.TB, pc *pageClient, params url.Values, email string) *url.URL {
	tb.Helper()
	return pc.SignIn(tb, e.http.URL, params, email, testPassword)
}

// pagesShown runs an authorization request's GET and reports which page it
// shows ("login", "consent"), or the redirect.
func (e *env) pagesShown(tb testing.TB, pc *pageClient, params url.Values) (string, *url.URL) {
	tb.Helper()
	resp, page := pc.do(tb, http.MethodGet, e.url("/oauth/authorize?"+params.Encode()), nil)
	switch {
	case resp.StatusCode == http.StatusFound:
		loc, _ := url.Parse(resp.Header.Get("Location"))
		return "redirect", loc
	case strings.Contains(page, `value="login"`):
		return "login", nil
	case strings.Contains(page, `value="approve"`):
		return "consent", nil
	}
	return page, nil
}

// TestOpenIDConnectRelyingParty is a mobile-style public client on
// go-oidc: discovery, code with PKCE, a verified ID token with nonce,
// auth_time, at_hash and sid, userinfo, refresh (same auth_time, no nonce),
// a second sign-in without the consent page.
func TestOpenIDConnectRelyingParty(t *testing.T) {
	eachStore(t, allStores, func(t *testing.T, e *env) {
		ctx := t.Context()
		user := e.MustUser(t, "oidc-"+e.kind+"@example.com")
		app := e.oidcApp(t, user, nil)
		r := e.newRP(t, app)
		pc := newPageClient(t)

		before := time.Now().Add(-time.Second).Unix()
		tok, idt := e.codeFlow(t, r, pc, user.Email, "n-0S6_WzA2Mj", nil)
		c := claimsOf(t, idt)
		if idt.Subject != user.ID || idt.Issuer != e.http.URL || idt.Audience[0] != app.ID || idt.Nonce != "n-0S6_WzA2Mj" {
			t.Fatalf("ID token sub %q iss %q aud %v nonce %q", idt.Subject, idt.Issuer, idt.Audience, idt.Nonce)
		}
		if c.AuthTime < before || c.AuthTime > time.Now().Unix() || c.SID == "" || c.Email != user.Email {
			t.Fatalf("ID token claims %+v", c)
		}
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil || idt.AccessTokenHash == "" {
			t.Fatalf("at_hash %q: %v", idt.AccessTokenHash, err)
		}
		if !strings.Contains(tok.Extra("scope").(string), "openid") {
			t.Fatalf("scope %v", tok.Extra("scope"))
		}

		ui, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatalf("userinfo: %v", err)
		}
		if ui.Subject != user.ID || ui.Email != user.Email || ui.EmailVerified {
			t.Fatalf("userinfo %+v", ui)
		}

		// Refresh: a new ID token with the same auth_time and sid, no nonce.
		time.Sleep(1100 * time.Millisecond)
		tok.Expiry = time.Now().Add(-time.Minute)
		fresh, err := r.conf.TokenSource(ctx, tok).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		raw, _ := fresh.Extra("id_token").(string)
		idt2, err := r.verifier.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("verify refreshed ID token: %v", err)
		}
		c2 := claimsOf(t, idt2)
		if idt2.Nonce != "" || c2.AuthTime != c.AuthTime || c2.SID != c.SID || idt2.Subject != user.ID || !idt2.IssuedAt.After(idt.IssuedAt) {
			t.Fatalf("refreshed ID token nonce %q claims %+v, want auth_time %d sid %q", idt2.Nonce, c2, c.AuthTime, c.SID)
		}
		if err := idt2.VerifyAccessToken(fresh.AccessToken); err != nil {
			t.Fatal(err)
		}

		// Signing in again: the consent is remembered, no page at all.
		verifier := oauth2.GenerateVerifier()
		u, _ := url.Parse(r.conf.AuthCodeURL("st-2", oauth2.S256ChallengeOption(verifier)))
		if shown, loc := e.pagesShown(t, pc, u.Query()); shown != "redirect" || loc.Query().Get("code") == "" {
			t.Fatalf("second sign-in shows %q, want a redirect with a code", shown)
		}
		// prompt=consent asks again; so does a wider scope.
		q := u.Query()
		q.Set("prompt", "consent")
		if shown, _ := e.pagesShown(t, pc, q); shown != "consent" {
			t.Fatalf("prompt=consent shows %q", shown)
		}
		narrow := oauth2.Config{ClientID: app.ID, RedirectURL: e.callbackURL(), Endpoint: r.conf.Endpoint, Scopes: []string{"openid"}}
		nu, _ := url.Parse(narrow.AuthCodeURL("st-3", oauth2.S256ChallengeOption(verifier)))
		if shown, _ := e.pagesShown(t, pc, nu.Query()); shown != "redirect" {
			t.Fatalf("a narrower scope shows %q", shown)
		}
		// Without openid nothing is remembered (plain OAuth asks each time),
		// and no ID token is issued.
		plain := oauth2.Config{ClientID: app.ID, RedirectURL: e.callbackURL(), Endpoint: r.conf.Endpoint, Scopes: []string{"me"}}
		pu, _ := url.Parse(plain.AuthCodeURL("st-4", oauth2.S256ChallengeOption(verifier)))
		if shown, _ := e.pagesShown(t, pc, pu.Query()); shown != "consent" {
			t.Fatalf("a plain OAuth request shows %q", shown)
		}
		loc := e.signIn(t, pc, pu.Query(), user.Email)
		ptok, err := plain.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil || ptok.Extra("id_token") != nil {
			t.Fatalf("plain OAuth exchange: %v, id_token %v", err, ptok.Extra("id_token"))
		}
		// userinfo refuses a token without openid: 403 insufficient_scope.
		resp := e.call(t, http.MethodGet, "/oauth/userinfo", bearer(ptok.AccessToken), nil).mustStatus(t, http.StatusForbidden, "insufficient_scope")
		if h := resp.Header.Get("WWW-Authenticate"); !strings.Contains(h, `error="insufficient_scope"`) || !strings.Contains(h, `scope="openid"`) {
			t.Fatalf("WWW-Authenticate %q", h)
		}
	})
}

// TestOpenIDConnectDeviceFlow: the device grant with scope openid gets an
// ID token go-oidc verifies, with the sid and auth_time of the login on the
// /device page.
func TestOpenIDConnectDeviceFlow(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "tv-"+e.kind+"@example.com")
		app, _ := e.MustApp(t, user, resource.ApplicationInput{Name: "Fleet TV",
			GrantTypes: []resource.GrantType{resource.GrantDeviceCode, resource.GrantRefreshToken}, TokenEndpointAuthMethod: "none",
			DevicePollingInterval: 1, Scopes: []string{resource.ScopeMe, resource.ScopeOpenID}})
		r := e.newRP(t, app)
		ar := e.call(t, http.MethodPost, "/oauth/device_authorization", noAuth,
			url.Values{"client_id": {app.ID}, "scope": {"openid me"}}).mustStatus(t, http.StatusOK, "")
		var da deviceAuth
		if err := json.Unmarshal([]byte(ar.Body), &da); err != nil {
			t.Fatal(err)
		}
		e.decideDevice(t, newPageClient(t), da.UserCode, user.Email, true)
		waitPoll()
		tr := e.pollDevice(t, app, da.DeviceCode).mustOK(t)
		raw, _ := tr.Raw["id_token"].(string)
		idt, err := r.verifier.Verify(t.Context(), raw)
		if err != nil {
			t.Fatalf("device ID token: %v", err)
		}
		c := claimsOf(t, idt)
		if idt.Subject != user.ID || c.SID == "" || c.AuthTime == 0 || idt.Nonce != "" {
			t.Fatalf("device ID token sub %q claims %+v", idt.Subject, c)
		}
		if err := idt.VerifyAccessToken(tr.AccessToken); err != nil {
			t.Fatal(err)
		}
	})
}

// replica is a second authorization server on the same stores (database,
// Redis) and configuration, behind its own listener: another replica of
// the same deployment.
func (e *env) replica(tb testing.TB, change func(*wire.Config)) (*oauth.Server, string) {
	tb.Helper()
	cfg := e.wcfg
	if change != nil {
		change(&cfg)
	}
	a := wiretest.MustNew(tb, cfg, e.wopts...)
	mux := http.NewServeMux()
	for pattern, h := range a.OAuth.Patterns() {
		mux.Handle(pattern, h)
	}
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return a.OAuth, srv.URL
}

// TestSigningKeyRotationAcrossReplicas: two replicas share the keys. ID
// tokens signed before a rotation, during its delay (still the old key)
// and after it (the new key) verify through the JWKS of either replica;
// the JWKS is cacheable.
func TestSigningKeyRotationAcrossReplicas(t *testing.T) {
	fast := func(c *oauth.Config) { c.KeyRefresh = 50 * time.Millisecond }
	eachStore(t, allStores, func(t *testing.T, e *env) {
		ctx := t.Context()
		user := e.MustUser(t, "rotate-"+e.kind+"@example.com")
		app := e.oidcApp(t, user, nil)
		r := e.newRP(t, app)
		tok, first := e.codeFlow(t, r, newPageClient(t), user.Email, "n", nil)
		other, otherURL := e.replica(t, nil)

		refresh := func() string {
			t.Helper()
			tr := e.postToken(t, "", "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {app.ID}}).mustOK(t)
			tok.RefreshToken = tr.RefreshToken
			return tr.Raw["id_token"].(string)
		}
		kidOf := func(raw string) string {
			t.Helper()
			h, _, _ := strings.Cut(raw, ".")
			var hd struct {
				Kid string `json:"kid"`
				Typ string `json:"typ"`
			}
			b, _ := jsonB64(h)
			if err := json.Unmarshal(b, &hd); err != nil || hd.Typ != "JWT" {
				t.Fatalf("header %s: %v", b, err)
			}
			return hd.Kid
		}
		keys, err := e.srv.SigningKeys(ctx)
		if err != nil || len(keys) != 1 || keys[0].State != "signing" || keys[0].Alg != "RS256" {
			t.Fatalf("keys before rotation %+v: %v", keys, err)
		}
		oldKid := keys[0].ID
		if first.Subject != user.ID {
			t.Fatalf("sub %q", first.Subject)
		}
		rawBefore := tok.Extra("id_token").(string)

		// Rotate on the other replica to ES256, signing in 1.5 s.
		delay := 1500 * time.Millisecond
		ki, err := other.RotateSigningKey(ctx, oauth.AlgES256, delay)
		if err != nil || ki.State != "pending" || ki.Alg != "ES256" {
			t.Fatalf("rotate: %+v, %v", ki, err)
		}
		time.Sleep(100 * time.Millisecond) // both replicas re-read the keys
		rawDuring := refresh()
		if kidOf(rawDuring) != oldKid {
			t.Fatalf("during the delay the token is signed by %s, want the old key %s", kidOf(rawDuring), oldKid)
		}
		time.Sleep(delay)
		rawAfter := refresh()
		if kidOf(rawAfter) != ki.ID {
			t.Fatalf("after the delay the token is signed by %s, want the new key %s", kidOf(rawAfter), ki.ID)
		}
		for _, base := range []string{e.http.URL, otherURL} {
			resp, err := http.Get(base + "/oauth/jwks")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if cc := resp.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "public, max-age=") {
				t.Fatalf("JWKS Cache-Control %q", cc)
			}
			v := oidc.NewVerifier(e.http.URL, oidc.NewRemoteKeySet(ctx, base+"/oauth/jwks"),
				&oidc.Config{ClientID: app.ID, SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256}})
			for name, raw := range map[string]string{"before": rawBefore, "during": rawDuring, "after": rawAfter} {
				if _, err := v.Verify(ctx, raw); err != nil {
					t.Fatalf("token signed %s the rotation does not verify through %s: %v", name, base, err)
				}
			}
		}
		keys, err = other.SigningKeys(ctx)
		if err != nil || len(keys) != 2 || keys[0].State != "retired" || keys[1].State != "signing" || keys[0].PublishedUntil == nil {
			t.Fatalf("keys after rotation %+v: %v", keys, err)
		}
		if want := keys[1].SignsFrom.Add(24 * time.Hour); keys[0].PublishedUntil.Before(want) {
			t.Fatalf("the old key is published until %v, before its last token expires (%v)", keys[0].PublishedUntil, want)
		}
	}, fast)
}

func jsonB64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
