package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestOAuthPatternsMounted checks that routes.go mounts every route the
// oauth package serves: the metadata document advertises the endpoints of
// oauth.Server.Patterns, so a route missing here would be a lie there.
func TestOAuthPatternsMounted(t *testing.T) {
	a := openForTest(t, sqliteEnv(t))
	h := newHandler(a)
	for pattern := range a.oauth.Patterns() {
		method, path, _ := strings.Cut(pattern, " ")
		req := httptest.NewRequest(method, path, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed {
			t.Errorf("%s is not mounted (status %d)", pattern, rec.Code)
		}
	}
}
