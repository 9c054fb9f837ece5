package oauth_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/resource"
)

// BenchmarkClientCredentials issues client_credentials tokens through the
// token endpoint's handler, from parallel goroutines, on the SQL token
// store (SQLite) and the Redis token store, and reports tokens/s. Client
// secrets are verified with one SHA-256, not a slow password hash.
//
//	ASSETGATE_TEST_DATABASE_URL=... ASSETGATE_TEST_REDIS_URL=... \
//	  go test ./oauth -run '^$' -bench ClientCredentials -benchtime 5s
func BenchmarkClientCredentials(b *testing.B) {
	for _, kind := range []string{onSQLite, onRedis} {
		b.Run(kind, func(b *testing.B) {
			e := newEnv(b, kind)
			owner := e.MustUser(b, "bench@example.com")
			app, secret := e.MustApp(b, owner, resource.ApplicationInput{GrantTypes: []resource.GrantType{"client_credentials"}})
			h := e.srv.Token()
			body := "grant_type=client_credentials"
			auth := "Basic " + basicAuth(url.QueryEscape(app.ID), url.QueryEscape(secret))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set("Authorization", auth)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Errorf("status %d: %s", rec.Code, rec.Body)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

func basicAuth(id, secret string) string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(id, secret)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}
