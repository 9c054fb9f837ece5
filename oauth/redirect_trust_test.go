package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// asUser returns a context carrying a `me` principal of u, as the bearer
// middleware of the APIs makes for a user's access token.
func asUser(u *resource.User) context.Context {
	return scopes.NewContext(context.Background(), &scopes.Principal{
		Kind: scopes.KindUser, CustomerID: u.CustomerID, UserID: u.ID,
		ClientID: resource.NewID(), FamilyID: resource.NewFamilyID(), Scopes: []string{scopes.Me},
	})
}

// MustUserApp registers an application the way a user does through the
// JSON:API or GraphQL (ApplicationService.Register with a `me` principal):
// no administrator vouched for its redirect URIs.
func (e *env) MustUserApp(tb testing.TB, owner *resource.User, in resource.ApplicationInput) *resource.Application {
	tb.Helper()
	if in.Name == "" {
		in.Name = "User-made app"
	}
	app, _, err := e.apps.Register(asUser(owner), in)
	if err != nil {
		tb.Fatalf("register application: %v", err)
	}
	return app
}

// mustOAuthErrorPage fails unless resp is assetgate's own error page (400,
// HTML, no redirect) naming the OAuth error code.
func mustOAuthErrorPage(tb testing.TB, resp *http.Response, page, code string) {
	tb.Helper()
	mustErrorPage(tb, resp, page, http.StatusBadRequest)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		tb.Fatalf("Content-Type %q", ct)
	}
	if !strings.Contains(page, code) {
		tb.Fatalf("the page does not name the error %s: %s", code, page)
	}
}

// TestAuthorizeUntrustedRedirect is the regression test of an open
// redirector (RFC 9700 §4.11.2): an application a user
// registered through the API could send a browser anywhere, at once, with
// a malformed authorization request.
func TestAuthorizeUntrustedRedirect(t *testing.T) {
	eachStore(t, []string{onSQLite, onPostgres}, func(t *testing.T, e *env) {
		user := e.MustUser(t, "mallory@example.com")
		cb := e.callbackURL()
		const evil = "https://evil.example/landing"
		evilApp := e.MustUserApp(t, user, resource.ApplicationInput{
			GrantTypes: []resource.GrantType{"authorization_code"}, TokenEndpointAuthMethod: "none", RedirectURIs: []string{evil}})
		pc := newPageClient(t)
		get := func(p url.Values) (*http.Response, string) {
			return pc.do(t, http.MethodGet, e.url("/oauth/authorize?"+p.Encode()), nil)
		}
		challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())

		t.Run("ErrOpenRedirect", func(t *testing.T) {
			resp, page := get(url.Values{"client_id": {evilApp.ID}, "response_type": {"x"}})
			mustOAuthErrorPage(t, resp, page, "unsupported_response_type")
			if !strings.Contains(page, "response_type must be code or token") {
				t.Fatalf("the page does not show the description: %s", page)
			}
		})
		t.Run("ErrBeforeConsentOnPage", func(t *testing.T) {
			for name, tc := range map[string]struct {
				edit func(url.Values)
				code string
			}{
				"MissingResponseType": {func(p url.Values) { p.Del("response_type") }, "invalid_request"},
				"Implicit":            {func(p url.Values) { p.Set("response_type", "token") }, "unauthorized_client"},
				"Scope":               {func(p url.Values) { p.Set("scope", "app") }, "invalid_scope"},
				"NoPKCE":              {func(p url.Values) { p.Del("code_challenge") }, "invalid_request"},
				"BadPKCE":             {func(p url.Values) { p.Set("code_challenge", "short") }, "invalid_request"},
				"Repeated":            {func(p url.Values) { p.Add("state", "again") }, "invalid_request"},
			} {
				t.Run(name, func(t *testing.T) {
					p := codeParams(evilApp, evil, "st", challenge, "S256")
					tc.edit(p)
					resp, page := get(p)
					mustOAuthErrorPage(t, resp, page, tc.code)
				})
			}
		})
		t.Run("ErrUnknownClientOrURINeverRedirects", func(t *testing.T) {
			trusted, _ := e.MustApp(t, user, resource.ApplicationInput{
				GrantTypes: []resource.GrantType{"authorization_code"}, TokenEndpointAuthMethod: "none", RedirectURIs: []string{cb}})
			for name, p := range map[string]url.Values{
				"UnknownClient":            {"client_id": {resource.NewID()}, "redirect_uri": {evil}, "response_type": {"x"}},
				"TrustedURIMismatch":       {"client_id": {trusted.ID}, "redirect_uri": {evil}, "response_type": {"x"}},
				"TrustedURIPrefix":         {"client_id": {trusted.ID}, "redirect_uri": {cb + "/more"}, "response_type": {"x"}},
				"UntrustedURIMismatch":     {"client_id": {evilApp.ID}, "redirect_uri": {cb}, "response_type": {"x"}},
				"UntrustedAppNoURIAmongst": {"client_id": {evilApp.ID}, "redirect_uri": {evil + "?x=1"}},
			} {
				t.Run(name, func(t *testing.T) {
					resp, page := get(p)
					mustErrorPage(t, resp, page, http.StatusBadRequest)
				})
			}
		})
		t.Run("OKTrustedClientGetsErrorRedirects", func(t *testing.T) {
			// RFC 6749 §4.1.2.1 for a client an operator registered.
			trusted, _ := e.MustApp(t, user, resource.ApplicationInput{
				GrantTypes: []resource.GrantType{"authorization_code"}, TokenEndpointAuthMethod: "none", RedirectURIs: []string{cb}})
			p := codeParams(trusted, cb, "st", challenge, "")
			p.Set("response_type", "x")
			resp, _ := get(p)
			mustRedirectError(t, e, resp, "unsupported_response_type", "st")
			p = codeParams(trusted, cb, "st", challenge, "")
			p.Set("scope", "app")
			resp, _ = get(p)
			mustRedirectError(t, e, resp, "invalid_scope", "st")
		})

		app := e.MustUserApp(t, user, resource.ApplicationInput{
			GrantTypes: []resource.GrantType{"authorization_code"}, TokenEndpointAuthMethod: "none", RedirectURIs: []string{cb}})
		t.Run("OKUntrustedLoginAndApprove", func(t *testing.T) {
			code := e.mustCode(t, newPageClient(t), codeParams(app, cb, "st", challenge, ""), user.Email)
			if code == "" {
				t.Fatal("no code")
			}
		})
		t.Run("OKUntrustedDenyRedirects", func(t *testing.T) {
			// The user saw the application and pressed deny.
			loc := e.authorize(t, newPageClient(t), codeParams(app, cb, "st", challenge, ""), user.Email, false)
			if q := loc.Query(); !strings.HasPrefix(loc.String(), cb+"?") || q.Get("error") != "access_denied" || q.Get("state") != "st" {
				t.Fatalf("deny redirect: %s", loc)
			}
		})
		t.Run("OKUserAddedURILosesTrust", func(t *testing.T) {
			op, _ := e.MustApp(t, user, resource.ApplicationInput{
				GrantTypes: []resource.GrantType{"authorization_code"}, TokenEndpointAuthMethod: "none", RedirectURIs: []string{cb, cb + "2"}})
			bad := codeParams(op, cb, "st", challenge, "")
			bad.Set("scope", "app")
			// Removing a vouched-for URI keeps the trust...
			if _, err := e.apps.Update(asUser(user), op.ID, resource.ApplicationPatch{RedirectURIs: resource.Some([]string{cb})}); err != nil {
				t.Fatal(err)
			}
			resp, _ := get(bad)
			mustRedirectError(t, e, resp, "invalid_scope", "st")
			// ...adding one of the user's own ends it.
			if _, err := e.apps.Update(asUser(user), op.ID, resource.ApplicationPatch{RedirectURIs: resource.Some([]string{cb, evil})}); err != nil {
				t.Fatal(err)
			}
			resp, page := get(bad)
			mustOAuthErrorPage(t, resp, page, "invalid_scope")
		})
	})
}
