package jsonapi_test

import (
	"net/http"
	"testing"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestChangePasswordThrottle checks that POST /users/me/password is no
// password oracle: past the free failures wrong old passwords make the
// holder wait, and meanwhile the old password is refused with 429 and
// Retry-After without being checked, even when it is right.
func TestChangePasswordThrottle(t *testing.T) {
	for _, dialect := range storagetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			f := newFixture(t, dialect)
			pw := func(old string) map[string]any {
				return resourceDoc("users", "", map[string]any{"old_password": old, "password": "new password 123", "password_confirmation": "new password 123"}, nil)
			}
			for range resource.DefaultFreeFailuresPerPair + 1 {
				f.do(t, "POST", "/api/v1/users/me/password", f.a.me, pw("wrong password!")).errorOf(t, http.StatusForbidden)
			}
			before := f.users.Hasher.Evaluations()
			res := f.do(t, "POST", "/api/v1/users/me/password", f.a.me, pw(testPassword))
			e := res.errorOf(t, http.StatusTooManyRequests)
			if e["code"] != resource.ERateLimited || res.header.Get("Retry-After") == "" {
				t.Fatalf("error %v, headers %v", e, res.header)
			}
			if n := f.users.Hasher.Evaluations() - before; n != 0 {
				t.Fatalf("%d password hashes evaluated past the limit, want 0", n)
			}
			// Another user's account is not throttled.
			res = f.do(t, "POST", "/api/v1/users/me/password", f.b.me, pw(testPassword))
			if res.status != http.StatusNoContent {
				t.Fatalf("change of another account %d %s", res.status, res.body)
			}
		})
	}
}
