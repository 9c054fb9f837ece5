package oauth_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/resource"
)

// stringList returns a JSON array of strings as a slice; nil when v is not
// one.
func stringList(v any) []string {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	out := []string{}
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil
		}
		out = append(out, s)
	}
	return out
}

func TestMetadata(t *testing.T) {
	eachStore(t, []string{onSQLite}, func(t *testing.T, e *env) {
		ar := e.call(t, http.MethodGet, "/.well-known/oauth-authorization-server", noAuth, nil).mustStatus(t, 200, "")
		m := ar.JSON
		if ct := ar.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("Content-Type %q", ct)
		}

		t.Run("OKRequiredAndSupported", func(t *testing.T) {
			// RFC 8414 §2 and §3.3: issuer identical to the one the client
			// used; REQUIRED authorization_endpoint, token_endpoint,
			// response_types_supported.
			if m["issuer"] != e.http.URL {
				t.Fatalf("issuer %v, want %s", m["issuer"], e.http.URL)
			}
			want := map[string]string{
				"authorization_endpoint":        "/oauth/authorize",
				"token_endpoint":                "/oauth/token",
				"revocation_endpoint":           "/oauth/revoke",
				"introspection_endpoint":        "/oauth/introspect",
				"device_authorization_endpoint": "/oauth/device_authorization",
			}
			for k, path := range want {
				if m[k] != e.url(path) {
					t.Fatalf("%s = %v, want %s", k, m[k], e.url(path))
				}
			}
			lists := map[string][]string{
				"response_types_supported":                      {"code", "token", "id_token", "id_token token"},
				"response_modes_supported":                      {"query", "fragment"},
				"grant_types_supported":                         {"authorization_code", "client_credentials", "password", "refresh_token", "implicit", "urn:ietf:params:oauth:grant-type:device_code"},
				"token_endpoint_auth_methods_supported":         {"client_secret_basic", "client_secret_post", "none"},
				"revocation_endpoint_auth_methods_supported":    {"client_secret_basic", "client_secret_post", "none"},
				"introspection_endpoint_auth_methods_supported": {"client_secret_basic", "client_secret_post"},
				"code_challenge_methods_supported":              {"S256", "plain"},
				"scopes_supported":                              {"me", "app", "basic", "openid", "profile", "email"},
			}
			for k, w := range lists {
				if got := stringList(m[k]); !slices.Equal(got, w) {
					t.Fatalf("%s = %v, want %v", k, m[k], w)
				}
			}
			if !slices.Contains(stringList(m["grant_types_supported"]), "urn:ietf:params:oauth:grant-type:device_code") {
				t.Fatal("the device code grant is not advertised")
			}
			if ar.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Fatal("no CORS header: browser clients cannot discover the server")
			}
		})
		t.Run("OKEveryEndpointMounted", func(t *testing.T) {
			// An unknown path is 404 here, so the check below can fail.
			if got := e.call(t, http.MethodGet, "/oauth/nothing-here", noAuth, nil).Status; got != http.StatusNotFound {
				t.Fatalf("an unmounted path answers %d", got)
			}
			n := 0
			for k, v := range m {
				if !strings.HasSuffix(k, "_endpoint") {
					continue
				}
				u, ok := v.(string)
				if !ok || !strings.HasPrefix(u, e.http.URL+"/") {
					t.Fatalf("%s = %v is not under the issuer", k, v)
				}
				path := strings.TrimPrefix(u, e.http.URL)
				for _, method := range []string{http.MethodGet, http.MethodPost} {
					if got := e.call(t, method, path, noAuth, nil).Status; got == http.StatusNotFound {
						t.Fatalf("%s: %s %s is not mounted", k, method, path)
					}
				}
				n++
			}
			if n != 7 {
				t.Fatalf("%d endpoints advertised, want 7", n)
			}
		})
	})
	t.Run("OKFollowsTheServer", func(t *testing.T) {
		// Without the device code grant, the metadata does not offer it.
		e := newEnv(t, onSQLite)
		e.srv.DropGrant(resource.GrantDeviceCode)
		m := e.call(t, http.MethodGet, "/.well-known/oauth-authorization-server", noAuth, nil).mustStatus(t, 200, "").JSON
		if slices.Contains(stringList(m["grant_types_supported"]), string(resource.GrantDeviceCode)) {
			t.Fatalf("grant_types_supported = %v", m["grant_types_supported"])
		}
	})
}
