package oauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/resource"
)

func ccForm(scope string) url.Values {
	v := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		v.Set("scope", scope)
	}
	return v
}

func TestClientCredentials(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		owner := e.MustUser(t, "owner@example.com")
		app, secret := e.MustApp(t, owner, resource.ApplicationInput{GrantTypes: []resource.GrantType{"client_credentials"}})

		t.Run("OK", func(t *testing.T) {
			tr := e.postToken(t, app.ID, secret, ccForm("")).mustOK(t)
			if tr.TokenType != "Bearer" || tr.Scope != "app basic" || tr.ExpiresIn != 7200 || tr.RefreshToken != "" {
				t.Fatalf("response: %+v", tr.Raw)
			}
			if _, ok := tr.Raw["refresh_token"]; ok {
				t.Fatal("client credentials must not yield a refresh token")
			}
			if tr.CreatedAt == 0 {
				t.Fatal("created_at is missing")
			}
			if !strings.HasPrefix(tr.AccessToken, resource.AccessTokenPrefix) {
				t.Fatalf("access token %q lacks its prefix", tr.AccessToken)
			}
			for k, want := range map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache", "Content-Type": "application/json;charset=UTF-8"} {
				if got := tr.Header.Get(k); got != want {
					t.Fatalf("%s = %q, want %q", k, got, want)
				}
			}
			who := e.whoami(t, tr.AccessToken)
			if who == nil || who["client_id"] != app.ID || who["customer_id"] != app.CustomerID || who["user_id"] != "" {
				t.Fatalf("token resolves to %v", who)
			}
		})
		t.Run("OKNarrowScope", func(t *testing.T) {
			tr := e.postToken(t, app.ID, secret, ccForm("basic")).mustOK(t)
			if tr.Scope != "basic" {
				t.Fatalf("scope = %q", tr.Scope)
			}
		})
		t.Run("ErrScopeMe", func(t *testing.T) {
			e.postToken(t, app.ID, secret, ccForm("me")).mustError(t, 400, "invalid_scope")
		})
		t.Run("ErrScopeOutsideApplication", func(t *testing.T) {
			basicApp, basicSecret := e.MustApp(t, owner, resource.ApplicationInput{
				GrantTypes: []resource.GrantType{"client_credentials"}, Scopes: []string{"basic"}})
			e.postToken(t, basicApp.ID, basicSecret, ccForm("basic app")).mustError(t, 400, "invalid_scope")
			tr := e.postToken(t, basicApp.ID, basicSecret, ccForm("")).mustOK(t)
			if tr.Scope != "basic" {
				t.Fatalf("default scope = %q, want basic", tr.Scope)
			}
		})
		t.Run("ErrUnauthorizedClient", func(t *testing.T) {
			pw, pwSecret := e.MustApp(t, owner, resource.ApplicationInput{GrantTypes: []resource.GrantType{"password"}})
			e.postToken(t, pw.ID, pwSecret, ccForm("")).mustError(t, 400, "unauthorized_client")
		})
	})
}

func TestTokenEndpointTransport(t *testing.T) {
	e := newEnv(t, onSQLite)
	owner := e.MustUser(t, "owner@example.com")
	app, secret := e.MustApp(t, owner, resource.ApplicationInput{GrantTypes: []resource.GrantType{"client_credentials"}})

	t.Run("ErrGet", func(t *testing.T) {
		// The lead mounts "POST /oauth/token"; the handler refuses other
		// methods on its own too.
		rec := httptestRecorder(e, http.MethodGet, "/oauth/token?grant_type=client_credentials", "", nil)
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "POST" {
			t.Fatalf("GET: %d %v", rec.Code, rec.Header())
		}
	})
	t.Run("ErrJSONBody", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, e.url("/oauth/token"), strings.NewReader(`{"grant_type":"client_credentials"}`))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(app.ID, secret)
		doToken(t, req).mustError(t, 400, "invalid_request")
	})
	t.Run("ErrQueryStringIgnored", func(t *testing.T) {
		// Credentials and grant in the query string are never read.
		q := url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ID}, "client_secret": {secret}}
		req, _ := http.NewRequest(http.MethodPost, e.url("/oauth/token?"+q.Encode()), strings.NewReader(""))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		doToken(t, req).mustError(t, 401, "invalid_client")

		req, _ = http.NewRequest(http.MethodPost, e.url("/oauth/token?grant_type=client_credentials"), strings.NewReader(""))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(app.ID, secret)
		doToken(t, req).mustError(t, 400, "invalid_request")
	})
	t.Run("ErrDuplicateParameter", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, e.url("/oauth/token"), strings.NewReader("grant_type=client_credentials&scope=app&scope=basic"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(app.ID, secret)
		doToken(t, req).mustError(t, 400, "invalid_request")
	})
	t.Run("ErrUnsupportedGrantType", func(t *testing.T) {
		e.postToken(t, app.ID, secret, url.Values{"grant_type": {"urn:example:nope"}}).mustError(t, 400, "unsupported_grant_type")
	})
	t.Run("ErrMissingGrantType", func(t *testing.T) {
		e.postToken(t, app.ID, secret, url.Values{}).mustError(t, 400, "invalid_request")
	})
}

// httptestRecorder sends a request straight to the server's token handler.
func httptestRecorder(e *env, method, target, body string, h http.Header) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, e.url(target), strings.NewReader(body))
	for k, v := range h {
		req.Header[k] = v
	}
	e.srv.Token().ServeHTTP(rec, req)
	return rec
}

func TestClientAuthentication(t *testing.T) {
	e := newEnv(t, onSQLite)
	owner := e.MustUser(t, "owner@example.com")
	basicApp, basicSecret := e.MustApp(t, owner, resource.ApplicationInput{GrantTypes: []resource.GrantType{"client_credentials"}})
	postApp, postSecret := e.MustApp(t, owner, resource.ApplicationInput{
		GrantTypes: []resource.GrantType{"client_credentials"}, TokenEndpointAuthMethod: "client_secret_post"})
	public, _ := e.MustApp(t, owner, resource.ApplicationInput{
		GrantTypes: []resource.GrantType{"authorization_code", "refresh_token"}, TokenEndpointAuthMethod: "none",
		RedirectURIs: []string{e.callbackURL()}})

	postForm := func(id, secret string) url.Values {
		f := ccForm("")
		f.Set("client_id", id)
		f.Set("client_secret", secret)
		return f
	}
	t.Run("OKBasic", func(t *testing.T) {
		e.postToken(t, basicApp.ID, basicSecret, ccForm("")).mustOK(t)
	})
	t.Run("OKPost", func(t *testing.T) {
		e.postToken(t, "", "", postForm(postApp.ID, postSecret)).mustOK(t)
	})
	t.Run("ErrPostForBasicClient", func(t *testing.T) {
		tr := e.postToken(t, "", "", postForm(basicApp.ID, basicSecret))
		tr.mustError(t, 401, "invalid_client")
		if !strings.HasPrefix(tr.Header.Get("WWW-Authenticate"), "Basic realm=") {
			t.Fatalf("WWW-Authenticate = %q", tr.Header.Get("WWW-Authenticate"))
		}
	})
	t.Run("ErrBasicForPostClient", func(t *testing.T) {
		e.postToken(t, postApp.ID, postSecret, ccForm("")).mustError(t, 401, "invalid_client")
	})
	t.Run("ErrTwoMethods", func(t *testing.T) {
		f := ccForm("")
		f.Set("client_secret", basicSecret)
		e.postToken(t, basicApp.ID, basicSecret, f).mustError(t, 400, "invalid_request")
	})
	t.Run("ErrWrongSecret", func(t *testing.T) {
		e.postToken(t, basicApp.ID, basicSecret+"x", ccForm("")).mustError(t, 401, "invalid_client")
		e.postToken(t, basicApp.ID, "", ccForm("")).mustError(t, 401, "invalid_client")
	})
	t.Run("ErrUnknownClient", func(t *testing.T) {
		e.postToken(t, resource.NewID(), basicSecret, ccForm("")).mustError(t, 401, "invalid_client")
		e.postToken(t, "not-an-id", basicSecret, ccForm("")).mustError(t, 401, "invalid_client")
	})
	t.Run("ErrNoCredentials", func(t *testing.T) {
		e.postToken(t, "", "", ccForm("")).mustError(t, 401, "invalid_client")
	})
	t.Run("ErrPublicClientWithSecret", func(t *testing.T) {
		e.postToken(t, public.ID, "anything", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}).
			mustError(t, 401, "invalid_client")
	})
	t.Run("ErrConfidentialClientWithoutSecret", func(t *testing.T) {
		f := ccForm("")
		f.Set("client_id", basicApp.ID)
		e.postToken(t, "", "", f).mustError(t, 401, "invalid_client")
	})
	t.Run("ErrDisabled", func(t *testing.T) {
		app, secret := e.MustApp(t, owner, resource.ApplicationInput{GrantTypes: []resource.GrantType{"client_credentials"}})
		e.postToken(t, app.ID, secret, ccForm("")).mustOK(t)
		app.Enabled = false
		if err := e.apps.Store.UpdateApplication(context.Background(), app); err != nil {
			t.Fatal(err)
		}
		e.postToken(t, app.ID, secret, ccForm("")).mustError(t, 401, "invalid_client")
	})
}
