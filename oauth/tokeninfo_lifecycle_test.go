package oauth_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/resource"
)

func TestTokenInfo(t *testing.T) {
	eachStore(t, grantStores, func(t *testing.T, e *env) {
		user := e.MustUser(t, "tina@example.com")
		mobile, mobileSecret := e.MustApp(t, user, resource.ApplicationInput{Name: "Mobile",
			GrantTypes: []resource.GrantType{"password", "refresh_token"}})
		backend, backendSecret := e.MustApp(t, user, resource.ApplicationInput{Name: "Backend",
			GrantTypes: []resource.GrantType{"client_credentials"}})
		info := func(t *testing.T, auth credentials) *apiResponse {
			return e.call(t, http.MethodGet, "/oauth/token/info", auth, nil)
		}
		mustInvalid := func(t *testing.T, ar *apiResponse, code string) {
			t.Helper()
			if ar.Status != http.StatusUnauthorized {
				t.Fatalf("status %d: %s", ar.Status, ar.Body)
			}
			h := ar.Header.Get("WWW-Authenticate")
			if !strings.HasPrefix(h, "Bearer ") || (code != "") != strings.Contains(h, `error="`+code+`"`) {
				t.Fatalf("WWW-Authenticate %q", h)
			}
			if _, ok := ar.JSON["resource_owner_id"]; ok {
				t.Fatalf("an error describes a token: %s", ar.Body)
			}
		}

		t.Run("OKUserToken", func(t *testing.T) {
			tr := e.postToken(t, mobile.ID, mobileSecret, passwordForm(user.Email, testPassword)).mustOK(t)
			ar := info(t, bearer(tr.AccessToken)).mustStatus(t, 200, "")
			j := ar.JSON
			scope, _ := j["scope"].([]any)
			app, _ := j["application"].(map[string]any)
			left, _ := j["expires_in"].(float64)
			if j["resource_owner_id"] != user.ID || len(scope) != 1 || scope[0] != "me" || app["uid"] != mobile.ID ||
				j["created_at"] != tr.CreatedAt || left > tr.ExpiresIn || left < tr.ExpiresIn-60 || len(j) != 5 {
				t.Fatalf("got %s for %+v", ar.Body, tr.Raw)
			}
			if ar.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("Cache-Control %q", ar.Header.Get("Cache-Control"))
			}
		})
		t.Run("OKApplicationToken", func(t *testing.T) {
			tr := e.postToken(t, backend.ID, backendSecret, ccForm("")).mustOK(t)
			ar := info(t, bearer(tr.AccessToken)).mustStatus(t, 200, "")
			var scope []string
			for _, s := range ar.JSON["scope"].([]any) {
				scope = append(scope, s.(string))
			}
			if v, ok := ar.JSON["resource_owner_id"]; !ok || v != nil || !slices.Equal(scope, []string{"app", "basic"}) {
				t.Fatalf("got %s", ar.Body)
			}
		})
		t.Run("ErrInvalidToken", func(t *testing.T) {
			mustInvalid(t, info(t, bearer(resource.NewToken(resource.AccessTokenPrefix, resource.NewFamilyID()))), "invalid_token")
			mustInvalid(t, info(t, bearer("garbage")), "invalid_token")
			// A refresh token is not an access token.
			tr := e.postToken(t, mobile.ID, mobileSecret, passwordForm(user.Email, testPassword)).mustOK(t)
			mustInvalid(t, info(t, bearer(tr.RefreshToken)), "invalid_token")
		})
		t.Run("ErrRevokedToken", func(t *testing.T) {
			tr := e.postToken(t, mobile.ID, mobileSecret, passwordForm(user.Email, testPassword)).mustOK(t)
			info(t, bearer(tr.AccessToken)).mustStatus(t, 200, "")
			e.revokeToken(t, basic(mobile.ID, mobileSecret), tr.AccessToken, "", nil).mustStatus(t, 200, "")
			mustInvalid(t, info(t, bearer(tr.AccessToken)), "invalid_token")
		})
		t.Run("ErrMissingToken", func(t *testing.T) {
			mustInvalid(t, info(t, noAuth), "")
			// A token in the query string is never read.
			tr := e.postToken(t, backend.ID, backendSecret, ccForm("")).mustOK(t)
			ar := e.call(t, http.MethodGet, "/oauth/token/info?access_token="+tr.AccessToken, noAuth, nil)
			mustInvalid(t, ar, "")
		})
	})
}
