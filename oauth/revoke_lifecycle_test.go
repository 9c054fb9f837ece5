package oauth_test

import (
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"

	"github.com/assetgate/assetgate/resource"
)

func TestRevoke(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "rita@example.com")
		mobile, mobileSecret := e.MustApp(t, user, resource.ApplicationInput{Name: "Mobile",
			GrantTypes: []resource.GrantType{"password", "refresh_token"}})
		other, otherSecret := e.MustApp(t, user, resource.ApplicationInput{Name: "Other",
			GrantTypes: []resource.GrantType{"password", "refresh_token"}})
		// The resource server that asks the introspection endpoint.
		rs, rsSecret := e.MustApp(t, user, resource.ApplicationInput{Name: "Resource server",
			GrantTypes: []resource.GrantType{"client_credentials"}})
		asMobile, asRS := basic(mobile.ID, mobileSecret), basic(rs.ID, rsSecret)
		login := func(t *testing.T) *tokenResponse {
			return e.postToken(t, mobile.ID, mobileSecret, passwordForm(user.Email, testPassword)).mustOK(t)
		}
		mustEmpty200 := func(t *testing.T, ar *apiResponse) {
			t.Helper()
			if ar.Status != http.StatusOK || ar.Body != "" {
				t.Fatalf("got %d %q, want 200 and an empty body", ar.Status, ar.Body)
			}
		}

		t.Run("OKAccessTokenAlone", func(t *testing.T) {
			tr := login(t)
			if !e.active(t, asRS, tr.AccessToken) || e.whoami(t, tr.AccessToken) == nil {
				t.Fatal("a fresh access token is not active")
			}
			mustEmpty200(t, e.revokeToken(t, asMobile, tr.AccessToken, "access_token", nil))
			// Seen at once by introspection and by a protected route.
			if e.active(t, asRS, tr.AccessToken) {
				t.Fatal("introspection: the revoked access token is active")
			}
			if e.whoami(t, tr.AccessToken) != nil {
				t.Fatal("LookupAccessToken: the revoked access token still works")
			}
			// The refresh token of the family still works.
			if !e.active(t, asRS, tr.RefreshToken) {
				t.Fatal("revoking an access token revoked its refresh token")
			}
			next := e.postToken(t, mobile.ID, mobileSecret, refreshForm(tr.RefreshToken)).mustOK(t)
			if e.whoami(t, next.AccessToken) == nil {
				t.Fatal("the refreshed access token does not work")
			}
		})
		t.Run("OKRefreshTokenRevokesFamily", func(t *testing.T) {
			first := login(t)
			second := e.postToken(t, mobile.ID, mobileSecret, refreshForm(first.RefreshToken)).mustOK(t)
			if e.whoami(t, first.AccessToken) == nil || e.whoami(t, second.AccessToken) == nil {
				t.Fatal("the family's access tokens do not work before the revocation")
			}
			mustEmpty200(t, e.revokeToken(t, asMobile, second.RefreshToken, "refresh_token", nil))
			for _, tok := range []string{first.AccessToken, second.AccessToken, second.RefreshToken} {
				if e.active(t, asRS, tok) {
					t.Fatalf("introspection: %s… of the revoked family is active", tok[:8])
				}
			}
			if e.whoami(t, first.AccessToken) != nil || e.whoami(t, second.AccessToken) != nil {
				t.Fatal("an access token of the revoked family still works")
			}
			e.postToken(t, mobile.ID, mobileSecret, refreshForm(second.RefreshToken)).mustError(t, 400, "invalid_grant")
		})
		t.Run("OKHintNotTrusted", func(t *testing.T) {
			tr := login(t)
			mustEmpty200(t, e.revokeToken(t, asMobile, tr.AccessToken, "refresh_token", nil))
			if e.whoami(t, tr.AccessToken) != nil {
				t.Fatal("an access token sent with hint refresh_token was not revoked")
			}
			mustEmpty200(t, e.revokeToken(t, asMobile, tr.RefreshToken, "access_token", nil))
			if e.active(t, asRS, tr.RefreshToken) {
				t.Fatal("a refresh token sent with hint access_token was not revoked")
			}
		})
		t.Run("OKOtherClientsTokenUntouched", func(t *testing.T) {
			tr := login(t)
			asOther := basic(other.ID, otherSecret)
			mustEmpty200(t, e.revokeToken(t, asOther, tr.AccessToken, "", nil))
			mustEmpty200(t, e.revokeToken(t, asOther, tr.RefreshToken, "", nil))
			if !e.active(t, asRS, tr.AccessToken) || !e.active(t, asRS, tr.RefreshToken) || e.whoami(t, tr.AccessToken) == nil {
				t.Fatal("another client revoked the token")
			}
		})
		t.Run("OKUnknownOrRevokedToken", func(t *testing.T) {
			tr := login(t)
			mustEmpty200(t, e.revokeToken(t, asMobile, tr.AccessToken, "", nil))
			mustEmpty200(t, e.revokeToken(t, asMobile, tr.AccessToken, "", nil))
			mustEmpty200(t, e.revokeToken(t, asMobile, "not-a-token", "", nil))
			mustEmpty200(t, e.revokeToken(t, asMobile, resource.NewToken(resource.AccessTokenPrefix, resource.NewFamilyID()), "", nil))
		})
		t.Run("OKPublicClient", func(t *testing.T) {
			cb := e.callbackURL()
			pub, _ := e.MustApp(t, user, resource.ApplicationInput{Name: "Public",
				GrantTypes: []resource.GrantType{"authorization_code", "refresh_token"}, TokenEndpointAuthMethod: "none", RedirectURIs: []string{cb}})
			verifier := oauth2.GenerateVerifier()
			code := e.mustCode(t, newPageClient(t), codeParams(pub, cb, "st", oauth2.S256ChallengeFromVerifier(verifier), ""), user.Email)
			tr := e.postToken(t, "", "", exchangeForm(pub, code, cb, verifier)).mustOK(t)
			mustEmpty200(t, e.revokeToken(t, noAuth, tr.RefreshToken, "", url.Values{"client_id": {pub.ID}}))
			if e.whoami(t, tr.AccessToken) != nil {
				t.Fatal("the public client's revocation had no effect")
			}
		})
		t.Run("ErrUnsupportedTokenType", func(t *testing.T) {
			tr := login(t)
			e.revokeToken(t, asMobile, tr.AccessToken, "id_token", nil).mustStatus(t, 400, "unsupported_token_type")
			if e.whoami(t, tr.AccessToken) == nil {
				t.Fatal("a refused revocation revoked the token")
			}
		})
		t.Run("ErrClientAuthentication", func(t *testing.T) {
			tr := login(t)
			ar := e.revokeToken(t, noAuth, tr.AccessToken, "", nil).mustStatus(t, 401, "invalid_client")
			if ar.Header.Get("WWW-Authenticate") == "" {
				t.Fatal("invalid_client without WWW-Authenticate")
			}
			e.revokeToken(t, basic(mobile.ID, mobileSecret+"x"), tr.AccessToken, "", nil).mustStatus(t, 401, "invalid_client")
			// A confidential client may not pretend to be public.
			e.revokeToken(t, noAuth, tr.AccessToken, "", url.Values{"client_id": {mobile.ID}}).mustStatus(t, 401, "invalid_client")
			if e.whoami(t, tr.AccessToken) == nil {
				t.Fatal("an unauthenticated revocation revoked the token")
			}
		})
		t.Run("ErrInvalidRequest", func(t *testing.T) {
			e.call(t, http.MethodPost, "/oauth/revoke", asMobile, url.Values{}).mustStatus(t, 400, "invalid_request")
			ar := e.call(t, http.MethodGet, "/oauth/revoke?token=x", asMobile, nil)
			if ar.Status != http.StatusMethodNotAllowed {
				t.Fatalf("GET: status %d", ar.Status)
			}
		})
	})
}
