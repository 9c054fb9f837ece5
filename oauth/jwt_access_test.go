package oauth_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/assetgate/assetgate/resource"
)

// TestJWTAccessTokens: an application that opted in gets access tokens
// that are JWTs (RFC 9068, typ at+jwt) a resource server verifies offline
// through the JWKS; assetgate's own APIs, introspection and refresh take
// them, and a revoked one is refused at once and introspects inactive.
func TestJWTAccessTokens(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		ctx := t.Context()
		user := e.MustUser(t, "jwt-"+e.kind+"@example.com")
		app := e.oidcApp(t, user, func(in *resource.ApplicationInput) { in.JWTAccessTokens = true })
		rs, rsSecret := e.MustApp(t, user, resource.ApplicationInput{Name: "Resource server",
			GrantTypes: []resource.GrantType{resource.GrantClientCredentials}, Scopes: []string{resource.ScopeApp}})
		tok, _ := e.codeFlow(t, e.newRP(t, app), newPageClient(t), user.Email, "n", nil)
		at := tok.AccessToken
		if strings.HasPrefix(at, resource.AccessTokenPrefix) || strings.Count(at, ".") != 2 || len(at) > 1024 {
			t.Fatalf("access token %q is not a compact JWS within the bearer bound", at)
		}
		keys := oidc.NewRemoteKeySet(ctx, e.url("/oauth/jwks"))
		payload, err := keys.VerifySignature(ctx, at)
		if err != nil {
			t.Fatalf("offline verification: %v", err)
		}
		var c map[string]any
		_ = json.Unmarshal(payload, &c)
		h, _, _ := strings.Cut(at, ".")
		hb, _ := jsonB64(h)
		if c["iss"] != e.http.URL || c["sub"] != user.ID || c["client_id"] != app.ID || c["jti"] == nil || c["exp"] == nil ||
			!strings.Contains(string(hb), `"typ":"at+jwt"`) {
			t.Fatalf("claims %v, header %s", c, hb)
		}
		if who := e.whoami(t, at); who == nil || who["user_id"] != user.ID {
			t.Fatalf("the JWT access token does not resolve: %v", who)
		}
		if !e.active(t, basic(rs.ID, rsSecret), at) {
			t.Fatal("the JWT access token introspects inactive")
		}
		// A refresh gives another JWT.
		tr := e.postToken(t, "", "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {app.ID}}).mustOK(t)
		if strings.Count(tr.AccessToken, ".") != 2 || e.whoami(t, tr.AccessToken) == nil {
			t.Fatalf("refreshed access token %q", tr.AccessToken)
		}
		// Revoked: refused at once although its exp is ahead.
		e.call(t, http.MethodPost, "/oauth/revoke", noAuth, url.Values{"token": {at}, "client_id": {app.ID}}).mustStatus(t, http.StatusOK, "")
		if e.whoami(t, at) != nil {
			t.Fatal("a revoked JWT access token still works")
		}
		if e.active(t, basic(rs.ID, rsSecret), at) {
			t.Fatal("a revoked JWT access token introspects active")
		}
		// A JWT that is not this server's (an ID token) is no access token.
		if e.whoami(t, tr.Raw["id_token"].(string)) != nil {
			t.Fatal("an ID token works as an access token")
		}
	})
}
