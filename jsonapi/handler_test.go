package jsonapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/jsonapi"
	"github.com/assetgate/assetgate/storage"
)

// TestOneHandler serves the API exactly as New returns it, with nothing
// around it: the handler authenticates the routes that need a token itself
// (through Deps.Resolver), and serves the OpenAPI document and the JSON:API
// 404 and 405 without one. The caller mounts it at BasePath and knows
// nothing of which route needs what.
func TestOneHandler(t *testing.T) {
	f := newFixture(t, storage.SQLite)
	var h http.Handler = f.api
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	get := func(t *testing.T, path, token string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
		must(t, err)
		req.Header.Set("Accept", jsonapi.MediaType)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := srv.Client().Do(req)
		must(t, err)
		res.Body.Close()
		return res
	}
	for _, tc := range []struct {
		name, path, token string
		status            int
		challenge         bool
	}{
		{"ErrNoToken", "/api/v1/users/me", "", http.StatusUnauthorized, true},
		{"ErrInvalidToken", "/api/v1/users/me", "nope", http.StatusUnauthorized, true},
		{"ErrQueryToken", "/api/v1/users/me?authorization=" + f.a.me, "", http.StatusUnauthorized, true},
		{"ErrResolverDown", "/api/v1/users/me", "store-down", http.StatusInternalServerError, false},
		{"OKToken", "/api/v1/users/me", f.a.me, http.StatusOK, false},
		{"OKOpenAPI", "/api/v1/openapi.json", "", http.StatusOK, false},
		{"ErrNoRoute", "/api/v1/no-such-thing", "", http.StatusNotFound, false},
		{"ErrNoStreamToken", "/api/v1/devices/" + f.a.device.ID + "/events/stream", "", http.StatusUnauthorized, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := get(t, tc.path, tc.token)
			if res.StatusCode != tc.status {
				t.Fatalf("GET %s = %d, want %d", tc.path, res.StatusCode, tc.status)
			}
			if got := strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer "); got != tc.challenge {
				t.Fatalf("WWW-Authenticate %q", res.Header.Get("WWW-Authenticate"))
			}
		})
	}
}
