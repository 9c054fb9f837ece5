package resource_test

import (
	"testing"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestApplicationRedirectTrust checks who vouches for redirect URIs: an
// operator's Create does, a user's Register does not, and a
// user who adds a redirect URI ends the operator's vouching.
func TestApplicationRedirectTrust(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		ctx := as(t, e.a.me())
		const cb, cb2, evil = "https://app.example.com/cb", "https://app.example.com/cb2", "https://evil.example/landing"
		in := resource.ApplicationInput{Name: "Web", GrantTypes: []resource.GrantType{resource.GrantAuthorizationCode},
			RedirectURIs: []string{cb, cb2}}
		trusted := func(t *testing.T, id string) bool {
			t.Helper()
			a, err := e.stores.apps.FindApplication(t.Context(), id)
			must(t, err)
			return a.RedirectURIsTrusted
		}
		t.Run("OKOperatorCreate", func(t *testing.T) {
			a, _, err := e.apps.Create(t.Context(), e.a.user.ID, in)
			must(t, err)
			if !a.RedirectURIsTrusted || !trusted(t, a.ID) {
				t.Fatal("an application the operator created is not trusted")
			}
		})
		t.Run("OKUserRegister", func(t *testing.T) {
			a, _, err := e.apps.Register(ctx, in)
			must(t, err)
			if a.RedirectURIsTrusted || trusted(t, a.ID) {
				t.Fatal("an application a user registered is trusted")
			}
		})
		t.Run("OKUserUpdate", func(t *testing.T) {
			a, _, err := e.apps.Create(t.Context(), e.a.user.ID, in)
			must(t, err)
			_, err = e.apps.Update(ctx, a.ID, resource.ApplicationPatch{Name: resource.Some("Renamed"),
				RedirectURIs: resource.Some([]string{cb2})})
			must(t, err)
			if !trusted(t, a.ID) {
				t.Fatal("renaming and removing a redirect URI ended the trust")
			}
			_, err = e.apps.Update(ctx, a.ID, resource.ApplicationPatch{RedirectURIs: resource.Some([]string{cb2, evil})})
			must(t, err)
			if trusted(t, a.ID) {
				t.Fatal("a redirect URI the user added is trusted")
			}
			_, err = e.apps.Update(ctx, a.ID, resource.ApplicationPatch{RedirectURIs: resource.Some([]string{cb2})})
			must(t, err)
			if trusted(t, a.ID) {
				t.Fatal("the trust came back without an operator")
			}
		})
	})
}
