package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/internal/testsupport"
)

// TestOAuthPatternsMounted checks that routes.go mounts every route the
// oauth package serves: the metadata document advertises the endpoints of
// oauth.Server.Patterns, so a route missing here would be a lie there.
func TestOAuthPatternsMounted(t *testing.T) {
	a := openForTest(t, testsupport.SQLiteEnv(t))
	h := newHandler(a, false)
	for pattern := range a.OAuth.Patterns() {
		method, path, _ := strings.Cut(pattern, " ")
		req := httptest.NewRequest(method, path, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed {
			t.Errorf("%s is not mounted (status %d)", pattern, rec.Code)
		}
	}
}

// TestJSONAPIFallbackMounted checks that unknown paths and methods under
// /api/v1 get JSON:API errors, not net/http's plain text, while the routes
// themselves still win.
func TestJSONAPIFallbackMounted(t *testing.T) {
	h := newHandler(openForTest(t, testsupport.SQLiteEnv(t)), false)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodPost, "/api/v1/users/me", http.StatusMethodNotAllowed},
		{http.MethodGet, "/api/v1/no-such-thing", http.StatusNotFound},
		{http.MethodGet, "/api/v1/users/me", http.StatusUnauthorized},
		{http.MethodGet, "/api/v1/openapi.json", http.StatusOK},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/") {
			t.Errorf("%s %s = %d %q, want %d and a JSON body", tc.method, tc.path, rec.Code, rec.Header().Get("Content-Type"), tc.status)
		}
	}
}

// TestHSTS is the regression test of Strict-Transport-Security: with
// an https issuer every response of the service, whatever its route or
// status, carries Strict-Transport-Security; with an http issuer (local
// development) none does.
func TestHSTS(t *testing.T) {
	requests := []struct{ method, path string }{
		{http.MethodGet, "/healthz"},
		{http.MethodGet, "/.well-known/oauth-authorization-server"},
		{http.MethodGet, "/oauth/authorize?client_id=nope"},
		{http.MethodPost, "/oauth/token"},
		{http.MethodGet, "/api/v1/users/me"},
		{http.MethodGet, "/api/v1/no-such-thing"},
		{http.MethodPost, "/graphql"},
		{http.MethodGet, "/no-such-page"},
	}
	for _, tc := range []struct {
		name, issuer, want string
	}{
		{"OKHTTPSIssuer", "https://auth.example.com", "max-age=63072000; includeSubDomains"},
		{"OKHTTPIssuer", "http://localhost:8080", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHandler(openForTest(t, testsupport.SQLiteEnv(t).With("ASSETGATE_ISSUER", tc.issuer)), false)
			for _, r := range requests {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(r.method, r.path, nil))
				if got := rec.Header().Get("Strict-Transport-Security"); got != tc.want {
					t.Errorf("%s %s (%d): Strict-Transport-Security %q, want %q", r.method, r.path, rec.Code, got, tc.want)
				}
			}
		})
	}
}
