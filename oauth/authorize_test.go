package oauth_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/wire"
	"github.com/assetgate/assetgate/wire/wiretest"
)

// mustRedirectError fails unless resp redirects to the callback with the
// OAuth error code and state s (in the query).
func mustRedirectError(tb testing.TB, e *env, resp *http.Response, code, state string) {
	tb.Helper()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		tb.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if !strings.HasPrefix(loc.String(), e.callbackURL()+"?") {
		tb.Fatalf("redirected to %s", loc)
	}
	if q := loc.Query(); q.Get("error") != code || q.Get("state") != state {
		tb.Fatalf("redirect %s, want error %s and state %q", loc, code, state)
	}
}

// mustErrorPage fails unless resp is an error page with status, and no
// redirect.
func mustErrorPage(tb testing.TB, resp *http.Response, page string, status int) {
	tb.Helper()
	if resp.StatusCode != status || resp.Header.Get("Location") != "" || !strings.Contains(page, `class="error"`) {
		tb.Fatalf("status %d, Location %q, page: %s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
}

func TestAuthorizeRequestErrors(t *testing.T) {
	e := newEnv(t, onSQLite)
	user := e.MustUser(t, "judy@example.com")
	cb := e.callbackURL()
	public, _ := e.MustApp(t, user, resource.ApplicationInput{
		GrantTypes: []resource.GrantType{"authorization_code"}, TokenEndpointAuthMethod: "none", RedirectURIs: []string{cb}})
	pc := newPageClient(t)
	get := func(p url.Values) (*http.Response, string) {
		return pc.do(t, http.MethodGet, e.url("/oauth/authorize?"+p.Encode()), nil)
	}
	challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())

	t.Run("ErrUnknownClient", func(t *testing.T) {
		p := codeParams(public, cb, "s", challenge, "")
		p.Set("client_id", resource.NewID())
		resp, page := get(p)
		mustErrorPage(t, resp, page, http.StatusBadRequest)
	})
	t.Run("ErrMissingClient", func(t *testing.T) {
		resp, page := get(url.Values{"response_type": {"code"}, "redirect_uri": {cb}})
		mustErrorPage(t, resp, page, http.StatusBadRequest)
	})
	t.Run("ErrPublicClientWithoutPKCE", func(t *testing.T) {
		resp, _ := get(codeParams(public, cb, "st", "", ""))
		mustRedirectError(t, e, resp, "invalid_request", "st")
	})
	t.Run("ErrMalformedChallenge", func(t *testing.T) {
		resp, _ := get(codeParams(public, cb, "st", "short", "S256"))
		mustRedirectError(t, e, resp, "invalid_request", "st")
	})
	t.Run("ErrUnknownMethod", func(t *testing.T) {
		resp, _ := get(codeParams(public, cb, "st", challenge, "S512"))
		mustRedirectError(t, e, resp, "invalid_request", "st")
	})
	t.Run("ErrUnsupportedResponseType", func(t *testing.T) {
		p := codeParams(public, cb, "st", challenge, "")
		// The hybrid flow is not served.
		p.Set("response_type", "code id_token")
		resp, _ := get(p)
		mustRedirectError(t, e, resp, "unsupported_response_type", "st")
	})
	t.Run("ErrScope", func(t *testing.T) {
		p := codeParams(public, cb, "st", challenge, "")
		p.Set("scope", "app")
		resp, _ := get(p)
		mustRedirectError(t, e, resp, "invalid_scope", "st")
	})
	t.Run("ErrDisabled", func(t *testing.T) {
		app, _ := e.MustAppWith(t, user, resource.ApplicationInput{
			GrantTypes: []resource.GrantType{"authorization_code"}, TokenEndpointAuthMethod: "none", RedirectURIs: []string{cb}},
			func(a *resource.Application) { a.Enabled = false })
		resp, page := get(codeParams(app, cb, "st", challenge, ""))
		mustErrorPage(t, resp, page, http.StatusBadRequest)
	})
	t.Run("OKRedirectURIOmitted", func(t *testing.T) {
		resp, page := get(codeParams(public, "", "st", challenge, ""))
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `value="login"`) {
			t.Fatalf("status %d: %s", resp.StatusCode, page)
		}
	})
}

func TestAuthorizePages(t *testing.T) {
	e := newEnv(t, onSQLite)
	e.users.Throttle.MaxPerAccount = 3
	user := e.MustUser(t, "ken@example.com")
	cb := e.callbackURL()
	app, _ := e.MustApp(t, user, resource.ApplicationInput{Name: "Ken's <Fleet> App",
		GrantTypes: []resource.GrantType{"authorization_code"}, TokenEndpointAuthMethod: "none", RedirectURIs: []string{cb}})
	params := codeParams(app, cb, awkwardState, oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier()), "")
	authURL := e.url("/oauth/authorize?" + params.Encode())

	t.Run("OKHeaders", func(t *testing.T) {
		pc := newPageClient(t)
		resp, page := pc.do(t, http.MethodGet, authURL, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Fatalf("CSP = %q", csp)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("headers: %v", resp.Header)
		}
		if !strings.Contains(page, "Ken&#39;s &lt;Fleet&gt; App") {
			t.Fatal("the application name is not escaped on the page")
		}
		if !strings.Contains(page, `name="csrf_token"`) {
			t.Fatal("the login form has no CSRF token")
		}
		c := resp.Cookies()
		if len(c) != 1 || c[0].Name != "assetgate_session" || !c[0].HttpOnly || c[0].SameSite != http.SameSiteLaxMode || c[0].Secure {
			t.Fatalf("cookie: %+v", c)
		}
	})
	t.Run("OKSecureCookieForHTTPSIssuer", func(t *testing.T) {
		cfg := wiretest.Config()
		cfg.Issuer, cfg.Key = "https://auth.example.com", e.key
		srv := wiretest.MustNew(t, cfg, wire.WithDB(e.db)).OAuth
		rec := httptest.NewRecorder()
		srv.Authorize().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/oauth/authorize?"+params.Encode(), nil))
		c := rec.Result().Cookies()
		if rec.Code != http.StatusOK || len(c) != 1 || !c[0].Secure || c[0].Name != "__Host-assetgate_session" {
			t.Fatalf("status %d, cookie %+v", rec.Code, c)
		}
	})
	t.Run("ErrCSRF", func(t *testing.T) {
		pc := newPageClient(t)
		_, page := pc.do(t, http.MethodGet, authURL, nil)
		form := hiddenFields(page)
		form.Set("email", user.Email)
		form.Set("password", testPassword)
		form.Set("action", "login")
		for name, token := range map[string]string{"missing": "", "wrong": form.Get("csrf_token") + "x"} {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if token == "" {
				f.Del("csrf_token")
			} else {
				f.Set("csrf_token", token)
			}
			resp, page := pc.do(t, http.MethodPost, e.url("/oauth/authorize"), f)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("%s CSRF token: status %d: %s", name, resp.StatusCode, page)
			}
		}
		// Another browser's token does not fit this session.
		other := newPageClient(t)
		resp, _ := other.do(t, http.MethodPost, e.url("/oauth/authorize"), form)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("foreign session: status %d", resp.StatusCode)
		}
	})
	t.Run("OKSessionRotatesAndIsReused", func(t *testing.T) {
		pc := newPageClient(t)
		resp, _ := pc.do(t, http.MethodGet, authURL, nil)
		anon := resp.Cookies()[0].Value
		e.mustCode(t, pc, params, user.Email)
		u, _ := url.Parse(e.url("/"))
		var session []*http.Cookie
		for _, c := range pc.C.Jar.Cookies(u) {
			if c.Name != "ag_known" {
				session = append(session, c)
			}
		}
		if len(session) != 1 || session[0].Value == anon {
			t.Fatalf("session id not changed at login: %v", pc.C.Jar.Cookies(u))
		}
		// Logged in: straight to the consent page.
		resp, page := pc.do(t, http.MethodGet, authURL, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `value="approve"`) || !strings.Contains(page, user.Email) {
			t.Fatalf("status %d: %s", resp.StatusCode, page)
		}
	})
	t.Run("OKDeny", func(t *testing.T) {
		pc := newPageClient(t)
		loc := e.authorize(t, pc, params, user.Email, false)
		if q := loc.Query(); q.Get("error") != "access_denied" || q.Get("state") != awkwardState || q.Has("code") {
			t.Fatalf("deny redirect: %s", loc)
		}
	})
	t.Run("OKDeleteDenies", func(t *testing.T) {
		pc := newPageClient(t)
		_, page := pc.do(t, http.MethodGet, authURL, nil)
		csrf := hiddenFields(page).Get("csrf_token")
		req, _ := http.NewRequest(http.MethodDelete, authURL, nil)
		req.Header.Set("X-CSRF-Token", csrf)
		resp, err := pc.C.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		mustRedirectError(t, e, resp, "access_denied", awkwardState)
	})
	t.Run("ErrLoginThrottled", func(t *testing.T) {
		pc := newPageClient(t)
		_, page := pc.do(t, http.MethodGet, authURL, nil)
		form := hiddenFields(page)
		form.Set("email", user.Email)
		form.Set("action", "login")
		form.Set("password", "hunter2-wrong-password")
		// The free failures of the pair, and one more that makes it wait.
		for range resource.DefaultFreeFailuresPerPair + 1 {
			resp, page := pc.do(t, http.MethodPost, e.url("/oauth/authorize"), form)
			if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Invalid e-mail or password") {
				t.Fatalf("status %d: %s", resp.StatusCode, page)
			}
		}
		form.Set("password", testPassword)
		resp, page := pc.do(t, http.MethodPost, e.url("/oauth/authorize"), form)
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(page, "Too many failed logins") {
			t.Fatalf("status %d: %s", resp.StatusCode, page)
		}
		if logs := e.logs.String(); strings.Contains(logs, "hunter2") || !strings.Contains(logs, "login failed") {
			t.Fatalf("logs: %s", logs)
		}
	})
}
