package graph_test

import (
	"testing"

	"github.com/assetgate/assetgate/resource"
)

// TestChangePasswordThrottle checks that changePassword is no password
// oracle: past the free failures wrong old passwords make the holder
// wait, and while it waits the mutation fails with RATE_LIMITED (and
// extensions.retryAfter in seconds) without checking the old password,
// even a right one.
func TestChangePasswordThrottle(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		me := e.me(e.a)
		change := func(old string) gqlResponse {
			return e.query(t, me, `mutation($in: ChangePasswordInput!) { changePassword(input: $in) { changed } }`,
				map[string]any{"in": map[string]any{"oldPassword": old, "password": "a new long password", "passwordConfirmation": "a new long password"}})
		}
		for range resource.DefaultFreeFailuresPerPair + 1 {
			change("wrong password").fails(t, "FORBIDDEN")
		}
		before := e.deps.Users.Hasher.Evaluations()
		err := change(testPassword).fails(t, "RATE_LIMITED")
		if s, _ := err.Extensions["retryAfter"].(float64); s < 1 {
			t.Fatalf("error %+v: want extensions.retryAfter in seconds", err)
		}
		if n := e.deps.Users.Hasher.Evaluations() - before; n != 0 {
			t.Fatalf("%d password hashes evaluated past the limit, want 0", n)
		}
		// The holder's own failures do not lock the account's logins.
		if _, err := e.deps.Users.Authenticate(t.Context(), e.a.user.Email, testPassword); err != nil {
			t.Fatalf("a login of the account after the password change was refused: %v", err)
		}
	})
}
