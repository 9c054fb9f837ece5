package oauth_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
)

func TestIntrospect(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		alice := e.MustUser(t, "alice@example.com")
		mobile, mobileSecret := e.MustApp(t, alice, resource.ApplicationInput{Name: "Mobile",
			GrantTypes: []resource.GrantType{"password", "refresh_token"}})
		rs, rsSecret := e.MustApp(t, alice, resource.ApplicationInput{Name: "Resource server",
			GrantTypes: []resource.GrantType{"client_credentials"}})
		rsPost, rsPostSecret := e.MustApp(t, alice, resource.ApplicationInput{Name: "Resource server (post)",
			GrantTypes: []resource.GrantType{"client_credentials"}, TokenEndpointAuthMethod: "client_secret_post"})
		asRS := basic(rs.ID, rsSecret)
		// Customer B.
		bob := e.MustUser(t, "bob@example.com")
		bobRS, bobRSSecret := e.MustApp(t, bob, resource.ApplicationInput{Name: "Bob's resource server",
			GrantTypes: []resource.GrantType{"client_credentials"}})

		user := e.postToken(t, mobile.ID, mobileSecret, passwordForm(alice.Email, testPassword)).mustOK(t)
		appTok := e.postToken(t, rs.ID, rsSecret, ccForm("")).mustOK(t)

		t.Run("OKUserToken", func(t *testing.T) {
			ar := e.introspectToken(t, asRS, user.AccessToken).mustStatus(t, 200, "")
			want := map[string]any{
				"active": true, "scope": "me", "client_id": mobile.ID, "username": alice.Email,
				"token_type": "Bearer", "sub": alice.ID, "aud": mobile.ID, "iss": e.http.URL,
				"iat": user.CreatedAt, "exp": user.CreatedAt + user.ExpiresIn,
			}
			if len(ar.JSON) != len(want) {
				t.Fatalf("got %s, want the fields %v", ar.Body, want)
			}
			for k, v := range want {
				if ar.JSON[k] != v {
					t.Fatalf("%s = %v, want %v (%s)", k, ar.JSON[k], v, ar.Body)
				}
			}
			if ar.Header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(ar.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("headers %v", ar.Header)
			}
		})
		t.Run("OKApplicationTokenByBearer", func(t *testing.T) {
			// A resource server holding an `app` token asks about its own
			// token.
			ar := e.introspectToken(t, bearer(appTok.AccessToken), appTok.AccessToken).mustStatus(t, 200, "")
			j := ar.JSON
			if j["active"] != true || j["scope"] != "app basic" || j["sub"] != rs.ID || j["aud"] != rs.ID ||
				j["client_id"] != rs.ID || j["token_type"] != "Bearer" || j["iss"] != e.http.URL {
				t.Fatalf("got %s", ar.Body)
			}
			if _, ok := j["username"]; ok {
				t.Fatalf("an application token with a username: %s", ar.Body)
			}
		})
		t.Run("OKRefreshToken", func(t *testing.T) {
			ar := e.introspectToken(t, asRS, user.RefreshToken).mustStatus(t, 200, "")
			if ar.JSON["active"] != true || ar.JSON["token_type"] != "refresh_token" || ar.JSON["sub"] != alice.ID {
				t.Fatalf("got %s", ar.Body)
			}
		})
		t.Run("OKClientSecretPost", func(t *testing.T) {
			ar := e.call(t, http.MethodPost, "/oauth/introspect", noAuth,
				map[string][]string{"token": {user.AccessToken}, "client_id": {rsPost.ID}, "client_secret": {rsPostSecret}})
			if ar.mustStatus(t, 200, "").JSON["active"] != true {
				t.Fatalf("got %s", ar.Body)
			}
		})
		t.Run("InactiveAnotherCustomer", func(t *testing.T) {
			bobTok := e.postToken(t, bobRS.ID, bobRSSecret, ccForm("app")).mustOK(t)
			for name, auth := range map[string]credentials{
				"client": basic(bobRS.ID, bobRSSecret), "bearer": bearer(bobTok.AccessToken),
			} {
				for _, tok := range []string{user.AccessToken, user.RefreshToken, appTok.AccessToken} {
					ar := e.introspectToken(t, auth, tok).mustStatus(t, 200, "")
					if strings.TrimSpace(ar.Body) != `{"active":false}` {
						t.Fatalf("%s of another customer: got %s", name, ar.Body)
					}
				}
			}
			// And the other way round.
			if e.active(t, asRS, bobTok.AccessToken) {
				t.Fatal("customer A sees customer B's token")
			}
		})
		t.Run("InactiveUnknownRevokedExpired", func(t *testing.T) {
			short, shortSecret := e.MustAppWith(t, alice, resource.ApplicationInput{Name: "Short-lived",
				GrantTypes: []resource.GrantType{"client_credentials"}}, func(a *resource.Application) { a.AccessTokenTTL = 1 })
			expiring := e.postToken(t, short.ID, shortSecret, ccForm("")).mustOK(t)
			revoked := e.postToken(t, rs.ID, rsSecret, ccForm("")).mustOK(t)
			e.revokeToken(t, asRS, revoked.AccessToken, "", nil).mustStatus(t, 200, "")
			time.Sleep(1100 * time.Millisecond)
			for name, tok := range map[string]string{
				"unknown":   resource.NewToken(resource.AccessTokenPrefix, resource.NewFamilyID()),
				"malformed": "hello",
				"revoked":   revoked.AccessToken,
				"expired":   expiring.AccessToken,
			} {
				ar := e.introspectToken(t, asRS, tok).mustStatus(t, 200, "")
				if strings.TrimSpace(ar.Body) != `{"active":false}` {
					t.Fatalf("%s token: got %s", name, ar.Body)
				}
			}
		})
		t.Run("InactiveDeviceToken", func(t *testing.T) {
			// A per-device token of the resource API is not an OAuth token.
			fid := resource.NewFamilyID()
			tok := resource.NewToken(resource.DeviceTokenPrefix, fid)
			now := time.Now().UTC().Truncate(time.Second)
			err := e.tokens.CreateFamily(context.Background(),
				&resource.TokenFamily{ID: fid, ClientID: rs.ID, CustomerID: alice.CustomerID, DeviceID: resource.NewID()},
				&resource.Token{Kind: resource.TokenDevice, FamilyID: fid, Hash: resource.KeyedHash(e.key, tok),
					ClientID: rs.ID, CustomerID: alice.CustomerID, ID: resource.NewID(), Name: "sensor", IssuedAt: now,
					Permissions: []string{"device:read"}})
			if err != nil {
				t.Fatal(err)
			}
			if e.active(t, asRS, tok) {
				t.Fatal("a device token is active at the introspection endpoint")
			}
		})
		t.Run("ErrUnauthenticated", func(t *testing.T) {
			ar := e.introspectToken(t, noAuth, user.AccessToken).mustStatus(t, 401, "invalid_client")
			if ar.Header.Get("WWW-Authenticate") == "" || ar.JSON["active"] != nil {
				t.Fatalf("got %v %s", ar.Header, ar.Body)
			}
			e.introspectToken(t, basic(rs.ID, rsSecret+"x"), user.AccessToken).mustStatus(t, 401, "invalid_client")
			ar = e.introspectToken(t, bearer(resource.NewToken(resource.AccessTokenPrefix, resource.NewFamilyID())), user.AccessToken).
				mustStatus(t, 401, "invalid_token")
			if h := ar.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer ") || !strings.Contains(h, `error="invalid_token"`) {
				t.Fatalf("WWW-Authenticate %q", h)
			}
		})
		t.Run("ErrPublicClient", func(t *testing.T) {
			pub, _ := e.MustApp(t, alice, resource.ApplicationInput{Name: "Public",
				GrantTypes: []resource.GrantType{resource.GrantDeviceCode}, TokenEndpointAuthMethod: "none"})
			e.call(t, http.MethodPost, "/oauth/introspect", noAuth,
				map[string][]string{"token": {user.AccessToken}, "client_id": {pub.ID}}).mustStatus(t, 401, "invalid_client")
		})
		t.Run("ErrInsufficientScope", func(t *testing.T) {
			basicOnly := e.postToken(t, rs.ID, rsSecret, ccForm("basic")).mustOK(t)
			for _, tok := range []string{user.AccessToken, basicOnly.AccessToken} {
				ar := e.introspectToken(t, bearer(tok), appTok.AccessToken).mustStatus(t, 403, "insufficient_scope")
				if h := ar.Header.Get("WWW-Authenticate"); !strings.Contains(h, `error="insufficient_scope"`) || !strings.Contains(h, `scope="app"`) {
					t.Fatalf("WWW-Authenticate %q", h)
				}
			}
		})
		t.Run("ErrInvalidRequest", func(t *testing.T) {
			e.call(t, http.MethodPost, "/oauth/introspect", asRS, map[string][]string{}).mustStatus(t, 400, "invalid_request")
			// Both a bearer token and a client secret.
			e.call(t, http.MethodPost, "/oauth/introspect", bearer(appTok.AccessToken),
				map[string][]string{"token": {user.AccessToken}, "client_id": {rsPost.ID}, "client_secret": {rsPostSecret}}).
				mustStatus(t, 400, "invalid_request")
		})
	})
}
