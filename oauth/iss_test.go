package oauth_test

import (
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"

	"github.com/assetgate/assetgate/oauth"
	"github.com/assetgate/assetgate/resource"
)

// TestAuthorizationResponseIss is the regression test of the issuer
// identification of RFC 9207: every authorization response, success or error, in the query
// or the fragment, names the issuer, and the metadata says so.
func TestAuthorizationResponseIss(t *testing.T) {
	e := newEnv(t, onSQLite)
	user := e.MustUser(t, "iris@example.com")
	cb := e.callbackURL()
	issuer := e.http.URL
	codeApp, _ := e.MustApp(t, user, resource.ApplicationInput{
		GrantTypes: []resource.GrantType{"authorization_code"}, TokenEndpointAuthMethod: "none", RedirectURIs: []string{cb}})
	implicitApp, _ := e.MustApp(t, user, resource.ApplicationInput{
		GrantTypes: []resource.GrantType{"implicit"}, TokenEndpointAuthMethod: "none", RedirectURIs: []string{cb}})
	challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
	mustIss := func(t *testing.T, v url.Values, want string) {
		t.Helper()
		if got := v["iss"]; len(got) != 1 || got[0] != want {
			t.Fatalf("iss = %q in %v, want %q", got, v, want)
		}
	}
	fragment := func(t *testing.T, loc *url.URL) url.Values {
		t.Helper()
		v, err := url.ParseQuery(loc.EscapedFragment())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	t.Run("OKCode", func(t *testing.T) {
		loc := e.authorize(t, newPageClient(t), codeParams(codeApp, cb, "st", challenge, ""), user.Email, true)
		if loc.Query().Get("code") == "" {
			t.Fatalf("no code: %s", loc)
		}
		mustIss(t, loc.Query(), issuer)
	})
	t.Run("OKDenied", func(t *testing.T) {
		loc := e.authorize(t, newPageClient(t), codeParams(codeApp, cb, "st", challenge, ""), user.Email, false)
		if loc.Query().Get("error") != "access_denied" {
			t.Fatalf("deny: %s", loc)
		}
		mustIss(t, loc.Query(), issuer)
	})
	t.Run("OKError", func(t *testing.T) {
		p := codeParams(codeApp, cb, "st", challenge, "")
		p.Set("scope", "app")
		resp, _ := newPageClient(t).do(t, http.MethodGet, e.url("/oauth/authorize?"+p.Encode()), nil)
		mustRedirectError(t, e, resp, "invalid_scope", "st")
		loc, _ := url.Parse(resp.Header.Get("Location"))
		mustIss(t, loc.Query(), issuer)
	})
	implicit := url.Values{"response_type": {"token"}, "client_id": {implicitApp.ID}, "redirect_uri": {cb}, "state": {"st"}}
	t.Run("OKImplicitFragment", func(t *testing.T) {
		loc := e.authorize(t, newPageClient(t), implicit, user.Email, true)
		frag := fragment(t, loc)
		if frag.Get("access_token") == "" || loc.RawQuery != "" {
			t.Fatalf("implicit response: %s", loc)
		}
		mustIss(t, frag, issuer)
	})
	t.Run("OKImplicitErrorFragment", func(t *testing.T) {
		p := url.Values{"response_type": {"token"}, "client_id": {codeApp.ID}, "redirect_uri": {cb}, "state": {"st"}}
		resp, _ := newPageClient(t).do(t, http.MethodGet, e.url("/oauth/authorize?"+p.Encode()), nil)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		frag := fragment(t, loc)
		if resp.StatusCode != http.StatusFound || frag.Get("error") != "unauthorized_client" {
			t.Fatalf("status %d, location %s", resp.StatusCode, loc)
		}
		mustIss(t, frag, issuer)
	})
	t.Run("OKMetadata", func(t *testing.T) {
		m := e.call(t, http.MethodGet, "/.well-known/oauth-authorization-server", noAuth, nil).mustStatus(t, 200, "").JSON
		if m["authorization_response_iss_parameter_supported"] != true {
			t.Fatalf("authorization_response_iss_parameter_supported = %v", m["authorization_response_iss_parameter_supported"])
		}
	})
	t.Run("OKHTTPSIssuer", func(t *testing.T) {
		const https = "https://auth.example.com"
		e := newEnv(t, onSQLite, func(c *oauth.Config) { c.Issuer = https })
		user := e.MustUser(t, "iris@example.com")
		app, _ := e.MustApp(t, user, resource.ApplicationInput{
			GrantTypes: []resource.GrantType{"authorization_code"}, TokenEndpointAuthMethod: "none", RedirectURIs: []string{e.callbackURL()}})
		p := codeParams(app, e.callbackURL(), "st", challenge, "")
		p.Set("scope", "app")
		resp, _ := newPageClient(t).do(t, http.MethodGet, e.url("/oauth/authorize?"+p.Encode()), nil)
		mustRedirectError(t, e, resp, "invalid_scope", "st")
		loc, _ := url.Parse(resp.Header.Get("Location"))
		mustIss(t, loc.Query(), https)
		m := e.call(t, http.MethodGet, "/.well-known/oauth-authorization-server", noAuth, nil).mustStatus(t, 200, "").JSON
		if m["issuer"] != https {
			t.Fatalf("metadata issuer %v, want %s", m["issuer"], https)
		}
	})
}
