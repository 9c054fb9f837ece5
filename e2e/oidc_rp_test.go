package e2e

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/resource"
)

// nonceKey carries, in a request's context, the nonce the relying party
// sent with its authorization request (zitadel's verifier asks for it per
// request; outside a callback it is "": an ID token then must carry none).
type nonceKey struct{}

func expectedNonce(ctx context.Context) string {
	n, _ := ctx.Value(nonceKey{}).(string)
	return n
}

// zitadelRP is a web relying party on github.com/zitadel/oidc/v3's rp
// package, served by its own HTTP server as an application backend would
// be: /login starts a sign-in (state, nonce and the PKCE verifier in its
// cookies), /callback exchanges the code and verifies the ID token.
type zitadelRP struct {
	srv   *httptest.Server
	party rp.RelyingParty

	mu     sync.Mutex
	tokens *oidc.Tokens[*oidc.IDTokenClaims] // of the last callback
}

// newZitadelServer starts the relying party's HTTP server; the relying
// party itself comes with discovery (start), once its application exists.
func newZitadelServer(t *testing.T) *zitadelRP {
	z := &zitadelRP{}
	z.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if z.party == nil {
			http.Error(w, "not configured", http.StatusServiceUnavailable)
			return
		}
		switch r.URL.Path {
		case "/login":
			z.login(w, r)
		case "/callback":
			z.callback(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(z.srv.Close)
	return z
}

// start discovers the issuer and configures the relying party for the
// public client clientID: PKCE (S256, the verifier in a cookie), nonce
// checked against the one of the request.
func (z *zitadelRP) start(t *testing.T, issuer, clientID string, scopes ...string) {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cookies := httphelper.NewCookieHandler(key, key, httphelper.WithUnsecure())
	party, err := rp.NewRelyingPartyOIDC(t.Context(), issuer, clientID, "", z.srv.URL+"/callback", scopes,
		rp.WithPKCE(cookies), rp.WithSigningAlgsFromDiscovery(),
		rp.WithVerifierOpts(rp.WithNonce(expectedNonce)))
	if err != nil {
		t.Fatalf("zitadel discovery: %v", err)
	}
	z.party = party
}

func (z *zitadelRP) login(w http.ResponseWriter, r *http.Request) {
	nonce := rand.Text()
	http.SetCookie(w, &http.Cookie{Name: "rp_nonce", Value: nonce, Path: "/", HttpOnly: true})
	opts := []rp.URLParamOpt{rp.WithURLParam("nonce", nonce)}
	if p := r.URL.Query().Get("prompt"); p != "" {
		opts = append(opts, rp.WithPromptURLParam(p))
	}
	rp.AuthURLHandler(rand.Text, z.party, opts...)(w, r)
}

func (z *zitadelRP) callback(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie("rp_nonce")
	if err != nil {
		http.Error(w, "no nonce cookie", http.StatusBadRequest)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), nonceKey{}, c.Value))
	rp.CodeExchangeHandler(func(w http.ResponseWriter, r *http.Request, tokens *oidc.Tokens[*oidc.IDTokenClaims], _ string, _ rp.RelyingParty) {
		z.mu.Lock()
		z.tokens = tokens
		z.mu.Unlock()
		_, _ = w.Write([]byte("signed in"))
	}, z.party)(w, r)
}

// signIn runs a whole sign-in with the browser pc: the relying party's
// /login, assetgate's pages (login and consent when shown), the callback.
// It returns the tokens the relying party got and verified.
func (z *zitadelRP) signIn(t *testing.T, pc *testsupport.PageClient, issuer, email string) *oidc.Tokens[*oidc.IDTokenClaims] {
	t.Helper()
	authz := z.startLogin(t, pc, "")
	if authz.Get("code_challenge_method") != "S256" || authz.Get("code_challenge") == "" || authz.Get("nonce") == "" {
		t.Fatalf("the relying party's authorization request has no PKCE or nonce: %v", authz)
	}
	back := pc.SignIn(t, issuer, authz, email, tenantPassword)
	if q := back.Query(); q.Get("code") == "" || q.Get("iss") != issuer || q.Get("state") != authz.Get("state") {
		t.Fatalf("authorization response %s", back)
	}
	z.mu.Lock()
	z.tokens = nil
	z.mu.Unlock()
	resp, page := pc.Do(t, http.MethodGet, back.String(), nil)
	if resp.StatusCode != http.StatusOK || page != "signed in" {
		t.Fatalf("relying party callback: %d: %s", resp.StatusCode, page)
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.tokens
}

// startLogin asks the relying party's /login (with prompt when not "") and
// returns the query of the authorization request it redirects to.
func (z *zitadelRP) startLogin(t *testing.T, pc *testsupport.PageClient, prompt string) url.Values {
	t.Helper()
	u := z.srv.URL + "/login"
	if prompt != "" {
		u += "?prompt=" + url.QueryEscape(prompt)
	}
	resp, page := pc.Do(t, http.MethodGet, u, nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("relying party /login: %d: %s", resp.StatusCode, page)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query()
}

// TestZitadelRelyingParty: a web application on zitadel/oidc's rp package
// signs a user in against the real server: discovery, the code flow with
// PKCE (S256) and nonce, a verified ID token (at_hash, sid, auth_time),
// userinfo, refresh (same auth_time and sid, no nonce), the device flow
// with an ID token, and RP-initiated logout at the end_session_endpoint:
// the redirect with state to the registered post_logout_redirect_uri only,
// the login session ended (prompt=none then answers login_required), the
// session's refresh tokens revoked and another session's kept.
func TestZitadelRelyingParty(t *testing.T) {
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			addr := freeAddr(t)
			issuer := "http://" + addr
			env := mkenv(t).With("ASSETGATE_ADDR", addr, "ASSETGATE_ISSUER", issuer)
			ts := startServer(t, env)
			if ts.URL != issuer {
				t.Fatalf("server URL %s, issuer %s", ts.URL, issuer)
			}
			ctx := t.Context()
			customer := mustCLI(t, env, "", "customer", "create", "--name", "Zitadel RP")["id"].(string)
			email := "rp-" + resource.NewID() + "@example.com"
			userID := mustCLI(t, env, tenantPassword+"\n", "user", "create", "--customer", customer, "--email", email, "--password-stdin")["id"].(string)

			z := newZitadelServer(t)
			app := mustCLI(t, env, "", "app", "create", "--owner", userID, "--name", "Fleet Web",
				"--grant", string(resource.GrantAuthorizationCode), "--grant", string(resource.GrantRefreshToken),
				"--grant", string(resource.GrantDeviceCode), "--auth-method", "none",
				"--redirect-uri", z.srv.URL+"/callback", "--post-logout-redirect-uri", z.srv.URL+"/bye", "--logout-revokes-tokens",
				"--scope", "openid", "--scope", "profile", "--scope", "email", "--scope", "me")
			clientID := app["client_id"].(string)
			z.start(t, issuer, clientID, oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, "me")
			if got := z.party.GetEndSessionEndpoint(); got != issuer+"/oauth/logout" {
				t.Fatalf("end_session_endpoint %q", got)
			}

			// The code flow with PKCE: login and consent pages, then the
			// callback exchanges the code with the verifier of its cookie.
			browser := testsupport.NewPageClient(t)
			before := time.Now().Add(-time.Second)
			tokens := z.signIn(t, browser, issuer, email)
			claims := tokens.IDTokenClaims
			if claims.Subject != userID || !slices.Contains([]string(claims.Audience), clientID) || claims.Nonce == "" ||
				claims.SessionID == "" || claims.AccessTokenHash == "" || claims.AuthTime.AsTime().Before(before.Truncate(time.Second)) ||
				claims.Email != email {
				t.Fatalf("ID token claims %+v", claims)
			}
			if tokens.RefreshToken == "" || !strings.Contains(tokens.Extra("scope").(string), "openid") {
				t.Fatalf("token response: refresh %q scope %v", tokens.RefreshToken, tokens.Extra("scope"))
			}

			// Userinfo with the access token: the claims of the granted scopes.
			info, err := rp.Userinfo[*oidc.UserInfo](ctx, tokens.AccessToken, oidc.BearerToken, claims.Subject, z.party)
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			if info.Subject != userID || info.Email != email {
				t.Fatalf("userinfo %+v", info)
			}
			if _, err := rp.Userinfo[*oidc.UserInfo](ctx, "agat_not-a-token", oidc.BearerToken, claims.Subject, z.party); err == nil {
				t.Fatal("userinfo answered a made-up token")
			}

			// A second sign-in: the consent is remembered, no page at all;
			// its code does not exchange without the right PKCE verifier.
			authz := z.startLogin(t, browser, "")
			back := browser.SignIn(t, issuer, authz, email, "no password is asked")
			if _, err := rp.CodeExchange[*oidc.IDTokenClaims](ctx, back.Query().Get("code"), z.party,
				rp.WithCodeVerifier("a-verifier-that-is-long-enough-but-not-the-one-of-the-challenge")); err == nil ||
				!strings.Contains(err.Error(), "invalid_grant") {
				t.Fatalf("exchange with a wrong PKCE verifier: %v", err)
			}

			// Refresh: a new ID token with the same auth_time and sid and no
			// nonce (the verifier outside a callback wants none).
			time.Sleep(1100 * time.Millisecond)
			fresh, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, z.party, tokens.RefreshToken, "", "")
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			fc := fresh.IDTokenClaims
			if fc == nil || fc.Subject != userID || fc.Nonce != "" || fc.SessionID != claims.SessionID ||
				!fc.AuthTime.AsTime().Equal(claims.AuthTime.AsTime()) || !fc.IssuedAt.AsTime().After(claims.IssuedAt.AsTime()) {
				t.Fatalf("refreshed ID token %+v, first %+v", fc, claims)
			}
			if fresh.RefreshToken == "" || fresh.AccessToken == tokens.AccessToken {
				t.Fatalf("refresh response: refresh %q, access token unchanged: %v", fresh.RefreshToken, fresh.AccessToken == tokens.AccessToken)
			}

			// The device flow, from a TV app of the same client asking for
			// less (its own relying party: a refresh asks for the scopes
			// of the relying party), approved on a phone with a login
			// session of its own.
			tv, err := rp.NewRelyingPartyOIDC(ctx, issuer, clientID, "", "", []string{oidc.ScopeOpenID, "me"})
			if err != nil {
				t.Fatalf("zitadel discovery: %v", err)
			}
			da, err := rp.DeviceAuthorization(ctx, tv.OAuthConfig().Scopes, tv, nil)
			if err != nil {
				t.Fatalf("device authorization: %v", err)
			}
			testsupport.NewPageClient(t).DecideDevice(t, issuer, da.UserCode, email, tenantPassword, true)
			pollCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			dt, err := rp.DeviceAccessToken(pollCtx, da.DeviceCode, time.Duration(da.Interval)*time.Second, tv)
			if err != nil {
				t.Fatalf("device access token: %v", err)
			}
			dc, err := rp.VerifyTokens[*oidc.IDTokenClaims](ctx, dt.AccessToken, dt.IDToken, tv.IDTokenVerifier())
			if err != nil {
				t.Fatalf("device ID token: %v", err)
			}
			if dc.Subject != userID || dc.SessionID == "" || dc.SessionID == claims.SessionID || dc.Nonce != "" || dt.RefreshToken == "" {
				t.Fatalf("device ID token %+v (browser sid %s), refresh %q", dc, claims.SessionID, dt.RefreshToken)
			}

			// Logout to an unregistered address: refused, no redirect.
			if u, err := rp.EndSession(ctx, z.party, tokens.IDToken, "https://elsewhere.example/bye", "st", "", nil); err == nil ||
				!strings.Contains(err.Error(), "invalid_request") {
				t.Fatalf("logout to an unregistered URI: %v, %v", u, err)
			}
			// The browser session still stands after that refusal.
			if loc := browser.SignIn(t, issuer, z.startLogin(t, browser, "none"), email, "no password is asked"); loc.Query().Get("code") == "" {
				t.Fatalf("prompt=none before logout: %s", loc)
			}

			// RP-initiated logout with the ID token as hint.
			done, err := rp.EndSession(ctx, z.party, tokens.IDToken, z.srv.URL+"/bye", "st-bye", "", nil)
			if err != nil {
				t.Fatalf("logout: %v", err)
			}
			if done == nil || done.String() != z.srv.URL+"/bye?state=st-bye" {
				t.Fatalf("logout redirect %v", done)
			}
			// The login session has ended, for the browser too.
			q := z.startLogin(t, browser, "none")
			resp, page := browser.Do(t, http.MethodGet, issuer+"/oauth/authorize?"+q.Encode(), nil)
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "login_required" || !strings.HasPrefix(loc.String(), z.srv.URL+"/callback") {
				t.Fatalf("prompt=none after logout: %d %s %s", resp.StatusCode, loc, page)
			}
			// The session's refresh token is revoked; the device's session
			// is another one and keeps its own.
			_, err = rp.RefreshTokens[*oidc.IDTokenClaims](ctx, z.party, fresh.RefreshToken, "", "")
			var oe *oidc.Error
			if !errors.As(err, &oe) || oe.ErrorType != oidc.InvalidGrant {
				t.Fatalf("refresh after logout: %v", err)
			}
			if _, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, tv, dt.RefreshToken, "", ""); err != nil {
				t.Fatalf("the device's refresh token after the browser's logout: %v", err)
			}
		})
	}
}
